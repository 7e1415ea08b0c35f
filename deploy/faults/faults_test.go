//go:build faults

package faults_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/lib/pq"

	"github.com/chirper/chirper/pkg/client"
	"github.com/chirper/chirper/pkg/postgres/pgtest"
)

func someTags(n int) []string { return []string{fmt.Sprint("t", n%7)} }

// TestKillMidLoad stops the server in the middle of a write load, then
// starts it again on the same data: every chirp it acknowledged is there,
// and no answer was a 5xx other than 503.
func TestKillMidLoad(t *testing.T) {
	for _, tc := range []struct {
		name     string
		postgres bool
		sig      syscall.Signal
	}{
		{"SIGTERMOnPostgreSQL", true, syscall.SIGTERM},
		{"SIGTERMOnSQLite", false, syscall.SIGTERM},
		{"SIGKILLOnSQLite", false, syscall.SIGKILL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"CHIRPER_DATA_DIR": t.TempDir()}
			if tc.postgres {
				env["CHIRPER_DATABASE_URL"] = pgtest.NewDatabase(t)
			}
			p := start(t, env)
			tokens := users(t, p.URL, 8)
			led := newLedger()
			ctx, cancel := context.WithCancel(context.Background())
			wg := led.write(ctx, p.URL, tokens, 32, someTags)
			time.Sleep(2 * time.Second)
			exitErr := p.stop(t, tc.sig)
			cancel()
			wg.Wait()
			if tc.sig == syscall.SIGTERM && exitErr != nil {
				t.Fatalf("the server's exit after SIGTERM: %v", exitErr)
			}
			led.check(t)
			led.verify(t, start(t, env).URL)
		})
	}
}

// TestPostgresOutage takes PostgreSQL away for 5 s under a write load:
// every failure is a 503 with Retry-After, writes succeed again within 1 s
// of PostgreSQL's return, nothing acknowledged is lost, and no connection
// is left idle in a transaction.
func TestPostgresOutage(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	p := start(t, map[string]string{"CHIRPER_DATABASE_URL": dbURL, "CHIRPER_DATA_DIR": t.TempDir()})
	tokens := users(t, p.URL, 8)
	led := newLedger()
	ctx, cancel := context.WithCancel(context.Background())
	wg := led.write(ctx, p.URL, tokens, 16, someTags)
	time.Sleep(time.Second)
	pgCtl(t, "stop")
	time.Sleep(5 * time.Second)
	pgCtl(t, "start")
	back := time.Now()
	var firstAck time.Time
	for deadline := back.Add(15 * time.Second); firstAck.IsZero() && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		led.mu.Lock()
		for _, at := range led.ackTimes {
			if at.After(back) && (firstAck.IsZero() || at.Before(firstAck)) {
				firstAck = at
			}
		}
		led.mu.Unlock()
	}
	time.Sleep(time.Second)
	cancel()
	wg.Wait()
	led.check(t)
	if led.statuses[http.StatusServiceUnavailable] == 0 {
		t.Fatal("no 503 during the outage: the load did not see it")
	}
	if firstAck.IsZero() {
		t.Fatal("no chirp was acknowledged within 15 s of PostgreSQL's return")
	}
	t.Logf("first acknowledgement %v after PostgreSQL was back; %d answers were 503", firstAck.Sub(back).Round(time.Millisecond), led.statuses[503])
	if firstAck.Sub(back) > time.Second {
		t.Fatalf("the first acknowledgement came %v after PostgreSQL was back, want within 1s", firstAck.Sub(back))
	}
	led.verify(t, p.URL)

	db, err := sql.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var idle int
	if err := db.QueryRow(`SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND state LIKE 'idle in transaction%'`).Scan(&idle); err != nil {
		t.Fatal(err)
	}
	if idle != 0 {
		t.Fatalf("%d connections are idle in a transaction", idle)
	}
}

// TestHotTags: 64 writers on 5 tags for 20 s: no deadlock, no error.
func TestHotTags(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	p := start(t, map[string]string{"CHIRPER_DATABASE_URL": dbURL, "CHIRPER_DATA_DIR": t.TempDir()})
	db, err := sql.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadlocks := func() (n int64) {
		t.Helper()
		if _, err := db.Exec(`SELECT pg_stat_clear_snapshot()`); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(`SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := deadlocks()
	tokens := users(t, p.URL, 16)
	hot := func(n int) []string { return []string{fmt.Sprint("hot", n%5), fmt.Sprint("hot", (n+1+n/5)%5)} }
	led := newLedger()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	led.write(ctx, p.URL, tokens, 64, hot).Wait()
	led.check(t)
	if len(led.statuses) != 1 || led.statuses[http.StatusCreated] == 0 || led.transport != 0 {
		t.Fatalf("answers %v, %d without an answer; want only 201s", led.statuses, led.transport)
	}
	time.Sleep(1500 * time.Millisecond) // backends report their statistics at most once a second
	if after := deadlocks(); after != before {
		t.Fatalf("%d deadlocks", after-before)
	}
	t.Logf("%d chirps on 5 tags in 20 s (%.0f/s), p50 %v, p99 %v, 0 deadlocks", led.statuses[201], float64(led.statuses[201])/20,
		percentile(led.latencies, 0.5).Round(time.Microsecond), percentile(led.latencies, 0.99).Round(time.Microsecond))
}

// TestSlowloris: 300 connections that send their headers a byte at a time
// do not slow a normal client down: its p99 stays within 5× its p99
// without them.
func TestSlowloris(t *testing.T) {
	p := start(t, map[string]string{"CHIRPER_DATA_DIR": t.TempDir()})
	tok := users(t, p.URL, 1)[0]
	ctx := context.Background()
	c, err := client.New(p.URL, nil).WithToken(tok).CreateChirp(ctx, client.NewChirp{Message: "read me"})
	if err != nil {
		t.Fatal(err)
	}
	measure := func() time.Duration {
		var (
			mu  sync.Mutex
			lat []time.Duration
			wg  sync.WaitGroup
		)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				hc := &http.Client{Timeout: 10 * time.Second}
				for range 500 {
					start := time.Now()
					resp, err := hc.Get(p.URL + "/v1/chirps/" + c.ID)
					if err != nil {
						t.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						t.Errorf("status %d", resp.StatusCode)
						return
					}
					mu.Lock()
					lat = append(lat, time.Since(start))
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		return percentile(lat, 0.99)
	}
	measure() // warm up
	without := measure()

	addr := strings.TrimPrefix(p.URL, "http://")
	slowCtx, stopSlow := context.WithCancel(ctx)
	var open atomic.Int32
	var wg sync.WaitGroup
	for range 300 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for slowCtx.Err() == nil {
				conn, err := net.Dial("tcp", addr)
				if err != nil {
					time.Sleep(100 * time.Millisecond)
					continue
				}
				open.Add(1)
				_, err = io.WriteString(conn, "GET /v1/chirps HTTP/1.1\r\nHost: slow\r\n")
				for err == nil && slowCtx.Err() == nil {
					time.Sleep(500 * time.Millisecond)
					_, err = io.WriteString(conn, "X-Slow: 1\r\n")
				}
				open.Add(-1)
				conn.Close()
			}
		}()
	}
	for deadline := time.Now().Add(10 * time.Second); open.Load() < 300; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d slow connections opened", open.Load())
		}
	}
	with := measure()
	stopSlow()
	wg.Wait()
	// A floor of 1 ms: below it a p99 is the scheduler's noise.
	base := max(without, time.Millisecond)
	t.Logf("normal client's p99: %v without, %v with 300 slow connections (%.2f×)", without, with, float64(with)/float64(base))
	if with > 5*base {
		t.Fatalf("p99 %v with slow connections is more than 5× %v", with, base)
	}
}

// TestLimiterMemory floods login with 50,000 junk usernames (1 KiB each)
// and 2,000 real-looking unknown ones, with the per-address limit off as
// behind a load balancer: memory grows by a bounded amount, the junk never
// becomes a limiter key, and the keys and the heap go back after the window.
func TestLimiterMemory(t *testing.T) {
	p := start(t, map[string]string{
		"CHIRPER_DATA_DIR":                 t.TempDir(),
		"CHIRPER_LOGIN_LIMIT_PER_USERNAME": "10",
		"CHIRPER_LOGIN_LIMIT_PER_ADDRESS":  "0",
		"CHIRPER_RATE_LIMIT_WINDOW":        "2s",
	})
	const keys = `chirper_rate_limit_keys{limit="login_per_username"}`
	heapAfterGC := func() float64 {
		resp, err := http.Get(p.Admin + "/debug/pprof/heap?gc=1")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return p.metric(t, "go_memstats_heap_inuse_bytes")
	}
	rss0, heap0 := p.rss(t), heapAfterGC()

	var peak atomic.Int64
	peak.Store(rss0)
	sampling, stopSampling := context.WithCancel(context.Background())
	go func() {
		for sampling.Err() == nil {
			if r := p.rss(t); r > peak.Load() {
				peak.Store(r)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	login := func(names func(i int) string, n int) map[int]int {
		var (
			mu       sync.Mutex
			statuses = map[int]int{}
			wg       sync.WaitGroup
			next     atomic.Int64
		)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				hc := &http.Client{Timeout: 10 * time.Second}
				for i := int(next.Add(1)); i <= n; i = int(next.Add(1)) {
					body := `{"username":"` + names(i) + `","password":"whatever1"}`
					resp, err := hc.Post(p.URL+"/v1/auth/login", "application/json", bytes.NewBufferString(body))
					if err != nil {
						t.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					mu.Lock()
					statuses[resp.StatusCode]++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		return statuses
	}
	junk := strings.Repeat("J", 1000)
	if got := login(func(i int) string { return fmt.Sprint(junk, i) }, 50_000); len(got) != 1 || got[401] != 50_000 {
		t.Fatalf("junk logins answered %v, want 50000 × 401", got)
	}
	if n := p.metric(t, keys); n != 0 {
		t.Fatalf("the per-username limiter counts %v keys after junk usernames, want 0", n)
	}
	if got := login(func(i int) string { return fmt.Sprint("nobody_", i) }, 2_000); got[401] != 2_000 {
		t.Fatalf("unknown-user logins answered %v, want 2000 × 401", got)
	}
	counted := p.metric(t, keys)
	stopSampling()
	growth := peak.Load() - rss0
	t.Logf("RSS %d MB before, peak %d MB (+%d MB) after 52,000 logins; %v keys counted", rss0>>20, peak.Load()>>20, growth>>20, counted)
	if counted == 0 || counted > 2000 {
		t.Fatalf("%v keys counted for 2,000 real-looking usernames", counted)
	}
	const bound = 32 << 20
	if growth > bound {
		t.Fatalf("RSS grew by %d MB, more than %d MB", growth>>20, bound>>20)
	}
	// The window is 2 s and a timer sweeps once a window: a quiet server
	// forgets every key and gives the heap back.
	for deadline := time.Now().Add(10 * time.Second); p.metric(t, keys) != 0; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%v keys still counted 10 s after the flood", p.metric(t, keys))
		}
	}
	heap1 := heapAfterGC()
	t.Logf("heap in use after GC: %.1f MB before the flood, %.1f MB after the window", heap0/(1<<20), heap1/(1<<20))
	if heap1 > heap0+8<<20 {
		t.Fatalf("the heap kept %.1f MB after the window", (heap1-heap0)/(1<<20))
	}
}
