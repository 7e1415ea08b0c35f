package chirper_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chirper/chirper/pkg/chirper"
	"github.com/chirper/chirper/pkg/sqlite"
	"github.com/chirper/chirper/pkg/sqlite/sqlitetest"
	"github.com/chirper/chirper/pkg/storetest"
)

func openSQLite(t *testing.T) (*sqlite.DB, *chirper.User) {
	t.Helper()
	db := sqlitetest.MustOpenDB(t)
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
	store := &heldStore{ChirpStore: sqlite.NewChirpStore(db), step: make(chan struct{})}
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
	close(store.step)
	wg.Wait()
	b.Close()

	for i, err := range errs {
		if err != nil || results[i].ID == 0 {
			t.Fatalf("chirp %d: id %d, %v", i, results[i].ID, err)
		}
	}
	if sizes := store.sizes(); fmt.Sprint(sizes) != "[1 50]" {
		t.Fatalf("batches %v, want [1 50]: the 50 that waited go in one statement", sizes)
	}
	n, err := sqlite.NewChirpStore(db).CountChirps(ctx, chirper.ChirpFilter{})
	if err != nil || n != 51 {
		t.Fatalf("count %d, %v", n, err)
	}
}

func TestChirpBatcherIsolatesABadChirp(t *testing.T) {
	db, author := openSQLite(t)
	store := &heldStore{ChirpStore: sqlite.NewChirpStore(db), step: make(chan struct{})}
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
		if i == 0 { // the first is taken, alone, and held in the store
			for store.calls() == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}
	for b.Queued() < 3 {
		time.Sleep(time.Millisecond)
	}
	close(store.step)
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
	store := &heldStore{ChirpStore: sqlite.NewChirpStore(db), step: make(chan struct{})}
	b := chirper.NewChirpBatcher(store, 1, 1, 10*time.Second) // a queue of one
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 2 { // one held in the store, one filling the queue
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
	close(store.step)
	wg.Wait()
	b.Close()
	if n, err := sqlite.NewChirpStore(db).CountChirps(ctx, chirper.ChirpFilter{}); err != nil || n != 2 {
		t.Fatalf("count %d (%v), want the 2 queued chirps only", n, err)
	}
}

// faultyStore is a real SQLite chirp store whose batch writes (of more than
// one chirp) fail the way a database can: ambiguous stores the batch and
// then reports the connection lost, as when it breaks after the commit;
// otherwise the batch waits until its time is up and fails.
type faultyStore struct {
	chirper.ChirpStore
	ambiguous bool
	failed    atomic.Int32
}

func (f *faultyStore) CreateChirps(ctx context.Context, cs []*chirper.Chirp, reserve int) ([]int64, error) {
	if len(cs) == 1 {
		return f.ChirpStore.CreateChirps(ctx, cs, reserve)
	}
	f.failed.Add(1)
	if f.ambiguous {
		if _, err := f.ChirpStore.CreateChirps(ctx, cs, reserve); err != nil {
			return nil, err
		}
		return nil, &chirper.Error{Code: chirper.EUNAVAILABLE, Message: "the database is unavailable", Cause: errors.New("connection reset by peer")}
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

// batchOf sends n chirps through a batcher of one writer whose first, lone
// chirp is held in the store until the other n-1 wait in the queue, so that
// they go as one batch.
func batchOf(t *testing.T, store chirper.ChirpStore, author int64, n int, timeout time.Duration) ([]*chirper.Chirp, []error) {
	t.Helper()
	held := &heldStore{ChirpStore: store, step: make(chan struct{})}
	b := chirper.NewChirpBatcher(held, 1, 64, timeout)
	defer b.Close()
	chirps := make([]*chirper.Chirp, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		chirps[i] = prepared(t, author, fmt.Sprintf("batched %d", i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = b.CreateChirp(context.Background(), chirps[i])
		}()
		if i == 0 {
			for held.calls() == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}
	for b.Queued() < n-1 {
		time.Sleep(time.Millisecond)
	}
	close(held.step)
	wg.Wait()
	return chirps, errs
}

// TestChirpBatcherAmbiguousBatch: a batch stored whose answer is lost is
// found by its reserved ids; no chirp is stored twice.
func TestChirpBatcherAmbiguousBatch(t *testing.T) {
	db, author := openSQLite(t)
	store := &faultyStore{ChirpStore: sqlite.NewChirpStore(db), ambiguous: true}
	chirps, errs := batchOf(t, store, author.ID, 6, 10*time.Second)
	if store.failed.Load() != 1 {
		t.Fatalf("%d failed batches, want 1", store.failed.Load())
	}
	ctx := context.Background()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("chirp %d: %v", i, err)
		}
		got, err := store.FindChirpByID(ctx, chirps[i].ID)
		if err != nil || got.Message != chirps[i].Message || chirps[i].Author != "batcher" || chirps[i].CreatedAt.IsZero() {
			t.Fatalf("chirp %d = %+v as stored %+v (%v)", i, chirps[i], got, err)
		}
	}
	if n, err := store.CountChirps(ctx, chirper.ChirpFilter{}); err != nil || n != 6 {
		t.Fatalf("count %d (%v), want 6: a chirp of the lost answer was stored again", n, err)
	}
}

// TestChirpBatcherRetriesWithTheirOwnTime: after a batch used up its time,
// each chirp is retried alone with a time limit of its own.
func TestChirpBatcherRetriesWithTheirOwnTime(t *testing.T) {
	db, author := openSQLite(t)
	store := &faultyStore{ChirpStore: sqlite.NewChirpStore(db)}
	chirps, errs := batchOf(t, store, author.ID, 4, 200*time.Millisecond)
	for i, err := range errs {
		if err != nil || chirps[i].ID == 0 {
			t.Fatalf("chirp %d: id %d, %v; want it stored by its retry", i, chirps[i].ID, err)
		}
	}
	if n, err := store.CountChirps(context.Background(), chirper.ChirpFilter{}); err != nil || n != 4 {
		t.Fatalf("count %d (%v), want 4", n, err)
	}
}

// heldStore is a real chirp store whose every CreateChirps waits for a
// step: a test sends one to let one call go, or closes step to let every
// call go. It records the ids that each call stored (in the order they
// committed) and reserved ahead, and counts the reservations made by round
// trips of their own.
type heldStore struct {
	chirper.ChirpStore
	step         chan struct{}
	mu           sync.Mutex
	held         int
	written      [][]int64
	ahead        [][]int64
	reservations int
}

func (s *heldStore) CreateChirps(ctx context.Context, cs []*chirper.Chirp, reserve int) ([]int64, error) {
	s.mu.Lock()
	s.held++
	s.mu.Unlock()
	<-s.step
	ahead, err := s.ChirpStore.CreateChirps(ctx, cs, reserve)
	ids := make([]int64, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	s.mu.Lock()
	s.written, s.ahead = append(s.written, ids), append(s.ahead, ahead)
	s.mu.Unlock()
	return ahead, err
}

func (s *heldStore) ReserveChirpIDs(ctx context.Context, n int) ([]int64, error) {
	s.mu.Lock()
	s.reservations++
	s.mu.Unlock()
	return s.ChirpStore.ReserveChirpIDs(ctx, n)
}

// sizes are how many chirps each call stored, in the order they ended.
func (s *heldStore) sizes() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	sizes := make([]int, len(s.written))
	for i, ids := range s.written {
		sizes[i] = len(ids)
	}
	return sizes
}

func (s *heldStore) calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held
}

// inSteps sends through b, a batcher of one writer, a lone chirp and then
// batches of the sizes: each queues while the one before is held in the
// store, so that each is one CreateChirps.
func inSteps(t *testing.T, b *chirper.ChirpBatcher, store *heldStore, author int64, sizes ...int) {
	t.Helper()
	var wg sync.WaitGroup
	for i, n := range append([]int{1}, sizes...) {
		for j := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := b.CreateChirp(context.Background(), prepared(t, author, fmt.Sprintf("step %d, chirp %d", i, j))); err != nil {
					t.Error(err)
				}
			}()
		}
		if i > 0 {
			for b.Queued() < n {
				time.Sleep(time.Millisecond)
			}
			store.step <- struct{}{} // the batch before commits, and this one is taken
		}
		for store.calls() < i+1 {
			time.Sleep(time.Millisecond)
		}
	}
	store.step <- struct{}{}
	wg.Wait()
	b.Close()
}

// inCommitOrder checks that the ids increase in the order their batches
// committed, and returns them.
func inCommitOrder(t *testing.T, written [][]int64) []int64 {
	t.Helper()
	all := slices.Concat(written...)
	if !slices.IsSorted(all) || len(slices.Compact(slices.Clone(all))) != len(all) {
		t.Fatalf("ids %v do not increase in the order their batches committed", written)
	}
	return all
}

// TestChirpBatcherReservesAhead: a batch reserves, in its own call, the ids
// of the batches after it, which take them with no round trip; the lone
// chirp after them takes one too, so that ids still increase in the order
// the chirps commit.
func TestChirpBatcherReservesAhead(t *testing.T) {
	db, author := openSQLite(t)
	store := &heldStore{ChirpStore: sqlite.NewChirpStore(db), step: make(chan struct{})}
	b := chirper.NewChirpBatcher(store, 1, 64, 10*time.Second)
	chirper.SetReservedAheadTTL(b, time.Hour) // the test's steps take their time
	inSteps(t, b, store, author.ID, 4, 3, 1)

	inCommitOrder(t, store.written)
	if store.reservations != 1 {
		t.Fatalf("%d reservations of their own, want 1: the first batch's", store.reservations)
	}
	if got := fmt.Sprint(len(store.ahead[0]), len(store.ahead[1]), len(store.ahead[2]), len(store.ahead[3])); got != "0 8 1 0" {
		t.Fatalf("reserved ahead %v, want 0, then 8 for the batch of 4, 1 to top up 5 left to 6 for the batch of 3, 0", store.ahead)
	}
	if taken := slices.Concat(store.written[2], store.written[3]); !slices.Equal(taken, store.ahead[1][:4]) {
		t.Fatalf("the batch of 3 and the lone chirp took %v, want the first 4 reserved ahead %v", taken, store.ahead[1])
	}
	if n, err := store.CountChirps(context.Background(), chirper.ChirpFilter{}); err != nil || n != 9 {
		t.Fatalf("count %d (%v), want 9", n, err)
	}
}

// TestChirpBatcherForgetsStaleReservations: ids reserved ahead longer ago
// than the bound are not used; the batch reserves anew, above them.
func TestChirpBatcherForgetsStaleReservations(t *testing.T) {
	db, author := openSQLite(t)
	store := &heldStore{ChirpStore: sqlite.NewChirpStore(db), step: make(chan struct{})}
	b := chirper.NewChirpBatcher(store, 1, 64, 10*time.Second)
	chirper.SetReservedAheadTTL(b, 0)
	inSteps(t, b, store, author.ID, 4, 3)

	inCommitOrder(t, store.written)
	if store.reservations != 2 {
		t.Fatalf("%d reservations of their own, want 2: the ids reserved ahead were stale", store.reservations)
	}
	if stale := store.ahead[1]; len(stale) != 8 || store.written[2][0] <= stale[len(stale)-1] {
		t.Fatalf("the batch of 3 took %v; want ids above those reserved ahead, %v", store.written[2], stale)
	}
}

// unreservingStore is a real SQLite chirp store whose reservations of ids
// fail, as when the database is down.
type unreservingStore struct{ chirper.ChirpStore }

func (unreservingStore) ReserveChirpIDs(context.Context, int) ([]int64, error) {
	return nil, chirper.Errorf(chirper.EUNAVAILABLE, "the database is unavailable")
}

// TestChirpBatcherReservationFails: a batch whose ids cannot be reserved
// is not written, and each of its chirps gets the error.
func TestChirpBatcherReservationFails(t *testing.T) {
	db, author := openSQLite(t)
	store := unreservingStore{sqlite.NewChirpStore(db)}
	_, errs := batchOf(t, store, author.ID, 4, 10*time.Second)
	for i, err := range errs {
		want := chirper.EUNAVAILABLE
		if i == 0 {
			want = "" // alone, it takes its id as it is written
		}
		if got := chirper.ErrorCode(err); got != want {
			t.Errorf("chirp %d: code %q (%v), want %q", i, got, err, want)
		}
	}
	if n, err := store.CountChirps(context.Background(), chirper.ChirpFilter{}); err != nil || n != 1 {
		t.Fatalf("count %d (%v), want 1: the batch was written without its ids", n, err)
	}
}

// TestChirpBatcherTimesOut: a chirp whose write runs out of the batch's
// time gets EUNAVAILABLE (a 503), as a request out of its own time would,
// not an internal error.
func TestChirpBatcherTimesOut(t *testing.T) {
	db, author := openSQLite(t)
	held := &heldStore{ChirpStore: sqlite.NewChirpStore(db), step: make(chan struct{})}
	b := chirper.NewChirpBatcher(held, 1, 64, time.Millisecond)
	defer b.Close()
	done := make(chan error, 1)
	go func() { done <- b.CreateChirp(context.Background(), prepared(t, author.ID, "too slow")) }()
	for held.calls() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(5 * time.Millisecond) // the write, held in the store, runs out of time
	close(held.step)
	if err := <-done; chirper.ErrorCode(err) != chirper.EUNAVAILABLE {
		t.Fatalf("a write out of time: %v, want unavailable", err)
	}
}
