package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/chirper/chirper/pkg/chirper"
)

var _ chirper.IdempotencyStore = (*IdempotencyStore)(nil)

// IdempotencyStore keeps idempotency keys in SQLite.
type IdempotencyStore struct {
	db *DB
}

// NewIdempotencyStore returns an IdempotencyStore on db.
func NewIdempotencyStore(db *DB) *IdempotencyStore { return &IdempotencyStore{db: db} }

// ClaimIdempotencyKey claims the key, or tells why not, in one write
// transaction.
func (s *IdempotencyStore) ClaimIdempotencyKey(ctx context.Context, scope, key string, fingerprint []byte) (*chirper.StoredResponse, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, translate(err)
	}
	defer tx.Rollback()
	var (
		stored               []byte
		status               sql.NullInt64
		resp                 chirper.StoredResponse
		createdAt, claimedAt int64
		t                    = now()
	)
	err = tx.QueryRowContext(ctx, `
		SELECT fingerprint, status, location, body, created_at, claimed_at
		FROM idempotency_keys WHERE scope = ? AND key = ?`, scope, key,
	).Scan(&stored, &status, &resp.Location, &resp.Body, &createdAt, &claimedAt)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return nil, translate(err)
	default:
		expired := createdAt < micros(t.Add(-chirper.IdempotencyTTL))
		stalled := claimedAt < micros(t.Add(-chirper.IdempotencyLease))
		same := bytes.Equal(stored, fingerprint)
		switch {
		case expired || (!status.Valid && stalled && same):
		case !same:
			return nil, chirper.Invalid("Idempotency-Key", "was used with another request body")
		case !status.Valid:
			return nil, chirper.Errorf(chirper.ECONFLICT, "a request with this Idempotency-Key is still running")
		default:
			resp.Status = int(status.Int64)
			return &resp, nil
		}
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT OR REPLACE INTO idempotency_keys (scope, key, fingerprint, created_at, claimed_at)
		VALUES (?, ?, ?, ?, ?)`, scope, key, fingerprint, micros(t), micros(t)); err != nil {
		return nil, translate(err)
	}
	return nil, translate(tx.Commit())
}

// FinishIdempotencyKey keeps the answer.
func (s *IdempotencyStore) FinishIdempotencyKey(ctx context.Context, scope, key string, resp chirper.StoredResponse) error {
	_, err := s.db.ExecContext(ctx, `
		UPDATE idempotency_keys SET status = ?, location = ?, body = ?
		WHERE scope = ? AND key = ?`, resp.Status, resp.Location, resp.Body, scope, key)
	return translate(err)
}

// ReleaseIdempotencyKey forgets an unfinished claim.
func (s *IdempotencyStore) ReleaseIdempotencyKey(ctx context.Context, scope, key string) error {
	_, err := s.db.ExecContext(ctx,
		`DELETE FROM idempotency_keys WHERE scope = ? AND key = ? AND status IS NULL`, scope, key)
	return translate(err)
}

// PurgeIdempotencyKeys deletes a batch of old keys.
func (s *IdempotencyStore) PurgeIdempotencyKeys(ctx context.Context, before time.Time, limit int) (int64, error) {
	res, err := s.db.ExecContext(ctx, `
		DELETE FROM idempotency_keys WHERE (scope, key) IN (
			SELECT scope, key FROM idempotency_keys WHERE created_at < ? LIMIT ?)`, micros(before), limit)
	if err != nil {
		return 0, translate(err)
	}
	n, err := res.RowsAffected()
	return n, translate(err)
}
