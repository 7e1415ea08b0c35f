package auth_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/chirper/chirper/pkg/auth"
	"github.com/chirper/chirper/pkg/chirper"
)

func newKey(tb testing.TB) ed25519.PrivateKey {
	tb.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return priv
}

var alice = &chirper.User{ID: 42, Username: "alice", Role: chirper.RoleAdmin}

func TestTokenRoundTrip(t *testing.T) {
	key := newKey(t)
	signer := auth.NewSigner(key, "chirper", "chirper-api", 15*time.Minute)
	tok, err := signer.Sign(alice)
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier([]ed25519.PublicKey{newKey(t).Public().(ed25519.PublicKey), key.Public().(ed25519.PublicKey)}, "chirper", "chirper-api")
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.UserID != 42 || c.Username != "alice" || c.Role != chirper.RoleAdmin {
		t.Fatalf("claims = %+v", c)
	}
	if d := time.Until(c.Expires); d < 14*time.Minute || d > 15*time.Minute {
		t.Fatalf("expires in %v, want 15m", d)
	}
}

// forge signs arbitrary claims with method and key, with the header kid.
func forge(tb testing.TB, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	tb.Helper()
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestVerifyRefuses(t *testing.T) {
	key := newKey(t)
	pub := key.Public().(ed25519.PublicKey)
	kid := auth.KeyID(pub)
	v, err := auth.NewVerifier([]ed25519.PublicKey{pub}, "chirper", "chirper-api")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	good := func() jwt.MapClaims {
		return jwt.MapClaims{"sub": "42", "name": "alice", "role": "user", "iss": "chirper",
			"aud": "chirper-api", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(), "jti": "x"}
	}
	with := func(k string, val any) jwt.MapClaims { c := good(); c[k] = val; return c }
	without := func(k string) jwt.MapClaims { c := good(); delete(c, k); return c }
	valid := forge(t, jwt.SigningMethodEdDSA, key, kid, good())
	if _, err := v.Verify(valid); err != nil {
		t.Fatalf("the control token is refused: %v", err)
	}
	parts := strings.Split(valid, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"1","name":"root","role":"admin","iss":"chirper","aud":"chirper-api","exp":9999999999}`)) + "." + parts[2]
	none := forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kid, good())
	hs256 := forge(t, jwt.SigningMethodHS256, []byte(pub), kid, good())

	tests := map[string]string{
		"Empty":              "",
		"Garbage":            "not.a.token",
		"Expired":            forge(t, jwt.SigningMethodEdDSA, key, kid, with("exp", now.Add(-time.Minute).Unix())),
		"NoExpiry":           forge(t, jwt.SigningMethodEdDSA, key, kid, without("exp")),
		"WrongAudience":      forge(t, jwt.SigningMethodEdDSA, key, kid, with("aud", "someone-else")),
		"WrongIssuer":        forge(t, jwt.SigningMethodEdDSA, key, kid, with("iss", "evil")),
		"IssuedInFuture":     forge(t, jwt.SigningMethodEdDSA, key, kid, with("iat", now.Add(time.Hour).Unix())),
		"BadSubject":         forge(t, jwt.SigningMethodEdDSA, key, kid, with("sub", "alice")),
		"UnknownKey":         forge(t, jwt.SigningMethodEdDSA, newKey(t), kid, good()),
		"UnknownKid":         forge(t, jwt.SigningMethodEdDSA, key, "other", good()),
		"TamperedClaims":     tampered,
		"AlgNone":            none,
		"HS256WithPublicKey": hs256,
		"SignatureStripped":  parts[0] + "." + parts[1] + ".",
	}
	for name, tok := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := v.Verify(tok)
			if code := chirper.ErrorCode(err); code != chirper.EUNAUTHORIZED {
				t.Fatalf("code = %q (%v), want unauthorized", code, err)
			}
		})
	}
}

func TestPasswords(t *testing.T) {
	p, err := auth.NewPasswords(4)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := p.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(hash, "correct horse") || !strings.HasPrefix(hash, "$2a$04$") {
		t.Fatalf("hash = %q", hash)
	}
	u := &chirper.User{PasswordHash: hash}
	if err := p.Check(u, "correct horse"); err != nil {
		t.Fatal(err)
	}
	if code := chirper.ErrorCode(p.Check(u, "wrong horse")); code != chirper.EUNAUTHORIZED {
		t.Fatalf("wrong password: code %q", code)
	}
	if code := chirper.ErrorCode(p.Check(nil, "correct horse")); code != chirper.EUNAUTHORIZED {
		t.Fatalf("unknown user: code %q", code)
	}
	if _, err := p.Hash("short"); chirper.ErrorCode(err) != chirper.EINVALID {
		t.Fatalf("short password: %v", err)
	}
	if _, err := auth.NewPasswords(3); err == nil {
		t.Fatal("cost 3 accepted")
	}
}

func TestLoadOrCreatePrivateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "signing.pem")
	first, err := auth.LoadOrCreatePrivateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	again, err := auth.LoadOrCreatePrivateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !first.Equal(again) {
		t.Fatal("the key changed across loads")
	}
	pubPEM, err := auth.MarshalPublicKeyPEM(first.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := auth.ParsePublicKeysPEM(append(pubPEM, pubPEM...))
	if err != nil || len(keys) != 2 {
		t.Fatalf("ParsePublicKeysPEM = %d keys, %v", len(keys), err)
	}
	if _, err := auth.ParsePublicKeysPEM([]byte("nothing")); err == nil {
		t.Fatal("no PEM accepted")
	}
	if _, err := auth.ParsePrivateKeyPEM(pubPEM); err == nil {
		t.Fatal("a public key accepted as private")
	}
}
