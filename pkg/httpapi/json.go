package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// MaxBodyBytes is the largest request body any endpoint reads.
const MaxBodyBytes = 64 << 10

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"title":"Internal Server Error","status":500}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType+"; charset=utf-8")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// encode answers with v as application/json.
func encode(w http.ResponseWriter, status int, v any) {
	writeJSON(w, status, "application/json", v)
}

// decode reads the JSON body into a T: JSON content type, at most
// MaxBodyBytes, no unknown fields, exactly one value. On failure it answers
// with the problem (400, 413 or 415) and returns false.
func decode[T any](w http.ResponseWriter, r *http.Request) (T, bool) {
	var v T
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/json" {
		writeProblem(w, r, http.StatusUnsupportedMediaType, "the body must be JSON (Content-Type: application/json)", nil)
		return v, false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	dec.DisallowUnknownFields()
	err = dec.Decode(&v)
	if err == nil {
		if dec.Decode(&struct{}{}) != io.EOF {
			err = errors.New("body must contain a single JSON value")
		}
	}
	if err == nil {
		return v, true
	}

	var (
		syntaxErr   *json.SyntaxError
		typeErr     *json.UnmarshalTypeError
		maxBytesErr *http.MaxBytesError
		detail      string
	)
	switch {
	case errors.As(err, &maxBytesErr):
		writeProblem(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body must not be larger than %d bytes", MaxBodyBytes), nil)
		return v, false
	case errors.Is(err, io.EOF):
		detail = "the body must not be empty"
	case errors.As(err, &syntaxErr):
		detail = fmt.Sprintf("the body is not valid JSON (at byte %d)", syntaxErr.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		detail = "the body is not valid JSON (it ends too soon)"
	case errors.As(err, &typeErr):
		if typeErr.Field != "" {
			detail = fmt.Sprintf("field %q must be a JSON %s", typeErr.Field, jsonKind(typeErr.Type.Kind().String()))
		} else {
			detail = "the body must be a JSON object"
		}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no typed error for this one.
		detail = "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	default:
		detail = err.Error()
	}
	badRequest(w, r, detail)
	return v, false
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "slice", "array":
		return "array"
	case "struct", "map", "ptr":
		return "object"
	case "bool":
		return "boolean"
	default:
		return "number"
	}
}
