package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
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

// marshalLine encodes v as a line of JSON, in a slice of its own length:
// an answer kept (in a cache, or for an idempotent retry) holds no spare
// room, as appending the newline to json.Marshal's result did, doubling
// the slice whenever the JSON filled its size class exactly.
func marshalLine(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	line := make([]byte, len(b)+1)
	copy(line, b)
	line[len(b)] = '\n'
	return line, nil
}

// writeEncoded answers with a JSON body encoded before.
func writeEncoded(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
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
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err == nil {
		err = checkJSONText(body)
	}
	if err == nil {
		err = decodeOne(body, &v)
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

// decodeOne decodes the one JSON value of body into v, refusing unknown
// fields.
func decodeOne(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.Decode(&struct{}{}) != io.EOF {
		return errors.New("body must contain a single JSON value")
	}
	return nil
}

var errLoneSurrogate = errors.New("the body has a \\u escape of a lone UTF-16 surrogate")

// checkJSONText refuses what encoding/json would quietly turn into U+FFFD:
// invalid UTF-8, and a \u escape of a lone UTF-16 surrogate.
func checkJSONText(b []byte) error {
	if !utf8.Valid(b) {
		return errors.New("the body is not valid UTF-8")
	}
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 == len(b) {
			continue
		}
		if b[i+1] != 'u' {
			i++ // an escape of one character, such as \\ or \"
			continue
		}
		r, ok := hex4(b[i+2:])
		if !ok {
			continue // a syntax error the decoder reports
		}
		i += 5
		switch {
		case r >= 0xdc00 && r <= 0xdfff:
			return errLoneSurrogate
		case r >= 0xd800 && r <= 0xdbff:
			if len(b) < i+3 || b[i+1] != '\\' || b[i+2] != 'u' {
				return errLoneSurrogate
			}
			if lo, ok := hex4(b[i+3:]); !ok || lo < 0xdc00 || lo > 0xdfff {
				return errLoneSurrogate
			}
			i += 6
		}
	}
	return nil
}

// hex4 reads the four hex digits of a \u escape.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
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
