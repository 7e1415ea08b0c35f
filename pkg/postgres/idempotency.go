package postgres

import (
	"bytes"
	"context"
	"database/sql"
	"time"

	"github.com/chirper/chirper/pkg/chirper"
)

var _ chirper.IdempotencyStore = (*IdempotencyStore)(nil)

// IdempotencyStore keeps idempotency keys in PostgreSQL.
type IdempotencyStore struct {
	db *DB
}

// NewIdempotencyStore returns an IdempotencyStore on db.
func NewIdempotencyStore(db *DB) *IdempotencyStore { return &IdempotencyStore{db: db} }

// ClaimIdempotencyKey claims the key, or tells why not. A new key is one
// INSERT; a used one is read under a row lock, so that two requests with
// one key cannot both run.
func (s *IdempotencyStore) ClaimIdempotencyKey(ctx context.Context, scope, key string, fingerprint []byte) (*chirper.StoredResponse, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, translate(err)
	}
	defer tx.Rollback()
	var inserted bool
	err = tx.QueryRowContext(ctx, `
		INSERT INTO idempotency_keys (scope, key, fingerprint) VALUES ($1, $2, $3)
		ON CONFLICT (scope, key) DO NOTHING
		RETURNING true`, scope, key, fingerprint).Scan(&inserted)
	if err == nil {
		return nil, translate(tx.Commit())
	}
	if err != sql.ErrNoRows {
		return nil, translate(err)
	}
	var (
		stored           []byte
		status           sql.NullInt64
		resp             chirper.StoredResponse
		expired, stalled bool
	)
	err = tx.QueryRowContext(ctx, `
		SELECT fingerprint, status, location, body,
		       created_at < now() - $3::bigint * interval '1 microsecond',
		       claimed_at < now() - $4::bigint * interval '1 microsecond'
		FROM idempotency_keys WHERE scope = $1 AND key = $2
		FOR UPDATE`, scope, key, chirper.IdempotencyTTL.Microseconds(), chirper.IdempotencyLease.Microseconds(),
	).Scan(&stored, &status, &resp.Location, &resp.Body, &expired, &stalled)
	if err != nil {
		return nil, translate(err)
	}
	same := bytes.Equal(stored, fingerprint)
	switch {
	case expired || (!status.Valid && stalled && same):
		if _, err := tx.ExecContext(ctx, `
			UPDATE idempotency_keys
			SET fingerprint = $3, status = NULL, location = '', body = NULL, created_at = now(), claimed_at = now()
			WHERE scope = $1 AND key = $2`, scope, key, fingerprint); err != nil {
			return nil, translate(err)
		}
		return nil, translate(tx.Commit())
	case !same:
		return nil, chirper.Invalid("Idempotency-Key", "was used with another request body")
	case !status.Valid:
		return nil, chirper.Errorf(chirper.ECONFLICT, "a request with this Idempotency-Key is still running")
	}
	resp.Status = int(status.Int64)
	return &resp, nil
}

// FinishIdempotencyKey keeps the answer.
func (s *IdempotencyStore) FinishIdempotencyKey(ctx context.Context, scope, key string, resp chirper.StoredResponse) error {
	_, err := s.db.ExecContext(ctx, `
		UPDATE idempotency_keys SET status = $3::int, location = $4, body = $5
		WHERE scope = $1 AND key = $2`, scope, key, resp.Status, resp.Location, resp.Body)
	return translate(err)
}

// ReleaseIdempotencyKey forgets an unfinished claim.
func (s *IdempotencyStore) ReleaseIdempotencyKey(ctx context.Context, scope, key string) error {
	_, err := s.db.ExecContext(ctx,
		`DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND status IS NULL`, scope, key)
	return translate(err)
}

// PurgeIdempotencyKeys deletes a batch of old keys.
func (s *IdempotencyStore) PurgeIdempotencyKeys(ctx context.Context, before time.Time, limit int) (int64, error) {
	res, err := s.db.ExecContext(ctx, `
		DELETE FROM idempotency_keys WHERE (scope, key) IN (
			SELECT scope, key FROM idempotency_keys WHERE created_at < $1 LIMIT $2::int)`, before, limit)
	if err != nil {
		return 0, translate(err)
	}
	n, err := res.RowsAffected()
	return n, translate(err)
}
