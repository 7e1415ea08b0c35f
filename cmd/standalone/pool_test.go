package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chirper/chirper/pkg/postgres/pgtest"
)

// TestClientGoneOnPostgres: a request whose client goes away while its
// query runs lets the query end for a grace of 100 ms, so that the pool
// keeps the connection; a query that outlasts the grace is cancelled, so
// that it does not hold the connection for long with no one waiting. Both
// are logged as 499. The queries wait on a lock that the test holds.
func TestClientGoneOnPostgres(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	// A database deadline far beyond the test: only the client leaving
	// can end a query.
	s := startStandalone(t, map[string]string{"CHIRPER_DATABASE_URL": dsn, "CHIRPER_DB_TIMEOUT": "1m"})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", "chirper-test") // to tell the test's connections from the server's
	u.RawQuery = q.Encode()
	db, err := sql.Open("postgres", u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// serverBackends are the standalone's connections to its database,
	// with the ones that wait on a lock.
	serverBackends := func() (all, waiting []int) {
		t.Helper()
		rows, err := db.Query(`SELECT pid, coalesce(wait_event_type, '') = 'Lock' FROM pg_stat_activity
			WHERE datname = current_database() AND application_name <> 'chirper-test' ORDER BY pid`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var pid int
			var locked bool
			if err := rows.Scan(&pid, &locked); err != nil {
				t.Fatal(err)
			}
			all = append(all, pid)
			if locked {
				waiting = append(waiting, pid)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return all, waiting
	}
	waitFor := func(what string, limit time.Duration, ok func() bool) time.Duration {
		t.Helper()
		start := time.Now()
		for !ok() {
			if time.Since(start) > limit {
				t.Fatalf("%s: not within %v", what, limit)
			}
			time.Sleep(2 * time.Millisecond)
		}
		return time.Since(start)
	}
	// lockChirps holds an exclusive lock on the chirps table until the
	// returned function is called, so that every list query waits.
	lockChirps := func() (release func()) {
		t.Helper()
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec("LOCK TABLE chirps IN ACCESS EXCLUSIVE MODE"); err != nil {
			t.Fatal(err)
		}
		return func() {
			if err := tx.Rollback(); err != nil {
				t.Fatal(err)
			}
		}
	}
	// leaving sends n list requests, each of a tag not asked before (no
	// cached page answers it), which its client abandons when leave is
	// called; it returns once their queries wait on the lock.
	var asked int
	leaving := func(n int) (leave func()) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for range n {
			asked++
			req, err := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/v1/chirps?tag=left%d", s.URL, asked), nil)
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				if resp, err := http.DefaultClient.Do(req); err == nil {
					resp.Body.Close()
					t.Errorf("the request was answered %d with the lock held", resp.StatusCode)
				}
			})
		}
		waitFor(fmt.Sprintf("%d queries waiting on the lock", n), 10*time.Second, func() bool {
			_, waiting := serverBackends()
			return len(waiting) == n
		})
		return func() { cancel(); wg.Wait() }
	}
	gone := func() int { return strings.Count(s.Logs.String(), `"route":"/v1/chirps","status":499`) }

	t.Run("QueryEndsWithinTheGrace", func(t *testing.T) {
		const n = 3
		for attempt := 1; ; attempt++ {
			release := lockChirps()
			leave := leaving(n)
			before, _ := serverBackends()
			left := time.Now()
			leave()
			time.Sleep(20 * time.Millisecond) // the server sees the clients leave
			release()
			if since := time.Since(left); since > 80*time.Millisecond {
				// The lock was held past the grace on a busy machine: the
				// queries may have been cancelled, as they should be.
				if attempt == 3 {
					t.Fatalf("could not release the lock within the grace in %d attempts (last: %v)", attempt, since)
				}
				t.Logf("attempt %d: the lock was released %v after the clients left, past the grace; again", attempt, since)
				waitFor("the 499s", 5*time.Second, func() bool { return gone() >= asked })
				continue
			}
			waitFor(fmt.Sprintf("%d access lines with 499", n), 5*time.Second, func() bool { return gone() == asked })
			time.Sleep(200 * time.Millisecond) // a closed connection's backend would be gone by now
			after, _ := serverBackends()
			for _, pid := range before {
				if !slices.Contains(after, pid) {
					t.Fatalf("backend %d is gone: the pool dropped a connection for a client that left (before %v, after %v)", pid, before, after)
				}
			}
			return
		}
	})

	t.Run("QueryOutlastsTheGrace", func(t *testing.T) {
		release := lockChirps()
		defer release()
		leave := leaving(1)
		leave()
		took := waitFor("the query cancelled", 5*time.Second, func() bool {
			_, waiting := serverBackends()
			return len(waiting) == 0
		})
		if took > 2*time.Second {
			t.Fatalf("the query was cancelled %v after its client left, want about the grace of 100 ms", took)
		}
		waitFor("its access line with 499", 5*time.Second, func() bool { return gone() == asked })
		if logs := s.Logs.String(); strings.Contains(logs, `"level":"ERROR"`) {
			t.Fatalf("a client gone was logged as an error:\n%s", logs)
		}
	})
}
