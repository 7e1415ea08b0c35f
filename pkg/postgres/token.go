package postgres

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/chirper/chirper/pkg/chirper"
)

var _ chirper.RefreshTokenStore = (*RefreshTokenStore)(nil)

// purgeLockID is the advisory lock that lets one process at a time purge
// refresh tokens ("purge" in ASCII).
const purgeLockID = 0x7075726765

// RefreshTokenStore keeps refresh-token families in PostgreSQL. A family's
// revocation is on its refresh_token_families row, which rotation locks
// with the token (SELECT … FOR UPDATE): a revocation's UPDATE of that row
// waits for a rotation in flight and then revokes what it issued, and a
// rotation after a revocation sees it.
type RefreshTokenStore struct {
	db *DB
}

// NewRefreshTokenStore returns a RefreshTokenStore on db.
func NewRefreshTokenStore(db *DB) *RefreshTokenStore { return &RefreshTokenStore{db: db} }

// CreateRefreshToken stores a new family and its first token in one
// statement.
func (s *RefreshTokenStore) CreateRefreshToken(ctx context.Context, t *chirper.RefreshToken) error {
	err := s.db.QueryRowContext(ctx, `
		WITH f AS (
			INSERT INTO refresh_token_families (id, user_id, expires_at) VALUES ($2, $3, $4)
		)
		INSERT INTO refresh_tokens (hash, family_id, expires_at)
		VALUES ($1, $2, $4)
		RETURNING created_at`,
		t.Hash, t.FamilyID, t.UserID, t.ExpiresAt,
	).Scan(&t.CreatedAt)
	if chirper.ErrorCode(translate(err)) == chirper.ENOTFOUND {
		return chirper.Errorf(chirper.ENOTFOUND, "user not found")
	}
	t.CreatedAt = t.CreatedAt.UTC()
	return translate(err)
}

// RotateRefreshToken spends the old token and stores next in its family.
// The token and its family are locked, so that two uses of one token cannot
// both succeed and a revocation cannot slip between the check and the new
// token.
func (s *RefreshTokenStore) RotateRefreshToken(ctx context.Context, oldHash []byte, next *chirper.RefreshToken) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return translate(err)
	}
	defer tx.Rollback()

	var (
		expiresAt          time.Time
		spentAt, revokedAt sql.NullTime
	)
	err = tx.QueryRowContext(ctx, `
		SELECT f.id, f.user_id, t.expires_at, t.spent_at, f.revoked_at
		FROM refresh_tokens t JOIN refresh_token_families f ON f.id = t.family_id
		WHERE t.hash = $1
		FOR UPDATE`, oldHash,
	).Scan(&next.FamilyID, &next.UserID, &expiresAt, &spentAt, &revokedAt)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return chirper.Errorf(chirper.EUNAUTHORIZED, "refresh token is not valid")
	case err != nil:
		return translate(err)
	case revokedAt.Valid:
		return chirper.Errorf(chirper.EUNAUTHORIZED, "refresh token has been revoked")
	case spentAt.Valid:
		if _, err := tx.ExecContext(ctx,
			`UPDATE refresh_token_families SET revoked_at = now() WHERE id = $1`, next.FamilyID); err != nil {
			return translate(err)
		}
		if err := tx.Commit(); err != nil {
			return translate(err)
		}
		return chirper.Errorf(chirper.EUNAUTHORIZED, chirper.ErrRefreshTokenReused)
	case !time.Now().Before(expiresAt):
		return chirper.Errorf(chirper.EUNAUTHORIZED, "refresh token has expired")
	}

	if err := tx.QueryRowContext(ctx, `
		WITH spent AS (
			UPDATE refresh_tokens SET spent_at = now() WHERE hash = $1
		), family AS (
			UPDATE refresh_token_families SET expires_at = greatest(expires_at, $4) WHERE id = $3
		)
		INSERT INTO refresh_tokens (hash, family_id, expires_at)
		VALUES ($2, $3, $4)
		RETURNING created_at`,
		oldHash, next.Hash, next.FamilyID, next.ExpiresAt,
	).Scan(&next.CreatedAt); err != nil {
		return translate(err)
	}
	next.CreatedAt = next.CreatedAt.UTC()
	return translate(tx.Commit())
}

// RevokeRefreshTokenFamily revokes the family of the token with hash.
func (s *RefreshTokenStore) RevokeRefreshTokenFamily(ctx context.Context, hash []byte) error {
	_, err := s.db.ExecContext(ctx, `
		UPDATE refresh_token_families SET revoked_at = now()
		WHERE revoked_at IS NULL
		  AND id = (SELECT family_id FROM refresh_tokens WHERE hash = $1)`, hash)
	return translate(err)
}

// RevokeUserRefreshTokens revokes every family of the user.
func (s *RefreshTokenStore) RevokeUserRefreshTokens(ctx context.Context, userID int64) error {
	_, err := s.db.ExecContext(ctx,
		`UPDATE refresh_token_families SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL`, userID)
	return translate(err)
}

// PurgeRefreshTokens deletes a batch of expired tokens and of dead
// families, under a transaction-scoped advisory lock that one process at a
// time holds.
func (s *RefreshTokenStore) PurgeRefreshTokens(ctx context.Context, revokedBefore time.Time, limit int) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, translate(err)
	}
	defer tx.Rollback()
	var locked bool
	if err := tx.QueryRowContext(ctx, `SELECT pg_try_advisory_xact_lock($1)`, purgeLockID).Scan(&locked); err != nil || !locked {
		return 0, translate(err)
	}
	var n int64
	if err := tx.QueryRowContext(ctx, `
		WITH tokens AS (
			DELETE FROM refresh_tokens WHERE hash IN (
				SELECT hash FROM refresh_tokens WHERE expires_at < now() LIMIT $1)
			RETURNING 1
		), families AS (
			DELETE FROM refresh_token_families WHERE id IN (
				(SELECT id FROM refresh_token_families WHERE expires_at < now() LIMIT $1)
				UNION
				(SELECT id FROM refresh_token_families WHERE revoked_at < $2 LIMIT $1))
			RETURNING 1
		)
		SELECT (SELECT count(*) FROM tokens) + (SELECT count(*) FROM families)`,
		limit, revokedBefore,
	).Scan(&n); err != nil {
		return 0, translate(err)
	}
	return n, translate(tx.Commit())
}
