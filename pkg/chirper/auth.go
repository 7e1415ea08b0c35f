package chirper

import (
	"context"
	"time"
)

// AccessClaims are what a valid access token says about its bearer.
type AccessClaims struct {
	UserID   int64
	Username string
	Role     Role
	Expires  time.Time
}

// PasswordHasher hashes passwords and checks them.
type PasswordHasher interface {
	// Hash returns the stored form of password. EINVALID for a password
	// that breaks the rules.
	Hash(password string) (string, error)

	// Check reports whether password is u's. With a nil u it does the same
	// work and fails, so that timing does not tell which users exist.
	// EUNAUTHORIZED when it does not match.
	Check(u *User, password string) error
}

// TokenSigner issues access tokens.
type TokenSigner interface {
	// Sign returns an access token for u.
	Sign(u *User) (string, error)

	// TTL is how long the tokens live.
	TTL() time.Duration
}

// TokenVerifier checks access tokens.
type TokenVerifier interface {
	// Verify returns the claims of a valid token. EUNAUTHORIZED otherwise.
	Verify(token string) (*AccessClaims, error)
}

// SessionService issues and rotates the refresh tokens of login sessions.
type SessionService interface {
	// Start opens a session for the user and returns its first refresh
	// token.
	Start(ctx context.Context, userID int64) (string, error)

	// Refresh spends token and returns the next one and the session's user.
	// EUNAUTHORIZED for an unknown, expired, revoked or spent token; a spent
	// one ends its whole session.
	Refresh(ctx context.Context, token string) (next string, userID int64, err error)

	// End ends the session of token; unknown tokens are ignored.
	End(ctx context.Context, token string) error

	// EndAll ends every session of the user.
	EndAll(ctx context.Context, userID int64) error
}
