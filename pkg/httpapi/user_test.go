package httpapi_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chirper/chirper/pkg/auth"
	"github.com/chirper/chirper/pkg/chirper"
	"github.com/chirper/chirper/pkg/httpapi"
	"github.com/chirper/chirper/pkg/sqlite"
)

// countingHasher counts the bcrypt hashes the handlers ask for.
type countingHasher struct {
	chirper.PasswordHasher
	hashes atomic.Int32
}

func (h *countingHasher) Hash(password string) (string, error) {
	h.hashes.Add(1)
	return h.PasswordHasher.Hash(password)
}

// usersAPI serves the users group on a fresh SQLite database.
func usersAPI(t *testing.T, limits httpapi.AuthLimits, logs io.Writer) (http.Handler, *countingHasher) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	passwords, err := auth.NewPasswords(4)
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hasher := &countingHasher{PasswordHasher: passwords}
	users := sqlite.NewUserStore(db)
	log := slog.New(slog.NewJSONHandler(logs, nil))
	group := httpapi.UsersGroup(log, users, hasher, auth.NewSigner(key, "iss", "aud", time.Minute),
		auth.NewSessions(sqlite.NewRefreshTokenStore(db), time.Hour), limits)
	verifier, err := auth.NewVerifier([]ed25519.PublicKey{key.Public().(ed25519.PublicKey)}, "iss", "aud")
	if err != nil {
		t.Fatal(err)
	}
	h, err := httpapi.NewHandler(httpapi.Options{Logger: log, Metrics: httpapi.NewMetrics(prometheus.NewRegistry()), Verifier: verifier, Users: users}, group)
	if err != nil {
		t.Fatal(err)
	}
	return h, hasher
}

func post(h http.Handler, path, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestRegisterTakenNameCostsNoHash(t *testing.T) {
	h, hasher := usersAPI(t, httpapi.AuthLimits{}, io.Discard)
	if w := post(h, "/v1/users", `{"username":"alice","password":"long enough"}`); w.Code != http.StatusCreated {
		t.Fatalf("first registration: %d %s", w.Code, w.Body)
	}
	for _, name := range []string{"alice", "ALICE", " Alice "} {
		if w := post(h, "/v1/users", `{"username":"`+name+`","password":"long enough"}`); w.Code != http.StatusConflict {
			t.Fatalf("%q: status %d, want 409", name, w.Code)
		}
	}
	if got := hasher.hashes.Load(); got != 1 {
		t.Fatalf("bcrypt hashes = %d, want 1: a taken name must be refused before hashing", got)
	}
}

func TestLoginLimiterKeysOnlyUsernames(t *testing.T) {
	perUsername := httpapi.NewLimiter(httpapi.RateLimit{Requests: 5, Window: time.Hour}, 0)
	h, _ := usersAPI(t, httpapi.AuthLimits{LoginPerUsername: perUsername}, io.Discard)
	junk := []string{"", "x", "has space", "UPPER-and-dash", strings.Repeat("n", 31), strings.Repeat("z", 60<<10)}
	for i, name := range junk {
		body := fmt.Sprintf(`{"username":%q,"password":"whatever %d"}`, name, i)
		if w := post(h, "/v1/auth/login", body); w.Code != http.StatusUnauthorized {
			t.Fatalf("junk username %d: status %d, want 401", i, w.Code)
		}
	}
	if got := perUsername.Keys(); got != 0 {
		t.Fatalf("the per-username limiter holds %d keys after junk usernames, want 0", got)
	}
	post(h, "/v1/auth/login", `{"username":"could_exist","password":"whatever"}`)
	if got := perUsername.Keys(); got != 1 {
		t.Fatalf("the per-username limiter holds %d keys after a real-looking username, want 1", got)
	}
}

func TestClientGoneIsA499(t *testing.T) {
	var logs bytes.Buffer
	h, hasher := usersAPI(t, httpapi.AuthLimits{}, &logs)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the client hung up before the store was asked
	r := httptest.NewRequestWithContext(ctx, "POST", "/v1/users", strings.NewReader(`{"username":"gone","password":"long enough"}`))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != httpapi.StatusClientClosedRequest {
		t.Fatalf("status %d, want 499", w.Code)
	}
	if hasher.hashes.Load() != 0 {
		t.Fatal("a request whose client is gone was hashed")
	}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if strings.Contains(line, `"level":"ERROR"`) {
			t.Fatalf("a client that went away was logged as an error: %s", line)
		}
	}
	if !strings.Contains(logs.String(), `"status":499`) {
		t.Fatalf("no access line with status 499:\n%s", logs.String())
	}
}
