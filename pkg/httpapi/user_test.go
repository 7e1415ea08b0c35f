package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func post(h http.Handler, path, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestRegisterTakenNameCostsNoHash(t *testing.T) {
	api := newTestAPI(t, AuthLimits{}, io.Discard)
	h, hasher := api.handler, api.hasher
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
	perUsername := NewLimiter(RateLimit{Requests: 5, Window: time.Hour}, 0)
	h := newTestAPI(t, AuthLimits{LoginPerUsername: perUsername}, io.Discard).handler
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
	for _, db := range []struct {
		name    string
		timeout time.Duration
	}{
		{"NoDatabaseDeadline", 0},
		{"DatabaseWorkOutlivesTheClient", time.Minute}, // dbContext's grace
	} {
		for _, c := range []struct{ path, body string }{
			{"/v1/users", `{"username":"gone","password":"long enough"}`},
			{"/v1/auth/login", `{"username":"fuzzer","password":"fuzzer password"}`},
		} {
			t.Run(db.name+c.path, func(t *testing.T) {
				var logs bytes.Buffer
				api := newTestAPI(t, AuthLimits{}, &logs, func(o *Options) { o.DBTimeout = db.timeout })
				ctx, cancel := context.WithCancel(context.Background())
				cancel() // the client hung up before the store was asked
				r := httptest.NewRequestWithContext(ctx, "POST", c.path, strings.NewReader(c.body))
				r.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				api.handler.ServeHTTP(w, r)
				if w.Code != StatusClientClosedRequest {
					t.Fatalf("status %d, want 499", w.Code)
				}
				if n := api.hasher.hashes.Load() + api.hasher.checks.Load(); n != 0 {
					t.Fatalf("%d bcrypt hashes or checks for a request whose client is gone", n)
				}
				for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
					if strings.Contains(line, `"level":"ERROR"`) {
						t.Fatalf("a client that went away was logged as an error: %s", line)
					}
				}
				if !strings.Contains(logs.String(), `"status":499`) {
					t.Fatalf("no access line with status 499:\n%s", logs.String())
				}
			})
		}
	}
}
