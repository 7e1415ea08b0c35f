package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/chirper/chirper/pkg/chirper"
)

var _ chirper.RefreshTokenStore = (*RefreshTokenStore)(nil)

// RefreshTokenStore keeps refresh-token families in SQLite. Every write runs
// in a write transaction (BEGIN IMMEDIATE), so rotations and revocations
// run one after another.
type RefreshTokenStore struct {
	db *DB
}

// NewRefreshTokenStore returns a RefreshTokenStore on db.
func NewRefreshTokenStore(db *DB) *RefreshTokenStore { return &RefreshTokenStore{db: db} }

// CreateRefreshToken stores a new family and its first token.
func (s *RefreshTokenStore) CreateRefreshToken(ctx context.Context, t *chirper.RefreshToken) error {
	createdAt := now()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return translate(err)
	}
	defer tx.Rollback()
	_, err = tx.ExecContext(ctx, `
		INSERT INTO refresh_token_families (id, user_id, expires_at, created_at) VALUES (?, ?, ?, ?)`,
		t.FamilyID, t.UserID, micros(t.ExpiresAt), micros(createdAt))
	if chirper.ErrorCode(translate(err)) == chirper.ENOTFOUND {
		return chirper.Errorf(chirper.ENOTFOUND, "user not found")
	}
	if err == nil {
		_, err = tx.ExecContext(ctx, `
			INSERT INTO refresh_tokens (hash, family_id, expires_at, created_at) VALUES (?, ?, ?, ?)`,
			t.Hash, t.FamilyID, micros(t.ExpiresAt), micros(createdAt))
	}
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		return translate(err)
	}
	t.CreatedAt = createdAt
	return nil
}

// RotateRefreshToken spends the old token and stores next in its family, in
// one write transaction, so that two concurrent uses of one token cannot
// both succeed.
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
		SELECT f.id, f.user_id, t.expires_at, t.spent_at, f.revoked_at
		FROM refresh_tokens t JOIN refresh_token_families f ON f.id = t.family_id
		WHERE t.hash = ?`, oldHash,
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
			`UPDATE refresh_token_families SET revoked_at = ? WHERE id = ?`, micros(t), next.FamilyID); err != nil {
			return translate(err)
		}
		if err := tx.Commit(); err != nil {
			return translate(err)
		}
		return chirper.Errorf(chirper.EUNAUTHORIZED, chirper.ErrRefreshTokenReused)
	case micros(t) >= expiresAt:
		return chirper.Errorf(chirper.EUNAUTHORIZED, "refresh token has expired")
	}

	for _, stmt := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE refresh_tokens SET spent_at = ? WHERE hash = ?`, []any{micros(t), oldHash}},
		{`UPDATE refresh_token_families SET expires_at = max(expires_at, ?) WHERE id = ?`, []any{micros(next.ExpiresAt), next.FamilyID}},
		{`INSERT INTO refresh_tokens (hash, family_id, expires_at, created_at) VALUES (?, ?, ?, ?)`,
			[]any{next.Hash, next.FamilyID, micros(next.ExpiresAt), micros(t)}},
	} {
		if _, err := tx.ExecContext(ctx, stmt.sql, stmt.args...); err != nil {
			return translate(err)
		}
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
		UPDATE refresh_token_families SET revoked_at = ?
		WHERE revoked_at IS NULL
		  AND id = (SELECT family_id FROM refresh_tokens WHERE hash = ?)`, micros(now()), hash)
	return translate(err)
}

// RevokeUserRefreshTokens revokes every family of the user.
func (s *RefreshTokenStore) RevokeUserRefreshTokens(ctx context.Context, userID int64) error {
	_, err := s.db.ExecContext(ctx,
		`UPDATE refresh_token_families SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`, micros(now()), userID)
	return translate(err)
}

// PurgeRefreshTokens deletes a batch of expired tokens and of dead families.
func (s *RefreshTokenStore) PurgeRefreshTokens(ctx context.Context, revokedBefore time.Time, limit int) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, translate(err)
	}
	defer tx.Rollback()
	t := micros(now())
	var n int64
	for _, stmt := range []struct {
		sql  string
		args []any
	}{
		{`DELETE FROM refresh_tokens WHERE hash IN (
			SELECT hash FROM refresh_tokens WHERE expires_at < ? LIMIT ?)`, []any{t, limit}},
		{`DELETE FROM refresh_token_families WHERE id IN (
			SELECT id FROM refresh_token_families WHERE expires_at < ? LIMIT ?)`, []any{t, limit}},
		{`DELETE FROM refresh_token_families WHERE id IN (
			SELECT id FROM refresh_token_families WHERE revoked_at < ? LIMIT ?)`, []any{micros(revokedBefore), limit}},
	} {
		res, err := tx.ExecContext(ctx, stmt.sql, stmt.args...)
		if err != nil {
			return 0, translate(err)
		}
		deleted, err := res.RowsAffected()
		if err != nil {
			return 0, translate(err)
		}
		n += deleted
	}
	return n, translate(tx.Commit())
}
