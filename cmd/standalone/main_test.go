package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/chirper/chirper/pkg/apitest"
	"github.com/chirper/chirper/pkg/auth"
	"github.com/chirper/chirper/pkg/client"
	"github.com/chirper/chirper/pkg/postgres"
	"github.com/chirper/chirper/pkg/postgres/pgtest"
	"github.com/chirper/chirper/pkg/server"
	"github.com/chirper/chirper/pkg/sqlite"
)

// syncBuffer is a log sink that tests read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// standalone is a running standalone server.
type standalone struct {
	URL   string
	Admin string
	Logs  *syncBuffer
	Key   ed25519.PrivateKey
	Stop  context.CancelFunc // as SIGTERM does; the test's end does too
}

// startStandalone runs the standalone's run in this process with the test
// environment plus env, waits until it is ready, and stops it (checking it
// stops cleanly) when the test ends.
func startStandalone(t *testing.T, env map[string]string) *standalone {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pemKey, err := auth.MarshalPrivateKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	s := &standalone{Logs: &syncBuffer{}, Key: key}
	vars := map[string]string{
		// Port 0: the system picks free ports; the log says which.
		"CHIRPER_HTTP_ADDR":                  "127.0.0.1:0",
		"CHIRPER_ADMIN_ADDR":                 "127.0.0.1:0",
		"CHIRPER_DATA_DIR":                   t.TempDir(),
		"CHIRPER_BCRYPT_COST":                "4",
		"CHIRPER_SIGNING_KEY":                string(pemKey),
		"CHIRPER_RATE_LIMIT":                 "0",
		"CHIRPER_LOGIN_LIMIT_PER_USERNAME":   "0",
		"CHIRPER_LOGIN_LIMIT_PER_ADDRESS":    "0",
		"CHIRPER_REGISTER_LIMIT_PER_ADDRESS": "0",
		"CHIRPER_SHUTDOWN_GRACE":             "5s",
	}
	for k, v := range env {
		vars[k] = v
	}
	for k, v := range vars {
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.Stop = cancel
	var runErr error
	done := make(chan struct{})
	go func() {
		runErr = run(ctx, nil, s.Logs, s.Logs)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
			if runErr != nil {
				t.Errorf("standalone stopped with: %v", runErr)
			}
		case <-time.After(15 * time.Second):
			t.Error("standalone did not stop within 15s")
		}
	})
	addr, admin := waitServing(t, s.Logs.String, done, func() error { return runErr })
	s.URL, s.Admin = "http://"+addr, "http://"+admin
	waitReady(t, s.URL, done, func() error { return runErr })
	return s
}

// waitServing reads the bound addresses from the server's "serving" log
// line, failing if the server exits first.
func waitServing(tb testing.TB, logs func() string, done <-chan struct{}, exitErr func() error) (addr, admin string) {
	tb.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		select {
		case <-done:
			tb.Fatalf("the server exited before it listened: %v\n%s", exitErr(), logs())
		default:
		}
		for _, line := range strings.Split(logs(), "\n") {
			if addr, admin, ok := server.ServingAddrs([]byte(line)); ok {
				return addr, admin
			}
		}
	}
	tb.Fatal("the server did not listen within 20s")
	return "", ""
}

// waitReady polls /readyz until it answers 200, failing if the server exits.
func waitReady(tb testing.TB, baseURL string, done <-chan struct{}, exitErr func() error) {
	tb.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		select {
		case <-done:
			tb.Fatalf("the server exited before it was ready: %v", exitErr())
		default:
		}
		resp, err := http.Get(baseURL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
	}
	tb.Fatal("the server was not ready within 20s")
}

func (s *standalone) env(t *testing.T) *apitest.Env {
	return &apitest.Env{
		URL: s.URL, SigningKey: s.Key, Issuer: "chirper", Audience: "chirper-api",
		MakeAdmin: func(tb testing.TB, username string) {
			tb.Helper()
			var out bytes.Buffer
			if err := run(context.Background(), []string{"admin", "grant", username}, &out, &out); err != nil {
				tb.Fatalf("admin grant: %v: %s", err, out.String())
			}
		},
	}
}

func TestAPIOnSQLite(t *testing.T) {
	s := startStandalone(t, nil)
	apitest.Run(t, s.env(t))
	t.Run("LogsHoldNoSecrets", func(t *testing.T) { checkLogs(t, s.Logs.String()) })
}

func TestAPIOnPostgres(t *testing.T) {
	s := startStandalone(t, map[string]string{"CHIRPER_DATABASE_URL": pgtest.NewDatabase(t)})
	apitest.Run(t, s.env(t))
	t.Run("LogsHoldNoSecrets", func(t *testing.T) { checkLogs(t, s.Logs.String()) })
}

// checkLogs asserts one structured line per request and no secrets.
func checkLogs(t *testing.T, logs string) {
	if !strings.Contains(logs, `"msg":"request"`) || !strings.Contains(logs, `"route":"/v1/chirps/{id}"`) {
		t.Fatal("no request lines with route templates in the log")
	}
	for _, secret := range []string{"pw-xxxxxxxx", "eyJ", "refresh_token", "$2a$", "PRIVATE KEY"} {
		if strings.Contains(logs, secret) {
			t.Fatalf("the log contains %q", secret)
		}
	}
}

func TestZeroConfiguration(t *testing.T) {
	// No signing key and no database configured: the standalone makes both
	// under the data directory and keeps them across restarts.
	dir := t.TempDir()
	t.Setenv("CHIRPER_SIGNING_KEY", "")
	ctx := context.Background()
	var tok *client.Tokens
	for round := range 2 {
		t.Run(fmt.Sprintf("Start%d", round+1), func(t *testing.T) {
			s := startStandalone(t, map[string]string{"CHIRPER_DATA_DIR": dir, "CHIRPER_SIGNING_KEY": ""})
			c := client.New(s.URL, apitest.ValidatingClient(t, s.URL))
			if round == 0 {
				if _, err := c.Register(ctx, client.Registration{Username: "zero", Password: "zero config"}); err != nil {
					t.Fatal(err)
				}
				var err error
				if tok, err = c.Login(ctx, "zero", "zero config"); err != nil {
					t.Fatal(err)
				}
			}
			// The token from the first start still works after a restart.
			if _, err := c.WithToken(tok.AccessToken).CreateChirp(ctx, client.NewChirp{Message: "still me"}); err != nil {
				t.Fatalf("round %d: %v", round+1, err)
			}
		})
	}
	for _, f := range []string{"chirper.db", "signing-key.pem"} {
		info, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "signing-key.pem" && info.Mode().Perm() != 0o600 {
			t.Fatalf("signing key mode %v, want 0600", info.Mode().Perm())
		}
	}
}

func TestRateLimits(t *testing.T) {
	s := startStandalone(t, map[string]string{
		"CHIRPER_RATE_LIMIT":                 "5",
		"CHIRPER_RATE_LIMIT_WINDOW":          "1s",
		"CHIRPER_LOGIN_LIMIT_PER_USERNAME":   "2",
		"CHIRPER_LOGIN_LIMIT_PER_ADDRESS":    "4",
		"CHIRPER_REGISTER_LIMIT_PER_ADDRESS": "2",
		// Tests play clients at other addresses through X-Forwarded-For.
		"CHIRPER_TRUSTED_PROXIES": "127.0.0.1/32",
	})
	ctx := context.Background()
	c := client.New(s.URL, apitest.ValidatingClient(t, s.URL))
	get := func() *client.Response {
		resp, err := c.Raw(ctx, "GET", "/v1/chirps", "", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	waitWindow := func() { time.Sleep(1100 * time.Millisecond) }

	t.Run("General", func(t *testing.T) {
		waitWindow()
		for i := range 5 {
			resp := get()
			if resp.Status != http.StatusOK {
				t.Fatalf("request %d: status %d", i+1, resp.Status)
			}
			if got, want := resp.Header.Get("RateLimit-Remaining"), fmt.Sprint(4-i); got != want || resp.Header.Get("RateLimit-Limit") != "5" {
				t.Fatalf("request %d: RateLimit-Remaining %q, want %q", i+1, got, want)
			}
		}
		resp := get()
		if resp.Status != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || resp.Header.Get("RateLimit-Reset") == "" {
			t.Fatalf("6th request: status %d, headers %v", resp.Status, resp.Header)
		}
		waitWindow()
		if resp := get(); resp.Status != http.StatusOK {
			t.Fatalf("after the window: status %d", resp.Status)
		}
	})

	t.Run("BadTokensCountAgainstTheAddress", func(t *testing.T) {
		waitWindow()
		forged := c.WithToken("not.a.token")
		for i := range 5 {
			_, err := forged.ListChirps(ctx, client.Filter{})
			if p, ok := err.(*client.Problem); !ok || p.Status != http.StatusUnauthorized || p.Header.Get("RateLimit-Remaining") != fmt.Sprint(4-i) {
				t.Fatalf("bad token %d: %v", i+1, err)
			}
		}
		_, err := forged.ListChirps(ctx, client.Filter{})
		if p, ok := err.(*client.Problem); !ok || p.Status != http.StatusTooManyRequests {
			t.Fatalf("sixth bad token: %v, want 429", err)
		}
	})

	t.Run("Login", func(t *testing.T) {
		waitWindow()
		if _, err := c.Register(ctx, client.Registration{Username: "guessme", Password: "the real one"}); err != nil {
			t.Fatal(err)
		}
		waitWindow()
		for range 2 {
			_, err := c.Login(ctx, "guessme", "a wrong guess")
			if p, ok := err.(*client.Problem); !ok || p.Status != http.StatusUnauthorized {
				t.Fatalf("wrong guess: %v", err)
			}
		}
		// Over the per-username limit even the right password waits.
		_, err := c.Login(ctx, "guessme", "the real one")
		if p, ok := err.(*client.Problem); !ok || p.Status != http.StatusTooManyRequests || p.Header.Get("Retry-After") == "" {
			t.Fatalf("third attempt: %v", err)
		}
		// Another username from the same address: one more before the
		// per-address limit (4) is reached.
		_, err = c.Login(ctx, "someone_else", "whatever1")
		if p, ok := err.(*client.Problem); !ok || p.Status != http.StatusUnauthorized {
			t.Fatalf("other username: %v", err)
		}
		_, err = c.Login(ctx, "third_name", "whatever1")
		if p, ok := err.(*client.Problem); !ok || p.Status != http.StatusTooManyRequests {
			t.Fatalf("over the address limit: %v", err)
		}
		waitWindow()
		if _, err := c.Login(ctx, "guessme", "the real one"); err != nil {
			t.Fatalf("after the window: %v", err)
		}
	})

	from := func(addr string) http.Header { return http.Header{"X-Forwarded-For": {addr}} }
	post := func(path, body string, header http.Header) *client.Response {
		resp, err := c.Raw(ctx, "POST", path, "application/json", []byte(body), header)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	t.Run("StrangerCannotLockAUserOut", func(t *testing.T) {
		waitWindow()
		if _, err := c.Register(ctx, client.Registration{Username: "victim", Password: "the real one"}); err != nil {
			t.Fatal(err)
		}
		stranger, owner := from("198.51.100.7"), from("203.0.113.9")
		guess := `{"username":"victim","password":"a wrong guess"}`
		for i, want := range []int{401, 401, 429} {
			if resp := post("/v1/auth/login", guess, stranger); resp.Status != want {
				t.Fatalf("stranger's attempt %d: status %d, want %d", i+1, resp.Status, want)
			}
		}
		if resp := post("/v1/auth/login", `{"username":"victim","password":"the real one"}`, owner); resp.Status != http.StatusOK {
			t.Fatalf("the owner from their own address: status %d %s", resp.Status, resp.Body)
		}
	})

	t.Run("Register", func(t *testing.T) {
		waitWindow()
		addr := from("192.0.2.50")
		for i, want := range []int{201, 409, 429} {
			resp := post("/v1/users", `{"username":"newcomer","password":"long enough"}`, addr)
			if resp.Status != want {
				t.Fatalf("registration %d: status %d, want %d", i+1, resp.Status, want)
			}
			if want == 429 && resp.Header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		}
		if resp := post("/v1/users", `{"username":"another_one","password":"long enough"}`, from("192.0.2.51")); resp.Status != http.StatusCreated {
			t.Fatalf("another address: status %d", resp.Status)
		}
	})
}

func TestMetrics(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) {
		body := checkMetrics(t, startStandalone(t, nil))
		// A read is no round trip on SQLite: reads are not batched.
		if strings.Contains(body, "chirper_chirp_read_queue") {
			t.Fatal("chirper_chirp_read_queue on SQLite, whose reads are not batched")
		}
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		body := checkMetrics(t, startStandalone(t, map[string]string{"CHIRPER_DATABASE_URL": pgtest.NewDatabase(t)}))
		if !strings.Contains(body, "chirper_chirp_read_queue 0") {
			t.Fatal("metrics lack chirper_chirp_read_queue 0")
		}
	})
}

// checkMetrics checks the metrics every standalone has, and that they are
// on the admin listener alone, and returns them.
func checkMetrics(t *testing.T, s *standalone) string {
	t.Helper()
	api := apitest.ValidatingClient(t, s.URL)
	if _, err := api.Get(s.URL + "/v1/chirps"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(s.Admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`chirper_http_request_duration_seconds_bucket{method="GET",route="/v1/chirps",status="200"`,
		"chirper_http_requests_in_flight",
		`go_sql_open_connections{db_name="primary"}`,
		"chirper_chirp_write_queue 0",
		`chirper_rate_limit_keys{limit="login_per_username"} 0`,
	} {
		if !strings.Contains(string(body), want) {
			t.Fatalf("metrics lack %s", want)
		}
	}
	prof, err := http.Get(s.Admin + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	prof.Body.Close()
	if prof.StatusCode != http.StatusOK {
		t.Fatalf("pprof on the admin listener: %d", prof.StatusCode)
	}
	pub, err := api.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	pub.Body.Close()
	if pub.StatusCode != http.StatusNotFound {
		t.Fatalf("/metrics on the public listener: %d, want 404", pub.StatusCode)
	}
	return string(body)
}

func TestCommands(t *testing.T) {
	t.Setenv("CHIRPER_DATA_DIR", t.TempDir())
	ctx := context.Background()
	var out bytes.Buffer
	if err := run(ctx, []string{"migrate"}, &out, &out); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	out.Reset()
	if err := run(ctx, []string{"-h"}, &out, &out); err != nil {
		t.Fatalf("-h: %v", err)
	}
	for _, v := range []string{"CHIRPER_DATABASE_URL", "CHIRPER_HTTP_ADDR", ":8080", "CHIRPER_BCRYPT_COST", "CHIRPER_TLS_CERT_FILE"} {
		if !strings.Contains(out.String(), v) {
			t.Fatalf("-h does not mention %s:\n%s", v, out.String())
		}
	}
	if err := run(ctx, []string{"admin", "grant", "nobody"}, &out, &out); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("granting an unknown user: %v", err)
	}
	if err := run(ctx, []string{"admin", "promote"}, &out, &out); err == nil {
		t.Fatal("a bad admin command succeeded")
	}
	if err := run(ctx, []string{"frobnicate"}, &out, &out); err == nil {
		t.Fatal("an unknown command succeeded")
	}
	t.Setenv("CHIRPER_DATABASE_URL", "mysql://nope")
	if err := run(ctx, nil, &out, &out); err == nil || !strings.Contains(err.Error(), "CHIRPER_DATABASE_URL") {
		t.Fatalf("bad database URL: %v", err)
	}
}

// TestDatabaseDown: with the database gone, the API answers 503 problems
// with Retry-After (never a 500), readiness fails and liveness holds.
func TestDatabaseDown(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	s := startStandalone(t, map[string]string{"CHIRPER_DATABASE_URL": dsn})
	ctx := context.Background()
	c := client.New(s.URL, apitest.ValidatingClient(t, s.URL))
	if _, err := c.Register(ctx, client.Registration{Username: "before", Password: "before the outage"}); err != nil {
		t.Fatal(err)
	}

	admin, err := postgres.Open(ctx, pgtest.URL(t), postgres.Options{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	u, _ := url.Parse(dsn)
	if _, err := admin.ExecContext(ctx, "DROP DATABASE "+pq.QuoteIdentifier(strings.TrimPrefix(u.Path, "/"))+" WITH (FORCE)"); err != nil {
		t.Fatal(err)
	}

	for _, call := range []func() error{
		func() error { _, err := c.ListChirps(ctx, client.Filter{}); return err },
		func() error { _, err := c.GetChirp(ctx, "12345"); return err }, // through the read batcher
		func() error { _, err := c.GetUser(ctx, "before"); return err },
		func() error { _, err := c.Login(ctx, "before", "before the outage"); return err },
	} {
		err := call()
		p, ok := err.(*client.Problem)
		if !ok || p.Status != http.StatusServiceUnavailable || p.Header.Get("Retry-After") == "" {
			t.Fatalf("with the database gone: %v, want a 503 problem with Retry-After", err)
		}
		if strings.Contains(p.Detail, "pq:") || strings.Contains(p.Detail, "does not exist") {
			t.Fatalf("the problem leaks the driver error: %q", p.Detail)
		}
	}
	if code := statusOf(t, s.URL+"/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("readyz: %d", code)
	}
	if code := statusOf(t, s.URL+"/healthz"); code != http.StatusOK {
		t.Fatalf("healthz: %d", code)
	}
}

func statusOf(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestREADMESession runs the README's curl session, as printed, against a
// fresh standalone, so that the newcomer's first steps keep working.
func TestREADMESession(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "## A session with curl")
	_, block, ok2 := strings.Cut(after, "```sh\n")
	script, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("the README has no curl session")
	}
	s := startStandalone(t, nil)
	script = strings.ReplaceAll(script, "localhost:8080", strings.TrimPrefix(s.URL, "http://"))
	out, err := exec.Command("bash", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("the session failed: %v\n%s", err, out)
	}
	for _, want := range []string{
		`"username":"alice"`, `"message":"Hello, #chirper!","tags":["intro","chirper"]`,
		`"next_cursor":"`, "Etag: ", "HTTP/1.1 204 No Content",
		"event: chirp\ndata: {\"id\":\"4\"", `"message":"Live on the #chirper stream"`,
		`"title":"Not Found","status":404,"detail":"chirp not found","instance":"/v1/chirps/1"`,
	} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("the session's output lacks %s:\n%s", want, out)
		}
	}
}

func TestRefreshTokensArePurged(t *testing.T) {
	dir := t.TempDir()
	s := startStandalone(t, map[string]string{
		"CHIRPER_DATA_DIR":                dir,
		"CHIRPER_REFRESH_TOKEN_TTL":       "1s",
		"CHIRPER_REVOKED_TOKEN_RETENTION": "0s",
		"CHIRPER_TOKEN_PURGE_INTERVAL":    "100ms",
	})
	ctx := context.Background()
	c := client.New(s.URL, apitest.ValidatingClient(t, s.URL))
	if _, err := c.Register(ctx, client.Registration{Username: "sessions", Password: "long enough"}); err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(dir, "chirper.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows := func() (n int) {
		t.Helper()
		if err := db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM refresh_tokens) + (SELECT count(*) FROM refresh_token_families)`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for range 3 {
		tok, err := c.Login(ctx, "sessions", "long enough")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Refresh(ctx, tok.RefreshToken); err != nil {
			t.Fatal(err)
		}
	}
	logout, err := c.Login(ctx, "sessions", "long enough")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Logout(ctx, logout.RefreshToken); err != nil {
		t.Fatal(err)
	}
	if n := rows(); n == 0 {
		t.Fatal("no refresh-token rows after four logins")
	}
	// The tokens expire after 1 s and the purge runs every 100 ms.
	deadline := time.Now().Add(10 * time.Second)
	for rows() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d refresh-token rows left 10 s after they expired", rows())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
