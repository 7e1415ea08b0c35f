package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/chirper/chirper/pkg/chirper"
	"github.com/chirper/chirper/pkg/config"
	"github.com/chirper/chirper/pkg/postgres"
	"github.com/chirper/chirper/pkg/postgres/pgtest"
	"github.com/chirper/chirper/pkg/server"
	"github.com/chirper/chirper/pkg/storetest"
)

// testConfig is the default configuration on loopback ports chosen by the
// system.
func testConfig(tb testing.TB) *config.Config {
	tb.Helper()
	for _, k := range []string{"CHIRPER_HTTP_ADDR", "CHIRPER_ADMIN_ADDR"} {
		tb.Setenv(k, "127.0.0.1:0")
	}
	cfg, err := config.Load(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	cfg.ShutdownGrace = 5 * time.Second
	return cfg
}

// serve opens and serves s, returning a channel that yields Serve's result.
func serve(tb testing.TB, ctx context.Context, s *server.Server) <-chan error {
	tb.Helper()
	if err := s.Open(); err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	return done
}

func get(url string, c *http.Client) (int, error) {
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestGracefulShutdown(t *testing.T) {
	cfg := testConfig(t)
	cfg.ShutdownDelay = 400 * time.Millisecond
	entered := make(chan struct{})
	var closed atomic.Bool
	app := server.App{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(entered)
			time.Sleep(700 * time.Millisecond)
			io.WriteString(w, "finished")
		}),
		Ready: func(context.Context) error { return nil },
		Close: func() error { closed.Store(true); return nil },
	}
	s := server.New(cfg, quiet, prometheus.NewRegistry(), app)
	ctx, cancel := context.WithCancel(context.Background())
	done := serve(t, ctx, s)
	base := "http://" + s.Addr().String()
	if code, err := get(base+"/readyz", nil); err != nil || code != http.StatusOK {
		t.Fatalf("readyz before shutdown: %d %v", code, err)
	}

	type result struct {
		body string
		err  error
	}
	slow := make(chan result, 1)
	go func() {
		resp, err := http.Get(base + "/slow")
		if err != nil {
			slow <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		slow <- result{string(b), err}
	}()
	<-entered
	cancel() // what SIGTERM does through signal.NotifyContext

	// Readiness fails first, while the listener is still open.
	deadline := time.Now().Add(cfg.ShutdownDelay)
	sawNotReady := false
	for time.Now().Before(deadline) && !sawNotReady {
		code, err := get(base+"/readyz", nil)
		sawNotReady = err == nil && code == http.StatusServiceUnavailable
	}
	if !sawNotReady {
		t.Fatal("readyz did not fail during the shutdown delay")
	}
	if r := <-slow; r.err != nil || r.body != "finished" {
		t.Fatalf("the in-flight request: %q, %v", r.body, r.err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if !closed.Load() {
		t.Fatal("the app was not closed")
	}
	if _, err := get(base+"/healthz", nil); err == nil {
		t.Fatal("still serving after shutdown")
	}
}

// TestGraceExceeded: a request still running after the grace period has
// its context cancelled, and the app (its database) closes only once the
// handler has returned.
func TestGraceExceeded(t *testing.T) {
	cfg := testConfig(t)
	cfg.ShutdownGrace = 100 * time.Millisecond
	entered := make(chan struct{})
	var handlerReturned atomic.Bool
	closedAfterHandler := make(chan bool, 1)
	s := server.New(cfg, quiet, prometheus.NewRegistry(), server.App{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(entered)
			<-r.Context().Done()
			time.Sleep(200 * time.Millisecond) // a store call unwinding
			handlerReturned.Store(true)
		}),
		Ready: func(context.Context) error { return nil },
		Close: func() error {
			closedAfterHandler <- handlerReturned.Load()
			return nil
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := serve(t, ctx, s)
	go http.Get("http://" + s.Addr().String() + "/stuck")
	<-entered
	cancel()
	if err := <-done; err == nil || !strings.Contains(err.Error(), "grace period") {
		t.Fatalf("Serve = %v, want a grace period error", err)
	}
	if !<-closedAfterHandler {
		t.Fatal("the app closed while a handler was still running")
	}
}

// TestDrainEndsKeepAlive: during the shutdown delay, answers close their
// connection, so that a client does not send its next request on a
// connection that is about to close.
func TestDrainEndsKeepAlive(t *testing.T) {
	cfg := testConfig(t)
	cfg.ShutdownDelay = 2 * time.Second
	s := server.New(cfg, quiet, prometheus.NewRegistry(), server.App{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }),
		Ready:   func(context.Context) error { return nil },
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := serve(t, ctx, s)
	url := "http://" + s.Addr().String() + "/chirps"
	c := &http.Client{Transport: &http.Transport{}}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.Close {
		t.Fatal("a connection closed before the shutdown")
	}
	cancel()
	for range 100 { // until the drain has begun
		if code, _ := get("http://"+s.Addr().String()+"/readyz", nil); code == http.StatusServiceUnavailable {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	resp, err = c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !resp.Close {
		t.Fatalf("during the drain: status %d, Connection: close %v; want 200 and close", resp.StatusCode, resp.Close)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestTLS(t *testing.T) {
	cfg := testConfig(t)
	cfg.TLSCertFile, cfg.TLSKeyFile = writeCert(t)
	s := server.New(cfg, quiet, prometheus.NewRegistry(), server.App{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Proto) }),
		Ready:   func(context.Context) error { return nil },
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	serve(t, ctx, s)

	pool := x509.NewCertPool()
	pemBytes, _ := os.ReadFile(cfg.TLSCertFile)
	pool.AppendCertsFromPEM(pemBytes)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	resp, err := c.Get("https://" + s.Addr().String() + "/hello")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.ProtoMajor != 2 || string(body) != "HTTP/2.0" {
		t.Fatalf("proto %s, body %q; want HTTP/2", resp.Proto, body)
	}
	// Plain HTTP to the TLS port is refused by net/http, never served.
	if code, err := get("http://"+s.Addr().String()+"/hello", nil); err == nil && code != http.StatusBadRequest {
		t.Fatalf("plain HTTP on the TLS port: %d", code)
	}
}

// writeCert writes a self-signed certificate for 127.0.0.1.
func writeCert(tb testing.TB) (certFile, keyFile string) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "chirper test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
	return certFile, keyFile
}

func TestPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := testConfig(t)
	cfg.HTTPAddr = ln.Addr().String()
	s := server.New(cfg, quiet, prometheus.NewRegistry(), server.App{Handler: http.NotFoundHandler(), Ready: func(context.Context) error { return nil }})
	if err := s.Open(); err == nil {
		t.Fatal("Open on a taken port succeeded")
	}
}

func TestReadinessFollowsTheDatabase(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	cfg := testConfig(t)
	cfg.DatabaseURL = dsn
	ctx := context.Background()
	st, err := server.OpenStores(ctx, cfg, server.Binary{Name: "standalone", Standalone: true}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	s := server.New(cfg, quiet, prometheus.NewRegistry(), server.App{Handler: http.NotFoundHandler(), Ready: st.Ping, Close: st.Close})
	sctx, cancel := context.WithCancel(ctx)
	done := serve(t, sctx, s)
	defer func() { cancel(); <-done }()
	base := "http://" + s.Addr().String()
	if code, err := get(base+"/readyz", nil); err != nil || code != http.StatusOK {
		t.Fatalf("readyz: %d %v", code, err)
	}

	// The database goes away.
	admin, err := postgres.Open(ctx, pgtest.URL(t), postgres.Options{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if _, err := admin.ExecContext(ctx, "DROP DATABASE "+pq.QuoteIdentifier(name)+" WITH (FORCE)"); err != nil {
		t.Fatal(err)
	}
	if code, err := get(base+"/readyz", nil); err != nil || code != http.StatusServiceUnavailable {
		t.Fatalf("readyz with the database gone: %d %v, want 503", code, err)
	}
	if code, _ := get(base+"/healthz", nil); code != http.StatusOK {
		t.Fatalf("healthz with the database gone: %d, want 200 (the process lives)", code)
	}
}

func TestServiceRefusesOldSchema(t *testing.T) {
	cfg := testConfig(t)
	cfg.DatabaseURL = pgtest.NewDatabase(t) // empty: never migrated
	_, err := server.OpenStores(context.Background(), cfg, server.Binary{Name: "users"}, quiet)
	if err == nil || !strings.Contains(err.Error(), "migrate") {
		t.Fatalf("OpenStores on an unmigrated database = %v, want advice to migrate", err)
	}
	cfg.DatabaseURL = "sqlite:" + filepath.Join(t.TempDir(), "x.db")
	if _, err := server.OpenStores(context.Background(), cfg, server.Binary{Name: "users"}, quiet); err == nil || !strings.Contains(err.Error(), "PostgreSQL") {
		t.Fatalf("a service on SQLite = %v, want a refusal", err)
	}
}

// TestReadReplica: with CHIRPER_DATABASE_READ_URL the read groups' chirps
// come from the replica, everything else from the primary. Two separate
// databases stand in for a primary and its replica, so the test can tell
// which one a read went to.
func TestReadReplica(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	primary, replica := pgtest.NewDatabase(t), pgtest.NewDatabase(t)
	for _, dsn := range []string{primary, replica} {
		db, err := postgres.Open(ctx, dsn, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	cfg.DatabaseURL, cfg.DatabaseReadURL = primary, replica
	st, err := server.OpenStores(ctx, cfg, server.Binary{Name: "list-chirps"}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u := storetest.MustCreateUser(t, st.Users, "writer")
	storetest.MustCreateChirp(t, st.Chirps, u.ID, "on the primary")
	onPrimary, err := st.Chirps.CountChirps(ctx, chirper.ChirpFilter{})
	if err != nil {
		t.Fatal(err)
	}
	onReplica, err := st.ReadChirps.CountChirps(ctx, chirper.ChirpFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if onPrimary != 1 || onReplica != 0 {
		t.Fatalf("primary %d, replica %d: reads did not go to the replica", onPrimary, onReplica)
	}
	if err := st.Ping(ctx); err != nil {
		t.Fatalf("Ping with both pools: %v", err)
	}
}

// TestHealthcheckFlag: `-healthcheck` probes the local /healthz, so that a
// container health check needs neither shell nor curl.
func TestHealthcheckFlag(t *testing.T) {
	cfg := testConfig(t)
	s := server.New(cfg, quiet, prometheus.NewRegistry(), server.App{Handler: http.NotFoundHandler(), Ready: func(context.Context) error { return nil }})
	ctx, cancel := context.WithCancel(context.Background())
	done := serve(t, ctx, s)
	t.Setenv("CHIRPER_HTTP_ADDR", s.Addr().String())
	b := server.Binary{Name: "get-chirp", Groups: []string{"get-chirp"}}
	var out strings.Builder
	if err := server.Run(context.Background(), b, []string{"-healthcheck"}, &out, &out); err != nil {
		t.Fatalf("healthcheck of a live server: %v", err)
	}
	cancel()
	<-done
	if err := server.Run(context.Background(), b, []string{"-healthcheck"}, &out, &out); err == nil {
		t.Fatal("healthcheck of a stopped server succeeded")
	}
}

// TestHealthcheckSkipsSSM: the health check runs every few seconds and must
// not call SSM; a CHIRPER_SSM_PATH with nowhere to reach is not touched.
func TestHealthcheckSkipsSSM(t *testing.T) {
	cfg := testConfig(t)
	s := server.New(cfg, quiet, prometheus.NewRegistry(), server.App{Handler: http.NotFoundHandler(), Ready: func(context.Context) error { return nil }})
	ctx, cancel := context.WithCancel(context.Background())
	done := serve(t, ctx, s)
	defer func() { cancel(); <-done }()
	t.Setenv("CHIRPER_HTTP_ADDR", s.Addr().String())
	t.Setenv("CHIRPER_SSM_PATH", "/chirper/test/get-chirp")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	b := server.Binary{Name: "get-chirp", Groups: []string{"get-chirp"}}
	var out strings.Builder
	if err := server.Run(context.Background(), b, []string{"-healthcheck"}, &out, &out); err != nil {
		t.Fatalf("healthcheck with SSM configured: %v", err)
	}
}
