// Package apitest is the end-to-end suite of the API contract. It drives a
// running API through pkg/client, with every exchange checked against
// openapi.yaml, so that any deployment (the standalone on SQLite or
// PostgreSQL, or the services behind their router) proves the same
// behaviour:
//
//	apitest.Run(t, &apitest.Env{URL: ..., SigningKey: ..., MakeAdmin: ...})
package apitest

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chirper/chirper/pkg/client"
)

// Env is a running API under test.
type Env struct {
	URL        string             // base URL, such as http://127.0.0.1:8080
	SigningKey ed25519.PrivateKey // the key its access tokens are signed with
	Issuer     string
	Audience   string
	// MakeAdmin gives a user the admin role out of band, as an operator
	// does with `standalone admin grant`.
	MakeAdmin func(tb testing.TB, username string)

	http *http.Client
	seq  atomic.Int64
}

// Run runs the whole contract against env. Usernames are unique per run, so
// the database may be shared with other tests.
func Run(t *testing.T, env *Env) {
	env.http = ValidatingClient(t, env.URL)
	t.Run("Users", func(t *testing.T) { testUsers(t, env) })
	t.Run("Auth", func(t *testing.T) { testAuth(t, env) })
	t.Run("TokenAttacks", func(t *testing.T) { testTokenAttacks(t, env) })
	t.Run("Roles", func(t *testing.T) { testRoles(t, env) })
	t.Run("Chirps", func(t *testing.T) { testChirps(t, env) })
	t.Run("Lists", func(t *testing.T) { testLists(t, env) })
	t.Run("Search", func(t *testing.T) { testSearch(t, env) })
	t.Run("Idempotency", func(t *testing.T) { testIdempotency(t, env) })
	t.Run("Follows", func(t *testing.T) { testFollows(t, env) })
	t.Run("Stream", func(t *testing.T) { testStream(t, env) })
	t.Run("Boundaries", func(t *testing.T) { testBoundaries(t, env) })
	t.Run("Protocol", func(t *testing.T) { testProtocol(t, env) })
}

// Client returns an anonymous client of the API.
func (env *Env) Client() *client.Client { return client.New(env.URL, env.http) }

// account is a registered, logged-in user.
type account struct {
	*client.User
	Password string
	Tokens   *client.Tokens
	C        *client.Client // sends the access token
}

// name returns a username unique in this run.
func (env *Env) name(prefix string) string {
	return fmt.Sprintf("%s_%d", prefix, env.seq.Add(1))
}

// mustAccount registers and logs in a new user.
func (env *Env) mustAccount(tb testing.TB, prefix string) *account {
	tb.Helper()
	ctx := context.Background()
	pw := "pw-" + strings.Repeat("x", 8)
	u, err := env.Client().Register(ctx, client.Registration{Username: env.name(prefix), Password: pw})
	if err != nil {
		tb.Fatalf("Register: %v", err)
	}
	tok, err := env.Client().Login(ctx, u.Username, pw)
	if err != nil {
		tb.Fatalf("Login: %v", err)
	}
	return &account{User: u, Password: pw, Tokens: tok, C: env.Client().WithToken(tok.AccessToken)}
}

// mustAdmin returns a new logged-in admin.
func (env *Env) mustAdmin(tb testing.TB) *account {
	tb.Helper()
	a := env.mustAccount(tb, "admin")
	env.MakeAdmin(tb, a.Username)
	return a
}

// wantProblem fails the test unless err is a problem with the status.
func wantProblem(tb testing.TB, err error, status int) *client.Problem {
	tb.Helper()
	p, ok := err.(*client.Problem)
	if !ok {
		tb.Fatalf("error = %v, want a %d problem", err, status)
	}
	if p.Status != status {
		tb.Fatalf("status = %d (%s), want %d", p.Status, p.Detail, status)
	}
	if p.RequestID == "" || p.Title == "" || p.Instance == "" {
		tb.Fatalf("problem lacks request_id, title or instance: %+v", p)
	}
	if status == http.StatusUnauthorized && p.Header.Get("WWW-Authenticate") == "" {
		tb.Fatal("401 without WWW-Authenticate")
	}
	return p
}

// wantFields fails unless the problem names exactly these fields (in any
// order, each at least once).
func wantFields(tb testing.TB, p *client.Problem, fields ...string) {
	tb.Helper()
	got := map[string]bool{}
	for _, f := range p.Errors {
		got[f.Field] = true
	}
	for _, f := range fields {
		if !got[f] {
			tb.Fatalf("problem errors %+v lack field %q", p.Errors, f)
		}
		delete(got, f)
	}
	if len(got) > 0 {
		tb.Fatalf("problem errors %+v name unexpected fields %v", p.Errors, got)
	}
}

// raw sends a raw request and returns the answer.
func raw(tb testing.TB, c *client.Client, method, path, contentType, body string, header http.Header) *client.Response {
	tb.Helper()
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	resp, err := c.Raw(context.Background(), method, path, contentType, b, header)
	if err != nil {
		tb.Fatal(err)
	}
	return resp
}
