package apitest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/chirper/chirper/pkg/auth"
	"github.com/chirper/chirper/pkg/client"
)

func testAuth(t *testing.T, env *Env) {
	ctx := context.Background()
	anon := env.Client()

	t.Run("Login", func(t *testing.T) {
		a := env.mustAccount(t, "login")
		if a.Tokens.TokenType != "Bearer" || a.Tokens.ExpiresIn != 900 || a.Tokens.RefreshToken == "" {
			t.Fatalf("tokens = %+v", a.Tokens)
		}
		tok, err := anon.Login(ctx, strings.ToUpper(a.Username), a.Password)
		if err != nil {
			t.Fatalf("login with the username in upper case: %v", err)
		}
		if tok.AccessToken == a.Tokens.AccessToken || tok.RefreshToken == a.Tokens.RefreshToken {
			t.Fatal("two logins got the same tokens")
		}
	})

	t.Run("ErrWrongPassword", func(t *testing.T) {
		a := env.mustAccount(t, "wrongpw")
		_, err := anon.Login(ctx, a.Username, "not the password")
		p := wantProblem(t, err, http.StatusUnauthorized)
		_, err = anon.Login(ctx, "no_such_user", "whatever1")
		q := wantProblem(t, err, http.StatusUnauthorized)
		if p.Detail != q.Detail {
			t.Fatalf("unknown user and wrong password answer differently: %q vs %q", p.Detail, q.Detail)
		}
	})

	t.Run("ErrPasswordLongerThanBcryptReads", func(t *testing.T) {
		name, pw := env.name("long"), strings.Repeat("p", 72)
		if _, err := anon.Register(ctx, client.Registration{Username: name, Password: pw}); err != nil {
			t.Fatal(err)
		}
		// bcrypt reads 72 bytes: anything after them must not log in.
		_, err := anon.Login(ctx, name, pw+"any suffix")
		wantFields(t, wantProblem(t, err, http.StatusUnprocessableEntity), "password")
		if _, err := anon.Login(ctx, name, pw); err != nil {
			t.Fatalf("the 72-byte password itself: %v", err)
		}
	})

	t.Run("ErrJunkUsername", func(t *testing.T) {
		for _, name := range []string{"x", "has space", strings.Repeat("n", 1000)} {
			_, err := anon.Login(ctx, name, "whatever1")
			wantProblem(t, err, http.StatusUnauthorized)
		}
	})

	t.Run("RefreshRotates", func(t *testing.T) {
		a := env.mustAccount(t, "refresh")
		next, err := anon.Refresh(ctx, a.Tokens.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		if next.RefreshToken == a.Tokens.RefreshToken {
			t.Fatal("the refresh token was not rotated")
		}
		if _, err := env.Client().WithToken(next.AccessToken).UpdateMe(ctx, client.ProfileChange{DisplayName: ptr("Fresh")}); err != nil {
			t.Fatalf("the new access token: %v", err)
		}
		third, err := anon.Refresh(ctx, next.RefreshToken)
		if err != nil {
			t.Fatalf("rotating again: %v", err)
		}
		// Replaying a spent token revokes the whole session.
		_, err = anon.Refresh(ctx, a.Tokens.RefreshToken)
		wantProblem(t, err, http.StatusUnauthorized)
		_, err = anon.Refresh(ctx, third.RefreshToken)
		wantProblem(t, err, http.StatusUnauthorized)
	})

	t.Run("Logout", func(t *testing.T) {
		a := env.mustAccount(t, "logout")
		if err := anon.Logout(ctx, a.Tokens.RefreshToken); err != nil {
			t.Fatal(err)
		}
		_, err := anon.Refresh(ctx, a.Tokens.RefreshToken)
		wantProblem(t, err, http.StatusUnauthorized)
		if err := anon.Logout(ctx, a.Tokens.RefreshToken); err != nil {
			t.Fatalf("logging out twice: %v", err)
		}
	})

	t.Run("ErrBadRefreshToken", func(t *testing.T) {
		for _, tok := range []string{"", "garbage", base64.RawURLEncoding.EncodeToString(make([]byte, 32))} {
			_, err := anon.Refresh(ctx, tok)
			wantProblem(t, err, http.StatusUnauthorized)
		}
	})

	t.Run("ErrMalformedBodies", func(t *testing.T) {
		for _, body := range []string{`{"username":`, `[]`, `{"username":1,"password":"x"}`, `{"username":"a","password":"b"} {}`, `{"user":"a"}`} {
			resp := raw(t, anon, "POST", "/v1/auth/login", "application/json", body, nil)
			if resp.Status != http.StatusBadRequest {
				t.Fatalf("%s: status %d, want 400", body, resp.Status)
			}
		}
	})
}

func testTokenAttacks(t *testing.T, env *Env) {
	ctx := context.Background()
	victim := env.mustAccount(t, "victim")
	pub := env.SigningKey.Public().(ed25519.PublicKey)
	kid := auth.KeyID(pub)
	now := time.Now()
	claims := func(edit func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"sub": victim.ID, "name": victim.Username, "role": "admin",
			"iss": env.Issuer, "aud": env.Audience, "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(), "jti": "j"}
		if edit != nil {
			edit(c)
		}
		return c
	}
	sign := func(method jwt.SigningMethod, key any, kid string, c jwt.MapClaims) string {
		tok := jwt.NewWithClaims(method, c)
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	valid := sign(jwt.SigningMethodEdDSA, env.SigningKey, kid, claims(nil))
	parts := strings.Split(valid, ".")
	forgedPayload := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"1","role":"admin","iss":"` + env.Issuer + `","aud":"` + env.Audience + `","exp":9999999999}`))

	// The control: a well-made token works (so the refusals below are
	// about what each one breaks).
	if _, err := env.Client().WithToken(valid).CreateChirp(ctx, client.NewChirp{Message: "control"}); err != nil {
		t.Fatalf("the control token is refused: %v", err)
	}

	attacks := map[string]string{
		"Expired":            sign(jwt.SigningMethodEdDSA, env.SigningKey, kid, claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() })),
		"WrongAudience":      sign(jwt.SigningMethodEdDSA, env.SigningKey, kid, claims(func(c jwt.MapClaims) { c["aud"] = "another-api" })),
		"WrongIssuer":        sign(jwt.SigningMethodEdDSA, env.SigningKey, kid, claims(func(c jwt.MapClaims) { c["iss"] = "mallory" })),
		"TamperedPayload":    parts[0] + "." + forgedPayload + "." + parts[2],
		"AlgNone":            sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kid, claims(nil)),
		"HS256WithPublicKey": sign(jwt.SigningMethodHS256, []byte(pub), kid, claims(nil)),
		"UnknownKey":         sign(jwt.SigningMethodEdDSA, otherKey, auth.KeyID(otherKey.Public().(ed25519.PublicKey)), claims(nil)),
		"UnknownKeyKnownKid": sign(jwt.SigningMethodEdDSA, otherKey, kid, claims(nil)),
		"Malformed":          "not-a-jwt",
	}
	for name, tok := range attacks {
		t.Run(name, func(t *testing.T) {
			_, err := env.Client().WithToken(tok).CreateChirp(ctx, client.NewChirp{Message: "intruder"})
			wantProblem(t, err, http.StatusUnauthorized)
			_, err = env.Client().WithToken(tok).CountChirps(ctx, client.Filter{})
			wantProblem(t, err, http.StatusUnauthorized)
		})
	}

	t.Run("NoToken", func(t *testing.T) {
		_, err := env.Client().CreateChirp(ctx, client.NewChirp{Message: "anonymous"})
		wantProblem(t, err, http.StatusUnauthorized)
	})
	t.Run("NotBearer", func(t *testing.T) {
		for _, h := range []string{"Basic dXNlcjpwYXNz", "Bearer", "Bearer ", victim.Tokens.AccessToken} {
			resp := raw(t, env.Client(), "POST", "/v1/chirps", "application/json", `{"message":"x"}`,
				http.Header{"Authorization": {h}})
			if resp.Status != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
				t.Fatalf("Authorization %q: status %d", h, resp.Status)
			}
		}
	})
}

func ptr[T any](v T) *T { return &v }
