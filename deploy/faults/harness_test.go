//go:build faults

// Package faults_test is Chirper's fault suite (make test-faults): the real
// standalone binary under load from a client that keeps a ledger of every
// chirp it was told is stored, while the suite kills the server, takes
// PostgreSQL away, piles writers on a few tags, holds slow connections and
// floods the login limiter. Every load goes to 127.0.0.1 and is bounded in
// time.
package faults_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chirper/chirper/pkg/apitest"
	"github.com/chirper/chirper/pkg/client"
	"github.com/chirper/chirper/pkg/server"
)

// binary is the standalone, built once for the suite.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "chirper-faults")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "standalone")
	build := exec.Command("go", "build", "-trimpath", "-o", binary, "../../cmd/standalone")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the standalone:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running standalone process.
type proc struct {
	URL, Admin string
	cmd        *exec.Cmd
	logPath    string
	exited     chan struct{}
	exitErr    error
}

// start runs the standalone with the suite's settings plus env, and waits
// until it is ready. It is killed when the test ends if still running.
func start(t *testing.T, env map[string]string) *proc {
	t.Helper()
	vars := map[string]string{
		"CHIRPER_HTTP_ADDR":                  "127.0.0.1:0",
		"CHIRPER_ADMIN_ADDR":                 "127.0.0.1:0",
		"CHIRPER_BCRYPT_COST":                "4",
		"CHIRPER_RATE_LIMIT":                 "0",
		"CHIRPER_LOGIN_LIMIT_PER_USERNAME":   "0",
		"CHIRPER_LOGIN_LIMIT_PER_ADDRESS":    "0",
		"CHIRPER_REGISTER_LIMIT_PER_ADDRESS": "0",
	}
	for k, v := range env {
		vars[k] = v
	}
	cmd := exec.Command(binary, "serve")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CHIRPER_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	logPath := filepath.Join(t.TempDir(), "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		p.exitErr = cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("server log (last 4 KiB):\n%s", tail(b, 4<<10))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for p.URL == "" {
		select {
		case <-p.exited:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("the server exited before it served: %v\n%s", p.exitErr, b)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the server did not log its addresses within 30s")
		}
		b, _ := os.ReadFile(logPath)
		for _, line := range bytes.Split(b, []byte("\n")) {
			if addr, admin, ok := server.ServingAddrs(line); ok {
				p.URL, p.Admin = "http://"+addr, "http://"+admin
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	for {
		if resp, err := http.Get(p.URL + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the server was not ready within 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// stop signals the process and waits for it to exit.
func (p *proc) stop(t *testing.T, sig syscall.Signal) error {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
		return p.exitErr
	case <-time.After(60 * time.Second):
		t.Fatalf("the server did not exit within 60s of %v", sig)
		return nil
	}
}

// rss is the process's resident memory in bytes.
func (p *proc) rss(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// metric reads one sample of the admin listener's /metrics.
func (p *proc) metric(t *testing.T, name string) float64 {
	t.Helper()
	return apitest.Metric(t, p.Admin, name)
}

// users registers n users and returns their access tokens.
func users(t *testing.T, base string, n int) []string {
	t.Helper()
	ctx := context.Background()
	c := client.New(base, nil)
	tokens := make([]string, n)
	for i := range tokens {
		name := fmt.Sprintf("writer_%d_%d", i, time.Now().UnixNano()%1e6)
		if _, err := c.Register(ctx, client.Registration{Username: name, Password: "ledger password"}); err != nil {
			t.Fatal(err)
		}
		tok, err := c.Login(ctx, name, "ledger password")
		if err != nil {
			t.Fatal(err)
		}
		tokens[i] = tok.AccessToken
	}
	return tokens
}

// ledger is what a load client was told: every acknowledged chirp, and
// every other answer.
type ledger struct {
	mu        sync.Mutex
	acked     map[string]string // chirp id: message
	ackTimes  []time.Time
	statuses  map[int]int
	bad       []string // answers the suite never accepts
	transport int      // requests that got no answer (the server was gone)
	latencies []time.Duration
}

func newLedger() *ledger {
	return &ledger{acked: map[string]string{}, statuses: map[int]int{}}
}

// post sends one chirp and records the outcome.
func (l *ledger) post(c *http.Client, base, token, message string, tags []string) {
	body, _ := json.Marshal(map[string]any{"message": message, "tags": tags})
	req, _ := http.NewRequest("POST", base+"/v1/chirps", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		l.mu.Lock()
		l.transport++
		l.mu.Unlock()
		time.Sleep(5 * time.Millisecond) // the server is away: do not spin
		return
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	elapsed := time.Since(start)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.statuses[resp.StatusCode]++
	l.latencies = append(l.latencies, elapsed)
	switch {
	case resp.StatusCode == http.StatusCreated:
		var chirp struct{ ID, Message string }
		if err := json.Unmarshal(b, &chirp); err != nil || chirp.Message != message {
			l.bad = append(l.bad, fmt.Sprintf("201 with body %s", b))
			return
		}
		l.acked[chirp.ID] = message
		l.ackTimes = append(l.ackTimes, time.Now())
	case resp.StatusCode == http.StatusServiceUnavailable:
		if resp.Header.Get("Retry-After") == "" {
			l.bad = append(l.bad, "503 without Retry-After")
		}
	default:
		l.bad = append(l.bad, fmt.Sprintf("%d %s", resp.StatusCode, b))
	}
	if len(l.bad) > 20 {
		l.bad = l.bad[:20]
	}
}

// write runs writers that post chirps with tags from tagsOf until ctx ends.
func (l *ledger) write(ctx context.Context, base string, tokens []string, writers int, tagsOf func(n int) []string) *sync.WaitGroup {
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			for n := 0; ctx.Err() == nil; n++ {
				l.post(c, base, tokens[w%len(tokens)], fmt.Sprintf("ledger %d-%d #w%d", w, n, w%3), tagsOf(n))
			}
		}()
	}
	return &wg
}

// check fails the test for any answer the suite never accepts.
func (l *ledger) check(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.bad) > 0 {
		t.Fatalf("unacceptable answers (first %d): %v", len(l.bad), l.bad)
	}
	t.Logf("answers %v, no answer %d, acknowledged %d", l.statuses, l.transport, len(l.acked))
}

// verify checks that every acknowledged chirp is stored with its message.
func (l *ledger) verify(t *testing.T, base string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.acked) == 0 {
		t.Fatal("the load got no chirp acknowledged")
	}
	c := client.New(base, nil)
	ctx := context.Background()
	for id, msg := range l.acked {
		got, err := c.GetChirp(ctx, id)
		if err != nil {
			t.Fatalf("acknowledged chirp %s is lost: %v", id, err)
		}
		if got.Message != msg {
			t.Fatalf("chirp %s says %q, was acknowledged as %q", id, got.Message, msg)
		}
	}
	t.Logf("all %d acknowledged chirps are stored", len(l.acked))
}

// percentile of the recorded latencies.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// pgCtl stops or starts the test PostgreSQL server (with-postgres.sh's
// TEST_PG_CTL).
func pgCtl(t *testing.T, action string) {
	t.Helper()
	script := os.Getenv("TEST_PG_CTL")
	if script == "" {
		t.Fatal("TEST_PG_CTL is not set: run through deploy/scripts/with-postgres.sh (make test-faults does)")
	}
	out, err := exec.Command(script, action).CombinedOutput()
	if err != nil {
		t.Fatalf("pg_ctl %s: %v\n%s", action, err, out)
	}
}
