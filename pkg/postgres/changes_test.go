package postgres_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chirper/chirper/pkg/chirper"
	"github.com/chirper/chirper/pkg/postgres"
	"github.com/chirper/chirper/pkg/postgres/pgtest"
	"github.com/chirper/chirper/pkg/storetest"
)

// TestChangesReachListeners: the chirp store announces every new chirp by
// id (a batch larger than one notification holds, many writers' chirps at
// once, and a chirp written after the store's Close), and the triggers
// each follow and unfollow by its follower, to ListenForChanges.
func TestChangesReachListeners(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	ctx := t.Context()
	caches := chirper.NewCaches(false)
	var (
		mu      sync.Mutex
		newIDs  = map[int64]bool{}
		batches [][]int64
		follows []int64
	)
	caches.Register(func(ch chirper.Change) {
		mu.Lock()
		defer mu.Unlock()
		switch ch.Table {
		case chirper.NewChirps:
			batches = append(batches, ch.IDs)
			for _, id := range ch.IDs {
				newIDs[id] = true
			}
		case chirper.ChangedFollows:
			follows = append(follows, ch.ID)
		}
	}, func() {})
	listen(t, dsn, caches)

	db, err := postgres.Open(ctx, dsn, postgres.Options{MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// The store announces new chirps after their commit: a trigger would
	// NOTIFY inside the insert's transaction, which serialises every
	// writer's commit (BenchmarkCreateChirps, notify=inside).
	var insertTriggers int
	if err := db.QueryRowContext(ctx, `
		SELECT count(*) FROM pg_trigger
		WHERE tgrelid = 'chirps'::regclass AND NOT tgisinternal AND tgtype & 4 <> 0`).Scan(&insertTriggers); err != nil {
		t.Fatal(err)
	}
	if insertTriggers != 0 {
		t.Fatalf("chirps has %d insert triggers, want none", insertTriggers)
	}
	users := postgres.NewUserStore(db)
	alice := storetest.MustCreateUser(t, users, "alice")
	storetest.MustCreateUser(t, users, "bob")
	batch := make([]*chirper.Chirp, 1100)
	for i := range batch {
		batch[i] = &chirper.Chirp{AuthorID: alice.ID, Message: "one of many", Tags: []string{}}
	}
	store := postgres.NewChirpStore(db)
	if _, err := store.CreateChirps(ctx, batch, 0); err != nil {
		t.Fatal(err)
	}
	// Writers at once, whose announcements gather while one is sent; and
	// one write after Close, which announces before it returns.
	var wg sync.WaitGroup
	var written sync.Map
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				c := storetest.MustCreateChirp(t, store, alice.ID, "one of a crowd")
				written.Store(c.ID, true)
			}
		}()
	}
	wg.Wait()
	store.Close()
	last := storetest.MustCreateChirp(t, store, alice.ID, "after Close")
	written.Store(last.ID, true)
	written.Range(func(id, _ any) bool {
		batch = append(batch, &chirper.Chirp{ID: id.(int64)})
		return true
	})
	fs := postgres.NewFollowStore(db)
	if err := fs.Follow(ctx, alice.ID, "bob"); err != nil {
		t.Fatal(err)
	}
	if err := fs.Unfollow(ctx, alice.ID, "bob"); err != nil {
		t.Fatal(err)
	}

	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		got, nFollows := len(newIDs), len(follows)
		mu.Unlock()
		if got == len(batch) && nFollows == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("heard %d of %d new chirps and %d of 2 follow changes", got, len(batch), nFollows)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, c := range batch {
		if !newIDs[c.ID] {
			t.Fatalf("chirp %d was not announced", c.ID)
		}
	}
	for _, b := range batches {
		if len(b) > 500 {
			t.Fatalf("a notification of %d ids, want at most 500 (NOTIFY holds 8000 bytes)", len(b))
		}
	}
	if follows[0] != alice.ID || follows[1] != alice.ID {
		t.Fatalf("follow changes named %v, want the follower %d twice", follows, alice.ID)
	}
}

// listen has caches hear the changes of dsn's database until the test
// ends, and returns once they do.
func listen(t *testing.T, dsn string, caches *chirper.Caches) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		postgres.ListenForChanges(ctx, func(context.Context) (string, error) { return dsn, nil }, caches, slog.New(slog.NewTextHandler(io.Discard, nil)))
		close(done)
	}()
	t.Cleanup(func() { cancel(); <-done })
	for deadline := time.Now().Add(10 * time.Second); !caches.Live(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("not listening after 10s")
		}
	}
}

// TestFailedAnnouncementIsLogged: with the database gone after the commit,
// the chirps are stored and their posters told so; the announcement's
// failure is logged, with how many chirps other processes miss.
func TestFailedAnnouncementIsLogged(t *testing.T) {
	var logged bytes.Buffer
	db, err := postgres.Open(context.Background(), pgtest.NewDatabase(t), postgres.Options{
		MaxOpenConns: 1, Log: slog.New(slog.NewTextHandler(&logged, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	store := postgres.NewChirpStore(db)
	store.Close() // from here an announcement is sent before add returns
	db.Close()
	postgres.Announce(store, []int64{1, 2, 3})
	if out := logged.String(); !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "other processes were not told") || !strings.Contains(out, "chirps=3") {
		t.Fatalf("logged %q, want an error naming 3 unannounced chirps", out)
	}
}

// TestAnnouncementsGatherWhileTheAnnouncerRests: a lone announcement goes
// out at once; ids added while the announcer rests after it go out
// together, in one notification, once the rest is over; and Close cuts a
// rest short, announcing what is pending before it returns.
func TestAnnouncementsGatherWhileTheAnnouncerRests(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	ctx := t.Context()
	caches := chirper.NewCaches(false)
	heard := make(chan []int64, 10)
	caches.Register(func(ch chirper.Change) {
		if ch.Table == chirper.NewChirps {
			heard <- ch.IDs
		}
	}, func() {})
	listen(t, dsn, caches)
	db, err := postgres.Open(ctx, dsn, postgres.Options{MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	store := postgres.NewChirpStore(db)
	const pause = 2 * time.Second
	postgres.SetAnnouncePause(store, pause)
	defer store.Close()

	hear := func(within time.Duration) []int64 {
		t.Helper()
		select {
		case ids := <-heard:
			return ids
		case <-time.After(within):
			t.Fatalf("nothing heard within %v", within)
			return nil
		}
	}
	start := time.Now()
	postgres.Announce(store, []int64{1})
	if ids := hear(pause / 2); !slices.Equal(ids, []int64{1}) { // at once, not after a rest
		t.Fatalf("heard %v, want [1]", ids)
	}
	postgres.Announce(store, []int64{2})
	postgres.Announce(store, []int64{3})
	if ids := hear(5 * pause); !slices.Equal(ids, []int64{2, 3}) {
		t.Fatalf("heard %v, want [2 3] in one notification", ids)
	}
	if waited := time.Since(start); waited < pause {
		t.Fatalf("the second announcement came %v after the first was asked for, within the announcer's rest of %v", waited, pause)
	}

	// Closed while it rests, the store announces what is pending at once
	// rather than when the rest is over.
	postgres.Announce(store, []int64{4})
	closing := time.Now()
	store.Close()
	if took := time.Since(closing); took >= pause/2 {
		t.Fatalf("Close took %v: it waited out the announcer's rest", took)
	}
	if ids := hear(pause / 2); !slices.Equal(ids, []int64{4}) {
		t.Fatalf("heard %v after Close, want [4]", ids)
	}
}
