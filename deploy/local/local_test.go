package main

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chirper/chirper/pkg/apitest"
	"github.com/chirper/chirper/pkg/chirper"
	"github.com/chirper/chirper/pkg/config"
	"github.com/chirper/chirper/pkg/gateway"
	"github.com/chirper/chirper/pkg/httpapi"
	"github.com/chirper/chirper/pkg/postgres"
	"github.com/chirper/chirper/pkg/postgres/pgtest"
	"github.com/chirper/chirper/pkg/server"
)

// TestServicesBehindGateway runs the whole API contract through the gateway
// against the four services, as separate processes, on PostgreSQL: it
// passes only if the split is complete and every route reaches its owner.
func TestServicesBehindGateway(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+string(filepath.Separator), "../../cmd/services/...")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for k, v := range map[string]string{
		"CHIRPER_DATABASE_URL": dsn, "CHIRPER_BCRYPT_COST": "4", "CHIRPER_RATE_LIMIT": "0",
		"CHIRPER_LOGIN_LIMIT_PER_USERNAME": "0", "CHIRPER_LOGIN_LIMIT_PER_ADDRESS": "0",
		"CHIRPER_REGISTER_LIMIT_PER_ADDRESS": "0",
		"CHIRPER_SHUTDOWN_GRACE":             "5s", "CHIRPER_LOG_LEVEL": "warn",
	} {
		t.Setenv(k, v)
	}
	cfg, err := config.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	local, err := config.LoadLocal()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var logBuf bytes.Buffer
	logs := &lockedWriter{w: &logBuf}
	c, err := startCluster(ctx, cfg, local, bin, logs)
	if err != nil {
		t.Fatalf("%v\n%s", err, logBuf.String())
	}
	t.Cleanup(func() {
		if err := c.stop(); err != nil {
			t.Errorf("stopping the services: %v", err)
		}
		if t.Failed() {
			logs.mu.Lock()
			t.Logf("service logs:\n%s", logBuf.String())
			logs.mu.Unlock()
		}
	})
	if got := len(c.instances); got != 8 {
		t.Fatalf("%d instances, want 8 (two of each read service and of the stream)", got)
	}
	gw, err := gateway.New(c.upstreams, server.NewLogger(logs, "warn"), 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(gw)
	t.Cleanup(front.Close)

	db, err := postgres.Open(ctx, dsn, postgres.Options{MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	users := postgres.NewUserStore(db)
	apitest.Run(t, &apitest.Env{
		URL: front.URL, SigningKey: c.key, Issuer: cfg.Issuer, Audience: cfg.Audience,
		MakeAdmin: func(tb testing.TB, username string) {
			tb.Helper()
			if _, err := users.SetUserRole(ctx, username, chirper.RoleAdmin); err != nil {
				tb.Fatal(err)
			}
		},
	})

	t.Run("OneInstanceDown", func(t *testing.T) {
		// A dead read instance: its share of requests fails as a 503
		// problem, never a hang or an HTML page, and the other instance
		// still serves.
		victim := c.instances[slices.IndexFunc(c.instances, func(i *instance) bool { return i.group == httpapi.GroupGetChirp })]
		if err := victim.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-victim.exited
		victim.exited <- nil
		statuses := map[int]int{}
		client := apitest.ValidatingClient(t, front.URL)
		for range 6 {
			resp, err := client.Get(front.URL + "/v1/chirps/1")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			statuses[resp.StatusCode]++
		}
		if statuses[503] == 0 || statuses[503] == 6 {
			t.Fatalf("statuses %v: want some 503 from the dead instance and answers from the live one", statuses)
		}
	})
}

func TestGatewayConfigErrors(t *testing.T) {
	if _, err := parseUpstreams(map[string]string{"users": "not a url"}); err == nil {
		t.Error("a bad upstream URL accepted")
	}
	up, err := parseUpstreams(map[string]string{"list-chirps": "http://a:8080 http://b:8080"})
	if err != nil || len(up["list-chirps"]) != 2 {
		t.Fatalf("two instances of one group: %v %v", up, err)
	}
	// Every group of the routing table needs an upstream.
	if _, err := gateway.New(up, server.NewLogger(io.Discard, "info"), time.Second); err == nil || !strings.Contains(err.Error(), "no upstream") {
		t.Fatalf("gateway without every group: %v", err)
	}
	t.Setenv("CHIRPER_READ_INSTANCES", "0")
	if _, err := config.LoadLocal(); err == nil {
		t.Error("zero read instances accepted")
	}
}
