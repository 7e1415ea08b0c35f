package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/chirper/chirper/pkg/chirper"
)

// tokenClaims is the JWT payload: the registered claims plus name and role.
type tokenClaims struct {
	jwt.RegisteredClaims
	Name string       `json:"name"`
	Role chirper.Role `json:"role"`
}

var (
	_ chirper.TokenSigner   = (*Signer)(nil)
	_ chirper.TokenVerifier = (*Verifier)(nil)
)

// Signer issues access tokens. Only the users service (and the standalone)
// holds one.
type Signer struct {
	key      ed25519.PrivateKey
	kid      string
	issuer   string
	audience string
	ttl      time.Duration
	now      func() time.Time
}

// NewSigner returns a Signer whose tokens name issuer and audience and live
// for ttl.
func NewSigner(key ed25519.PrivateKey, issuer, audience string, ttl time.Duration) *Signer {
	return &Signer{
		key: key, kid: KeyID(key.Public().(ed25519.PublicKey)),
		issuer: issuer, audience: audience, ttl: ttl, now: time.Now,
	}
}

// TTL is how long the tokens live.
func (s *Signer) TTL() time.Duration { return s.ttl }

// Sign returns an access token for the user.
func (s *Signer) Sign(u *chirper.User) (string, error) {
	var jti [12]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", err
	}
	now := s.now()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   strconv.FormatInt(u.ID, 10),
			Issuer:    s.issuer,
			Audience:  jwt.ClaimStrings{s.audience},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(s.ttl)),
			ID:        base64.RawURLEncoding.EncodeToString(jti[:]),
		},
		Name: u.Username,
		Role: u.Role,
	})
	tok.Header["kid"] = s.kid
	return tok.SignedString(s.key)
}

// Verifier checks access tokens against a set of public keys chosen by the
// token's kid, so that keys can be rotated: trust the new key everywhere,
// then sign with it, then drop the old one.
type Verifier struct {
	keys   map[string]ed25519.PublicKey
	parser *jwt.Parser
}

// NewVerifier returns a Verifier that accepts EdDSA tokens from issuer for
// audience signed by any of keys.
func NewVerifier(keys []ed25519.PublicKey, issuer, audience string) (*Verifier, error) {
	if len(keys) == 0 {
		return nil, errors.New("auth: a verifier needs at least one public key")
	}
	v := &Verifier{
		keys: make(map[string]ed25519.PublicKey, len(keys)),
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
			jwt.WithIssuer(issuer),
			jwt.WithAudience(audience),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(5*time.Second),
		),
	}
	for _, k := range keys {
		v.keys[KeyID(k)] = k
	}
	return v, nil
}

// Verify returns the claims of a valid token. EUNAUTHORIZED for a token that
// is malformed, expired, for another issuer or audience, signed with another
// algorithm or by an unknown key.
func (v *Verifier) Verify(token string) (*chirper.AccessClaims, error) {
	var c tokenClaims
	_, err := v.parser.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		key, ok := v.keys[kid]
		if !ok {
			return nil, errors.New("unknown key")
		}
		return key, nil
	})
	if err != nil {
		msg := "the access token is not valid"
		if errors.Is(err, jwt.ErrTokenExpired) {
			msg = "the access token has expired"
		}
		return nil, &chirper.Error{Code: chirper.EUNAUTHORIZED, Message: msg, Cause: err}
	}
	id, err := strconv.ParseInt(c.Subject, 10, 64)
	if err != nil || id <= 0 {
		return nil, chirper.Errorf(chirper.EUNAUTHORIZED, "the access token is not valid")
	}
	return &chirper.AccessClaims{UserID: id, Username: c.Name, Role: c.Role, Expires: c.ExpiresAt.Time}, nil
}
