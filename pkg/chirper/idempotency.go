package chirper

import (
	"context"
	"time"
)

// Limits of idempotency keys (the IETF httpapi Idempotency-Key draft).
const (
	IdempotencyKeyMaxLen = 255
	// IdempotencyTTL is how long a key's first answer is kept.
	IdempotencyTTL = 24 * time.Hour
	// IdempotencyLease is how long a request that claimed a key may run
	// before another request with the key may take it over (the first
	// process died with it).
	IdempotencyLease = time.Minute
)

// StoredResponse is the answer kept for an idempotency key.
type StoredResponse struct {
	Status   int
	Location string
	Body     []byte
}

// IdempotencyStore keeps the answers of requests sent with an idempotency
// key, per scope (an operation and its caller), in the database, so that
// they hold across instances and restarts.
type IdempotencyStore interface {
	// ClaimIdempotencyKey claims key in scope for a request whose body has
	// fingerprint, and returns nil when the request should run. When the
	// key's request has finished, it returns its answer to replay. EINVALID
	// when the key was used with another body, ECONFLICT while the key's
	// first request is still running. A key older than IdempotencyTTL, or
	// claimed longer ago than IdempotencyLease and never finished, is
	// claimed anew.
	ClaimIdempotencyKey(ctx context.Context, scope, key string, fingerprint []byte) (*StoredResponse, error)

	// FinishIdempotencyKey keeps the answer of the claimed key.
	FinishIdempotencyKey(ctx context.Context, scope, key string, resp StoredResponse) error

	// ReleaseIdempotencyKey gives a claimed key up, when its request failed,
	// so that the client may try again with it.
	ReleaseIdempotencyKey(ctx context.Context, scope, key string) error

	// PurgeIdempotencyKeys deletes at most limit keys older than before and
	// returns how many went.
	PurgeIdempotencyKeys(ctx context.Context, before time.Time, limit int) (int64, error)
}
