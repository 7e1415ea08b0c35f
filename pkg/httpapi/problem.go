package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/chirper/chirper/pkg/chirper"
)

// codeStatus maps domain error codes to HTTP statuses: the one table.
var codeStatus = map[string]int{
	chirper.EINVALID:      http.StatusUnprocessableEntity,
	chirper.ENOTFOUND:     http.StatusNotFound,
	chirper.ECONFLICT:     http.StatusConflict,
	chirper.EUNAUTHORIZED: http.StatusUnauthorized,
	chirper.EFORBIDDEN:    http.StatusForbidden,
	chirper.EUNAVAILABLE:  http.StatusServiceUnavailable,
	chirper.EINTERNAL:     http.StatusInternalServerError,
}

// StatusClientClosedRequest is the status logged for a request whose client
// went away before its answer (nginx's 499); it is never sent.
const StatusClientClosedRequest = 499

// problem is an RFC 9457 problem details document.
type problem struct {
	Type      string         `json:"type"`
	Title     string         `json:"title"`
	Status    int            `json:"status"`
	Detail    string         `json:"detail,omitempty"`
	Instance  string         `json:"instance"`
	RequestID string         `json:"request_id"`
	Errors    []problemField `json:"errors,omitempty"`
}

type problemField struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// writeProblem answers with a problem details document.
func writeProblem(w http.ResponseWriter, r *http.Request, status int, detail string, fields []chirper.FieldError) {
	p := problem{
		Type:      "about:blank",
		Title:     http.StatusText(status),
		Status:    status,
		Detail:    detail,
		Instance:  r.URL.Path,
		RequestID: requestID(r.Context()),
	}
	if p.RequestID == "" { // outside the API's middleware, as in the gateway
		p.RequestID = r.Header.Get("X-Request-Id")
	}
	for _, f := range fields {
		p.Errors = append(p.Errors, problemField{Field: f.Field, Message: f.Message})
	}
	switch status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="chirper"`)
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "5")
	}
	writeJSON(w, status, "application/problem+json", p)
}

// writeError answers with the problem that err stands for. Internal errors
// are logged with the request id and answered with a generic message; their
// text never reaches the client.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	if errors.Is(r.Context().Err(), context.Canceled) || errors.Is(err, context.Canceled) && info(r.Context()).clientLeft() {
		// The client went away: no one reads the answer, and the failure
		// is not ours. 499 says so in the log and the metrics.
		log.InfoContext(r.Context(), "client went away", "request_id", requestID(r.Context()), "err", err)
		w.WriteHeader(StatusClientClosedRequest)
		return
	}
	err = chirper.OutOfTime(r.Context(), err) // the request's own deadline passed
	code := chirper.ErrorCode(err)
	status, ok := codeStatus[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	switch status {
	case http.StatusInternalServerError:
		log.ErrorContext(r.Context(), "internal error", "request_id", requestID(r.Context()), "err", err)
		writeProblem(w, r, status, "an internal error occurred; quote the request id when reporting it", nil)
		return
	case http.StatusServiceUnavailable:
		log.WarnContext(r.Context(), "dependency unavailable", "request_id", requestID(r.Context()), "err", err)
	}
	var e *chirper.Error
	var fields []chirper.FieldError
	if errors.As(err, &e) {
		fields = e.Fields
	}
	writeProblem(w, r, status, chirper.ErrorMessage(err), fields)
}

// badRequest answers 400 with a detail about a malformed request.
func badRequest(w http.ResponseWriter, r *http.Request, detail string, fields ...chirper.FieldError) {
	writeProblem(w, r, http.StatusBadRequest, detail, fields)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// WriteProblem answers with a problem details document, for handlers outside
// this package (the gateway).
func WriteProblem(w http.ResponseWriter, r *http.Request, status int, detail string) {
	writeProblem(w, r, status, detail, nil)
}
