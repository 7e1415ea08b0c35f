package chirper_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chirper/chirper/pkg/chirper"
	"github.com/chirper/chirper/pkg/sqlite"
	"github.com/chirper/chirper/pkg/storetest"
)

// gatedStore is a real SQLite chirp store that records the size of every
// CreateChirps and can hold the first one until released, so that a test
// can fill the queue behind it.
type gatedStore struct {
	chirper.ChirpStore
	gate    chan struct{}
	mu      sync.Mutex
	batches []int
}

func (g *gatedStore) CreateChirps(ctx context.Context, cs []*chirper.Chirp) error {
	g.mu.Lock()
	first := len(g.batches) == 0
	g.batches = append(g.batches, len(cs))
	g.mu.Unlock()
	if first && g.gate != nil {
		<-g.gate
	}
	return g.ChirpStore.CreateChirps(ctx, cs)
}

func (g *gatedStore) calls() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.batches)
}

func openSQLite(t *testing.T) (*sqlite.DB, *chirper.User) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "batch.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db, storetest.MustCreateUser(t, sqlite.NewUserStore(db), "batcher")
}

func prepared(t *testing.T, author int64, msg string) *chirper.Chirp {
	t.Helper()
	c, err := chirper.NewChirp{AuthorID: author, Message: msg}.Prepare()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestChirpBatcherBatches(t *testing.T) {
	db, author := openSQLite(t)
	store := &gatedStore{ChirpStore: sqlite.NewChirpStore(db), gate: make(chan struct{})}
	b := chirper.NewChirpBatcher(store, 1, 64, 10*time.Second)
	ctx := context.Background()

	var wg sync.WaitGroup
	results := make([]*chirper.Chirp, 51)
	errs := make([]error, 51)
	start := func(i int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = prepared(t, author.ID, fmt.Sprintf("chirp %d", i))
			errs[i] = b.CreateChirp(ctx, results[i])
		}()
	}
	start(0)
	for store.calls() == 0 { // the first chirp is being written, alone
		time.Sleep(time.Millisecond)
	}
	for i := 1; i <= 50; i++ {
		start(i)
	}
	for b.Queued() < 50 {
		time.Sleep(time.Millisecond)
	}
	close(store.gate)
	wg.Wait()
	b.Close()

	for i, err := range errs {
		if err != nil || results[i].ID == 0 {
			t.Fatalf("chirp %d: id %d, %v", i, results[i].ID, err)
		}
	}
	if fmt.Sprint(store.batches) != "[1 50]" {
		t.Fatalf("batches %v, want [1 50]: the 50 that waited go in one statement", store.batches)
	}
	n, err := sqlite.NewChirpStore(db).CountChirps(ctx, chirper.ChirpFilter{})
	if err != nil || n != 51 {
		t.Fatalf("count %d, %v", n, err)
	}
}

func TestChirpBatcherIsolatesABadChirp(t *testing.T) {
	db, author := openSQLite(t)
	store := &gatedStore{ChirpStore: sqlite.NewChirpStore(db), gate: make(chan struct{})}
	b := chirper.NewChirpBatcher(store, 1, 64, 10*time.Second)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i, a := range []int64{author.ID, author.ID, 999999, author.ID} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = b.CreateChirp(ctx, prepared(t, a, "maybe"))
		}()
		if i == 0 { // the first is taken, alone, and held at the gate
			for store.calls() == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}
	for b.Queued() < 3 {
		time.Sleep(time.Millisecond)
	}
	close(store.gate)
	wg.Wait()
	b.Close()
	for i, err := range errs {
		want := ""
		if i == 2 {
			want = chirper.ENOTFOUND
		}
		if got := chirper.ErrorCode(err); got != want {
			t.Errorf("chirp %d: code %q (%v), want %q", i, got, err, want)
		}
	}
}

func TestChirpBatcherCloseFlushes(t *testing.T) {
	db, author := openSQLite(t)
	b := chirper.NewChirpBatcher(sqlite.NewChirpStore(db), 2, 8, 10*time.Second)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.CreateChirp(ctx, prepared(t, author.ID, fmt.Sprintf("before close %d", i))); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	b.Close()
	n, err := sqlite.NewChirpStore(db).CountChirps(ctx, chirper.ChirpFilter{})
	if err != nil || n != 40 {
		t.Fatalf("count %d after Close, want 40 (%v)", n, err)
	}
	if code := chirper.ErrorCode(b.CreateChirp(ctx, prepared(t, author.ID, "after close"))); code != chirper.EUNAVAILABLE {
		t.Fatalf("after Close: code %q, want unavailable", code)
	}
}

// TestChirpBatcherGivesUpWhenTheCallerDoes: a chirp that cannot even be
// queued before its request's context ends is refused, not stored later.
func TestChirpBatcherGivesUpWhenTheCallerDoes(t *testing.T) {
	db, author := openSQLite(t)
	store := &gatedStore{ChirpStore: sqlite.NewChirpStore(db), gate: make(chan struct{})}
	b := chirper.NewChirpBatcher(store, 1, 1, 10*time.Second) // a queue of one
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 2 { // one held at the gate, one filling the queue
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.CreateChirp(ctx, prepared(t, author.ID, fmt.Sprintf("queued %d", i))); err != nil {
				t.Error(err)
			}
		}()
		for store.calls() == 0 || (i == 1 && b.Queued() == 0) {
			time.Sleep(time.Millisecond)
		}
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := b.CreateChirp(short, prepared(t, author.ID, "too late")); err != context.DeadlineExceeded {
		t.Fatalf("a full queue past the deadline: %v, want context.DeadlineExceeded", err)
	}
	close(store.gate)
	wg.Wait()
	b.Close()
	if n, err := sqlite.NewChirpStore(db).CountChirps(ctx, chirper.ChirpFilter{}); err != nil || n != 2 {
		t.Fatalf("count %d (%v), want the 2 queued chirps only", n, err)
	}
}
