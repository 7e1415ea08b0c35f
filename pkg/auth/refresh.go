package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"time"

	"github.com/chirper/chirper/pkg/chirper"
)

var _ chirper.SessionService = (*Sessions)(nil)

// Sessions issues and rotates refresh tokens: 32 random bytes handed to the
// client as base64url, stored only as their SHA-256.
type Sessions struct {
	tokens chirper.RefreshTokenStore
	ttl    time.Duration
}

// NewSessions returns Sessions whose refresh tokens live for ttl.
func NewSessions(tokens chirper.RefreshTokenStore, ttl time.Duration) *Sessions {
	return &Sessions{tokens: tokens, ttl: ttl}
}

// Start opens a new session (token family) for the user and returns its
// first refresh token.
func (s *Sessions) Start(ctx context.Context, userID int64) (string, error) {
	token, hash, err := newRefreshToken()
	if err != nil {
		return "", err
	}
	family, _, err := newRefreshToken()
	if err != nil {
		return "", err
	}
	return token, s.tokens.CreateRefreshToken(ctx, &chirper.RefreshToken{
		Hash: hash, FamilyID: family[:22], UserID: userID, ExpiresAt: time.Now().Add(s.ttl),
	})
}

// Refresh spends token and returns the next one of its session and the
// session's user. EUNAUTHORIZED for an unknown, expired, revoked or spent
// token; a spent one revokes its whole session.
func (s *Sessions) Refresh(ctx context.Context, token string) (next string, userID int64, err error) {
	old, ok := hashRefreshToken(token)
	if !ok {
		return "", 0, chirper.Errorf(chirper.EUNAUTHORIZED, "refresh token is not valid")
	}
	next, hash, err := newRefreshToken()
	if err != nil {
		return "", 0, err
	}
	t := &chirper.RefreshToken{Hash: hash, ExpiresAt: time.Now().Add(s.ttl)}
	if err := s.tokens.RotateRefreshToken(ctx, old, t); err != nil {
		return "", 0, err
	}
	return next, t.UserID, nil
}

// End revokes the session of token. Unknown tokens are ignored, so that
// logging out twice is not an error.
func (s *Sessions) End(ctx context.Context, token string) error {
	hash, ok := hashRefreshToken(token)
	if !ok {
		return nil
	}
	return s.tokens.RevokeRefreshTokenFamily(ctx, hash)
}

func newRefreshToken() (token string, hash []byte, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, err
	}
	token = base64.RawURLEncoding.EncodeToString(b[:])
	sum := sha256.Sum256([]byte(token))
	return token, sum[:], nil
}

// hashRefreshToken returns the stored form of a token, false when it cannot
// be one of ours.
func hashRefreshToken(token string) ([]byte, bool) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) != 32 {
		return nil, false
	}
	sum := sha256.Sum256([]byte(token))
	return sum[:], true
}

// EndAll revokes every session of the user.
func (s *Sessions) EndAll(ctx context.Context, userID int64) error {
	return s.tokens.RevokeUserRefreshTokens(ctx, userID)
}
