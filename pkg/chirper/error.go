package chirper

import (
	"context"
	"errors"
	"fmt"
)

// Error codes the application reports. Adapters translate them into their own
// vocabulary (the HTTP layer into status codes) without matching strings.
const (
	EINVALID      = "invalid"      // the input breaks a rule
	ENOTFOUND     = "not_found"    // the thing does not exist
	ECONFLICT     = "conflict"     // the thing exists already
	EUNAUTHORIZED = "unauthorized" // the caller's credentials are missing or bad
	EFORBIDDEN    = "forbidden"    // the caller may not do this
	EUNAVAILABLE  = "unavailable"  // a dependency (the database) is down
	EINTERNAL     = "internal"     // a bug or an unexpected failure
)

// FieldError is one broken rule of one input field.
type FieldError struct {
	Field   string
	Message string
}

// Error is a domain error: a code, a message safe to show to the caller and,
// for validation, every broken field rule at once.
type Error struct {
	Code    string
	Message string
	Fields  []FieldError
	Cause   error // for the logs only; never shown to a caller
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Cause)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the cause, so that errors.Is sees through the domain error.
func (e *Error) Unwrap() error { return e.Cause }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the *Error in err's chain, "" for nil, and
// EINTERNAL for any other error.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	default:
		return EINTERNAL
	}
}

// ErrorMessage returns the message of the *Error in err's chain, and a generic
// message for any other error so that internals never reach a caller.
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	default:
		return "internal error"
	}
}

// Invalid returns the EINVALID error of one broken field rule.
func Invalid(field, message string) *Error {
	return &Error{Code: EINVALID, Message: "the input is not valid", Fields: []FieldError{{Field: field, Message: message}}}
}

// validation collects field errors so that every broken rule is reported at
// once.
type validation struct {
	fields []FieldError
}

func (v *validation) check(ok bool, field, message string) {
	if !ok {
		v.fields = append(v.fields, FieldError{Field: field, Message: message})
	}
}

func (v *validation) err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Message: "the input is not valid", Fields: v.fields}
}

// SchemaVersionError explains a database schema version that does not match
// the version the code needs, and what to do about it; nil when they match.
func SchemaVersionError(current, target int64) error {
	switch {
	case current < target:
		return fmt.Errorf("database schema is at version %d but this binary needs %d: run the migration first (standalone migrate)", current, target)
	case current > target:
		return fmt.Errorf("database schema is at version %d, newer than this binary knows (%d): deploy a newer binary", current, target)
	}
	return nil
}

// OutOfTime is err, or, when ctx has run out, EUNAVAILABLE: the database
// did not answer in time, which is a 503 and not an internal error. Both a
// request's own deadline and a batch's (which serves many requests) come
// through it.
func OutOfTime(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		return &Error{Code: EUNAVAILABLE, Message: "the database did not answer in time", Cause: err}
	}
	return err
}
