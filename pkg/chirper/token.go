package chirper

import (
	"context"
	"time"
)

// RefreshToken is one refresh token of a login session. A session is a family
// of tokens: every refresh spends one token and issues the next in the same
// family. Only a hash of the token is ever stored.
type RefreshToken struct {
	Hash      []byte // SHA-256 of the token the client holds
	FamilyID  string // shared by every token of one login
	UserID    int64
	ExpiresAt time.Time
	CreatedAt time.Time
}

// RefreshTokenStore keeps refresh-token families.
type RefreshTokenStore interface {
	// CreateRefreshToken stores the first token of a new family and sets its
	// CreatedAt. ENOTFOUND when the user does not exist.
	CreateRefreshToken(ctx context.Context, t *RefreshToken) error

	// RotateRefreshToken spends the token with oldHash and stores next in the
	// same family for the same user (it sets next's FamilyID, UserID and
	// CreatedAt), in one transaction. EUNAUTHORIZED when the token is unknown,
	// expired or revoked; when it was spent already, the whole family is
	// revoked first (a stolen token was replayed) and the error is
	// EUNAUTHORIZED too. A rotation and a revocation of the same family
	// exclude each other: the token a rotation issues is revoked with its
	// family, whichever commits first.
	RotateRefreshToken(ctx context.Context, oldHash []byte, next *RefreshToken) error

	// RevokeRefreshTokenFamily revokes every token of the family that the
	// token with hash belongs to. Unknown tokens are ignored.
	RevokeRefreshTokenFamily(ctx context.Context, hash []byte) error

	// RevokeUserRefreshTokens revokes every token of the user.
	RevokeUserRefreshTokens(ctx context.Context, userID int64) error

	// PurgeRefreshTokens deletes at most limit expired tokens and at most
	// limit families that expired or were revoked before revokedBefore, and
	// returns how many rows went. Where several processes share the
	// database, one purges at a time and the others return 0.
	PurgeRefreshTokens(ctx context.Context, revokedBefore time.Time, limit int) (int64, error)
}

// ErrRefreshTokenReused is the message of the error a replayed refresh token
// causes.
const ErrRefreshTokenReused = "refresh token was already used; the session has been revoked"
