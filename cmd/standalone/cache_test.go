package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"net/http"
	"testing"
	"time"

	"github.com/chirper/chirper/pkg/apitest"
	"github.com/chirper/chirper/pkg/auth"
	"github.com/chirper/chirper/pkg/client"
	"github.com/chirper/chirper/pkg/postgres/pgtest"
)

// invalidationBound is how soon a change made on one instance must show on
// every other (DESIGN.md: caches are never wrong for longer).
const invalidationBound = 100 * time.Millisecond

// within polls ok until it holds and fails the test unless it did within
// the invalidation bound of since.
func within(t *testing.T, what string, since time.Time, ok func() bool) {
	t.Helper()
	for !ok() {
		if time.Since(since) > 5*time.Second {
			t.Fatalf("%s: still not seen after 5s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
	if took := time.Since(since); took > invalidationBound {
		t.Fatalf("%s: seen after %v, want within %v", what, took, invalidationBound)
	}
}

// instancePair is two standalones on one PostgreSQL database.
type instancePair struct {
	a, b       *standalone
	onA, onB   *client.Client
	db         *sql.DB
	registered func(name string) (*client.Client, *client.Client)
}

func startPair(t *testing.T) *instancePair {
	ctx := context.Background()
	dbURL := pgtest.NewDatabase(t)
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pemKey, err := auth.MarshalPrivateKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"CHIRPER_DATABASE_URL": dbURL, "CHIRPER_SIGNING_KEY": string(pemKey)}
	p := &instancePair{a: startStandalone(t, env), b: startStandalone(t, env)}
	p.hearChanges(t)
	p.onA = client.New(p.a.URL, apitest.ValidatingClient(t, p.a.URL))
	p.onB = client.New(p.b.URL, apitest.ValidatingClient(t, p.b.URL))
	if p.db, err = sql.Open("postgres", dbURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.db.Close() })
	// registered registers a user and returns its clients on A and on B.
	p.registered = func(name string) (*client.Client, *client.Client) {
		t.Helper()
		if _, err := p.onA.Register(ctx, client.Registration{Username: name, Password: "long enough"}); err != nil {
			t.Fatal(err)
		}
		tok, err := p.onA.Login(ctx, name, "long enough")
		if err != nil {
			t.Fatal(err)
		}
		return p.onA.WithToken(tok.AccessToken), p.onB.WithToken(tok.AccessToken)
	}
	return p
}

// hearChanges waits until both instances hear the database's changes:
// ready before their listening connections are up, they bypass their
// caches and refuse live streams until then.
func (p *instancePair) hearChanges(t *testing.T) {
	t.Helper()
	for _, s := range []*standalone{p.a, p.b} {
		deadline := time.Now().Add(10 * time.Second)
		for apitest.Metric(t, s.Admin, "chirper_changes_heard") != 1 {
			if time.Now().After(deadline) {
				t.Fatalf("%s does not hear the database's changes after 10 s", s.URL)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// killListeners ends both instances' listening connections.
func (p *instancePair) killListeners(t *testing.T) {
	t.Helper()
	var n int
	if err := p.db.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN%'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("killed %d listening connections, want the 2 instances'", n)
	}
}

// TestCachesAcrossInstances runs two standalones on one PostgreSQL
// database: what one changes, the other's caches drop within the bound,
// also after its listening connection was killed; a role counts at once.
func TestCachesAcrossInstances(t *testing.T) {
	ctx := context.Background()
	p := startPair(t)
	b, onB, db, account := p.b, p.onB, p.db, p.registered
	status := func(err error) int {
		if err == nil {
			return http.StatusOK
		}
		if p, ok := err.(*client.Problem); ok {
			return p.Status
		}
		t.Fatal(err)
		return 0
	}
	// cachedOnB reads the chirp on B twice, and checks that the second
	// read came from B's cache.
	cachedOnB := func(id string) {
		t.Helper()
		hits := apitest.Metric(t, b.Admin, `chirper_cache_hits_total{cache="chirps"}`)
		for range 2 {
			if _, err := onB.GetChirp(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		if got := apitest.Metric(t, b.Admin, `chirper_cache_hits_total{cache="chirps"}`); got != hits+1 {
			t.Fatalf("chirp cache hits went from %v to %v, want one more", hits, got)
		}
	}
	killListeners := func() { p.killListeners(t) }

	t.Run("RoleChange", func(t *testing.T) {
		_, bob := account("bob")
		for range 2 {
			if _, err := bob.CountChirps(ctx, client.Filter{}); status(err) != http.StatusForbidden {
				t.Fatalf("before the grant: %v", err)
			}
		}
		if apitest.Metric(t, b.Admin, `chirper_cache_hits_total{cache="users"}`) == 0 {
			t.Fatal("B did not answer bob from its user cache")
		}
		admin, _ := account("boss")
		if _, err := db.Exec(`UPDATE users SET role = 'admin' WHERE username = 'boss'`); err != nil {
			t.Fatal(err)
		}
		// A role counts at once on every instance, not once the change
		// reaches B's cache: admin decisions read past it. To make "before
		// B hears of it" certain rather than likely, the changes go unheard.
		if _, err := db.Exec(`ALTER TABLE users DISABLE TRIGGER users_notify_change`); err != nil {
			t.Fatal(err)
		}
		for _, step := range []struct {
			role string
			want int
		}{{"admin", http.StatusOK}, {"user", http.StatusForbidden}, {"admin", http.StatusOK}} {
			if _, err := db.Exec(`UPDATE users SET role = $1 WHERE username = 'bob'`, step.role); err != nil {
				t.Fatal(err)
			}
			if _, err := bob.CountChirps(ctx, client.Filter{}); status(err) != step.want {
				t.Fatalf("bob counting on B right after becoming %s: %v, want %d", step.role, err, step.want)
			}
		}
		if _, err := db.Exec(`ALTER TABLE users ENABLE TRIGGER users_notify_change`); err != nil {
			t.Fatal(err)
		}
		if _, err := admin.SetRole(ctx, "bob", "user"); err != nil {
			t.Fatal(err)
		}
		if _, err := bob.CountChirps(ctx, client.Filter{}); status(err) != http.StatusForbidden {
			t.Fatalf("bob counting on B right after A made him a user: %v", err)
		}
	})

	t.Run("ChirpDeleted", func(t *testing.T) {
		carolA, _ := account("carol")
		c, err := carolA.CreateChirp(ctx, client.NewChirp{Message: "soon gone"})
		if err != nil {
			t.Fatal(err)
		}
		cachedOnB(c.ID)
		start := time.Now()
		if err := carolA.DeleteChirp(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		within(t, "the deleted chirp on B", start, func() bool {
			_, err := onB.GetChirp(ctx, c.ID)
			return status(err) == http.StatusNotFound
		})
	})

	t.Run("AuthorDeleted", func(t *testing.T) {
		daveA, daveB := account("dave")
		c, err := daveA.CreateChirp(ctx, client.NewChirp{Message: "my last chirp"})
		if err != nil {
			t.Fatal(err)
		}
		cachedOnB(c.ID)
		if _, err := daveB.CountChirps(ctx, client.Filter{}); status(err) != http.StatusForbidden {
			t.Fatal(err) // B now caches dave as a user
		}
		start := time.Now()
		if err := daveA.DeleteMe(ctx, "long enough"); err != nil {
			t.Fatal(err)
		}
		within(t, "the deleted author's chirp on B", start, func() bool {
			_, err := onB.GetChirp(ctx, c.ID)
			return status(err) == http.StatusNotFound
		})
		within(t, "the deleted user's token on B", start, func() bool {
			_, err := daveB.CreateChirp(ctx, client.NewChirp{Message: "from beyond"})
			return status(err) == http.StatusUnauthorized
		})
	})

	t.Run("NewChirpInFirstPages", func(t *testing.T) {
		frankA, _ := account("frank")
		filter := client.Filter{Tags: []string{"fresh"}}
		hits := apitest.Metric(t, b.Admin, `chirper_cache_hits_total{cache="pages"}`)
		for range 2 {
			if _, err := onB.ListChirps(ctx, filter); err != nil {
				t.Fatal(err)
			}
		}
		if got := apitest.Metric(t, b.Admin, `chirper_cache_hits_total{cache="pages"}`); got != hits+1 {
			t.Fatalf("page cache hits went from %v to %v, want one more", hits, got)
		}
		start := time.Now()
		c, err := frankA.CreateChirp(ctx, client.NewChirp{Message: "a #fresh one"})
		if err != nil {
			t.Fatal(err)
		}
		within(t, "a new chirp in B's first page", start, func() bool {
			page, err := onB.ListChirps(ctx, filter)
			if err != nil {
				t.Fatal(err)
			}
			return len(page.Chirps) > 0 && page.Chirps[0].ID == c.ID
		})
	})

	t.Run("IdempotentPostOnAnotherInstance", func(t *testing.T) {
		graceA, graceB := account("grace")
		first, err := graceA.WithIdempotencyKey("retry-me").CreateChirp(ctx, client.NewChirp{Message: "posted once"})
		if err != nil {
			t.Fatal(err)
		}
		again, err := graceB.WithIdempotencyKey("retry-me").CreateChirp(ctx, client.NewChirp{Message: "posted once"})
		if err != nil || again.ID != first.ID {
			t.Fatalf("the retry on B: %+v, %v; want chirp %s again", again, err, first.ID)
		}
	})

	t.Run("AfterTheListenerWasKilled", func(t *testing.T) {
		erinA, _ := account("erin")
		c, err := erinA.CreateChirp(ctx, client.NewChirp{Message: "outlives a listener"})
		if err != nil {
			t.Fatal(err)
		}
		cachedOnB(c.ID)
		killListeners()
		// While B listens again, its caches are empty and bypassed; after,
		// they are live: either way the deletion shows within the bound.
		start := time.Now()
		if err := erinA.DeleteChirp(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		within(t, "a chirp deleted while B's listener was down", start, func() bool {
			_, err := onB.GetChirp(ctx, c.ID)
			return status(err) == http.StatusNotFound
		})
		again, err := erinA.CreateChirp(ctx, client.NewChirp{Message: "after the reconnection"})
		if err != nil {
			t.Fatal(err)
		}
		var listening int
		for deadline := time.Now().Add(5 * time.Second); listening < 2; time.Sleep(10 * time.Millisecond) {
			if err := db.QueryRow(`SELECT count(*) FROM pg_stat_activity
				WHERE datname = current_database() AND query LIKE 'LISTEN%'`).Scan(&listening); err != nil {
				t.Fatal(err)
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d instances listen again after 5s, want 2", listening)
			}
		}
		time.Sleep(50 * time.Millisecond) // the listener's "reconnected" reaches the caches
		cachedOnB(again.ID)
		start = time.Now()
		if err := erinA.DeleteChirp(ctx, again.ID); err != nil {
			t.Fatal(err)
		}
		within(t, "a chirp deleted after B listens again", start, func() bool {
			_, err := onB.GetChirp(ctx, again.ID)
			return status(err) == http.StatusNotFound
		})
	})
}
