package postgres

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/chirper/chirper/pkg/chirper"
)

var _ chirper.RefreshTokenStore = (*RefreshTokenStore)(nil)

// RefreshTokenStore keeps refresh-token families in PostgreSQL.
type RefreshTokenStore struct {
	db *DB
}

// NewRefreshTokenStore returns a RefreshTokenStore on db.
func NewRefreshTokenStore(db *DB) *RefreshTokenStore { return &RefreshTokenStore{db: db} }

// CreateRefreshToken stores the first token of a family.
func (s *RefreshTokenStore) CreateRefreshToken(ctx context.Context, t *chirper.RefreshToken) error {
	err := s.db.QueryRowContext(ctx, `
		INSERT INTO refresh_tokens (hash, family_id, user_id, expires_at)
		VALUES ($1, $2, $3, $4)
		RETURNING created_at`,
		t.Hash, t.FamilyID, t.UserID, t.ExpiresAt,
	).Scan(&t.CreatedAt)
	if chirper.ErrorCode(translate(err)) == chirper.ENOTFOUND {
		return chirper.Errorf(chirper.ENOTFOUND, "user not found")
	}
	t.CreatedAt = t.CreatedAt.UTC()
	return translate(err)
}

// RotateRefreshToken spends the old token and stores next in its family. The
// old row is locked, so that two concurrent uses of one token cannot both
// succeed.
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
		SELECT family_id, user_id, expires_at, spent_at, revoked_at
		FROM refresh_tokens WHERE hash = $1 FOR UPDATE`, oldHash,
	).Scan(&next.FamilyID, &next.UserID, &expiresAt, &spentAt, &revokedAt)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return chirper.Errorf(chirper.EUNAUTHORIZED, "refresh token is not valid")
	case err != nil:
		return translate(err)
	case revokedAt.Valid:
		return chirper.Errorf(chirper.EUNAUTHORIZED, "refresh token has been revoked")
	case spentAt.Valid:
		if _, err := tx.ExecContext(ctx, `
			UPDATE refresh_tokens SET revoked_at = now()
			WHERE family_id = $1 AND revoked_at IS NULL`, next.FamilyID); err != nil {
			return translate(err)
		}
		if err := tx.Commit(); err != nil {
			return translate(err)
		}
		return chirper.Errorf(chirper.EUNAUTHORIZED, chirper.ErrRefreshTokenReused)
	case !time.Now().Before(expiresAt):
		return chirper.Errorf(chirper.EUNAUTHORIZED, "refresh token has expired")
	}

	if _, err := tx.ExecContext(ctx,
		`UPDATE refresh_tokens SET spent_at = now() WHERE hash = $1`, oldHash); err != nil {
		return translate(err)
	}
	if err := tx.QueryRowContext(ctx, `
		INSERT INTO refresh_tokens (hash, family_id, user_id, expires_at)
		VALUES ($1, $2, $3, $4)
		RETURNING created_at`,
		next.Hash, next.FamilyID, next.UserID, next.ExpiresAt,
	).Scan(&next.CreatedAt); err != nil {
		return translate(err)
	}
	next.CreatedAt = next.CreatedAt.UTC()
	return translate(tx.Commit())
}

// RevokeRefreshTokenFamily revokes the family of the token with hash.
func (s *RefreshTokenStore) RevokeRefreshTokenFamily(ctx context.Context, hash []byte) error {
	_, err := s.db.ExecContext(ctx, `
		UPDATE refresh_tokens SET revoked_at = now()
		WHERE revoked_at IS NULL
		  AND family_id = (SELECT family_id FROM refresh_tokens WHERE hash = $1)`, hash)
	return translate(err)
}

// RevokeUserRefreshTokens revokes every token of the user.
func (s *RefreshTokenStore) RevokeUserRefreshTokens(ctx context.Context, userID int64) error {
	_, err := s.db.ExecContext(ctx,
		`UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL`, userID)
	return translate(err)
}
