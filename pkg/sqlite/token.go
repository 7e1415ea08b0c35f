package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/chirper/chirper/pkg/chirper"
)

var _ chirper.RefreshTokenStore = (*RefreshTokenStore)(nil)

// RefreshTokenStore keeps refresh-token families in SQLite.
type RefreshTokenStore struct {
	db *DB
}

// NewRefreshTokenStore returns a RefreshTokenStore on db.
func NewRefreshTokenStore(db *DB) *RefreshTokenStore { return &RefreshTokenStore{db: db} }

// CreateRefreshToken stores the first token of a family.
func (s *RefreshTokenStore) CreateRefreshToken(ctx context.Context, t *chirper.RefreshToken) error {
	createdAt := now()
	_, err := s.db.ExecContext(ctx, `
		INSERT INTO refresh_tokens (hash, family_id, user_id, expires_at, created_at)
		VALUES (?, ?, ?, ?, ?)`,
		t.Hash, t.FamilyID, t.UserID, micros(t.ExpiresAt), micros(createdAt))
	if chirper.ErrorCode(translate(err)) == chirper.ENOTFOUND {
		return chirper.Errorf(chirper.ENOTFOUND, "user not found")
	}
	if err != nil {
		return translate(err)
	}
	t.CreatedAt = createdAt
	return nil
}

// RotateRefreshToken spends the old token and stores next in its family, in
// one write transaction (BEGIN IMMEDIATE), so that two concurrent uses of
// one token cannot both succeed.
func (s *RefreshTokenStore) RotateRefreshToken(ctx context.Context, oldHash []byte, next *chirper.RefreshToken) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return translate(err)
	}
	defer tx.Rollback()

	var (
		expiresAt          int64
		spentAt, revokedAt sql.NullInt64
	)
	t := now()
	err = tx.QueryRowContext(ctx, `
		SELECT family_id, user_id, expires_at, spent_at, revoked_at
		FROM refresh_tokens WHERE hash = ?`, oldHash,
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
			UPDATE refresh_tokens SET revoked_at = ?
			WHERE family_id = ? AND revoked_at IS NULL`, micros(t), next.FamilyID); err != nil {
			return translate(err)
		}
		if err := tx.Commit(); err != nil {
			return translate(err)
		}
		return chirper.Errorf(chirper.EUNAUTHORIZED, chirper.ErrRefreshTokenReused)
	case micros(t) >= expiresAt:
		return chirper.Errorf(chirper.EUNAUTHORIZED, "refresh token has expired")
	}

	if _, err := tx.ExecContext(ctx,
		`UPDATE refresh_tokens SET spent_at = ? WHERE hash = ?`, micros(t), oldHash); err != nil {
		return translate(err)
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO refresh_tokens (hash, family_id, user_id, expires_at, created_at)
		VALUES (?, ?, ?, ?, ?)`,
		next.Hash, next.FamilyID, next.UserID, micros(next.ExpiresAt), micros(t)); err != nil {
		return translate(err)
	}
	if err := tx.Commit(); err != nil {
		return translate(err)
	}
	next.CreatedAt = t
	return nil
}

// RevokeRefreshTokenFamily revokes the family of the token with hash.
func (s *RefreshTokenStore) RevokeRefreshTokenFamily(ctx context.Context, hash []byte) error {
	_, err := s.db.ExecContext(ctx, `
		UPDATE refresh_tokens SET revoked_at = ?
		WHERE revoked_at IS NULL
		  AND family_id = (SELECT family_id FROM refresh_tokens WHERE hash = ?)`, micros(now()), hash)
	return translate(err)
}

// RevokeUserRefreshTokens revokes every token of the user.
func (s *RefreshTokenStore) RevokeUserRefreshTokens(ctx context.Context, userID int64) error {
	_, err := s.db.ExecContext(ctx,
		`UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`, micros(now()), userID)
	return translate(err)
}
