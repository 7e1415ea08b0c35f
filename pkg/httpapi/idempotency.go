package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/chirper/chirper/pkg/chirper"
)

// created answers 201 with the new resource's location and JSON.
type created struct {
	location string
	answer   any
}

// createOnce runs create, the work of a POST that makes a resource, and
// answers 201. With an Idempotency-Key header (the IETF httpapi draft) and
// a store, the key is claimed first in scope (the operation and its
// caller): a key whose request finished is answered as it was then, with
// Idempotency-Replayed: true, and creates nothing; the same key with
// another request (fingerprint) is a 422; a key whose request still runs is
// a 409. A failed request gives its key up, so that the client may retry.
func createOnce(w http.ResponseWriter, r *http.Request, log *slog.Logger, keys chirper.IdempotencyStore, scope string, fingerprint any, create func() (*created, error)) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" || keys == nil {
		c, err := create()
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		writeCreated(w, c.location, c.answer)
		return
	}
	if len(key) > chirper.IdempotencyKeyMaxLen || !isVisibleASCII(key) {
		badRequest(w, r, "the Idempotency-Key header must be 1 to 255 visible ASCII characters")
		return
	}
	fp, err := json.Marshal(fingerprint)
	if err != nil {
		writeError(w, r, log, err)
		return
	}
	sum := sha256.Sum256(fp)
	replay, err := keys.ClaimIdempotencyKey(r.Context(), scope, key, sum[:])
	switch {
	case err != nil:
		writeError(w, r, log, err)
		return
	case replay != nil:
		w.Header().Set("Idempotency-Replayed", "true")
		writeStored(w, *replay)
		return
	}
	// The claim must be settled even when the client has gone.
	settle := context.WithoutCancel(r.Context())
	c, err := create()
	if err != nil {
		if err := keys.ReleaseIdempotencyKey(settle, scope, key); err != nil {
			log.WarnContext(r.Context(), "releasing an idempotency key", "request_id", requestID(r.Context()), "err", err)
		}
		writeError(w, r, log, err)
		return
	}
	body, err := marshalLine(c.answer)
	if err != nil {
		writeError(w, r, log, err)
		return
	}
	resp := chirper.StoredResponse{Status: http.StatusCreated, Location: c.location, Body: body}
	if err := keys.FinishIdempotencyKey(settle, scope, key, resp); err != nil {
		// Created, but a retry would not know: the key stays claimed until
		// its lease ends, and the client gets its answer now.
		log.WarnContext(r.Context(), "keeping an idempotent answer", "request_id", requestID(r.Context()), "err", err)
	}
	writeStored(w, resp)
}

func writeCreated(w http.ResponseWriter, location string, answer any) {
	w.Header().Set("Location", location)
	encode(w, http.StatusCreated, answer)
}

func writeStored(w http.ResponseWriter, resp chirper.StoredResponse) {
	if resp.Location != "" {
		w.Header().Set("Location", resp.Location)
	}
	writeEncoded(w, resp.Status, resp.Body)
}

func isVisibleASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return s != ""
}
