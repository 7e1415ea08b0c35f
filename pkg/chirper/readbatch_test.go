package chirper_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chirper/chirper/pkg/chirper"
	"github.com/chirper/chirper/pkg/sqlite"
)

// heldReads holds each read until step lets it go (a send lets one go, a
// close all), and records which ids each read asked for and how.
type heldReads struct {
	chirper.ChirpStore
	step  chan struct{}
	mu    sync.Mutex
	reads []string // "one [id]" or "many [ids]", in the order they began
}

func (s *heldReads) record(kind string, ids []int64) {
	s.mu.Lock()
	s.reads = append(s.reads, fmt.Sprint(kind, " ", ids))
	s.mu.Unlock()
	<-s.step
}

func (s *heldReads) FindChirpByID(ctx context.Context, id int64) (*chirper.Chirp, error) {
	s.record("one", []int64{id})
	return s.ChirpStore.FindChirpByID(ctx, id)
}

func (s *heldReads) FindChirpsByIDs(ctx context.Context, ids []int64) ([]*chirper.Chirp, error) {
	s.record("many", ids)
	return s.ChirpStore.FindChirpsByIDs(ctx, ids)
}

func (s *heldReads) began() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reads)
}

// readsHeld starts a read of each id through b, in order, each once the
// one before is held in the store or waiting for a reader, and returns
// what each read returns once wait is called.
func readsHeld(t *testing.T, ctx context.Context, b *chirper.ChirpReadBatcher, store *heldReads, ids ...int64) (wait func() ([]*chirper.Chirp, []error)) {
	t.Helper()
	chirps, errs := make([]*chirper.Chirp, len(ids)), make([]error, len(ids))
	var wg sync.WaitGroup
	before := len(store.began()) + b.Waiting()
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			chirps[i], errs[i] = b.FindChirpByID(ctx, id)
		}()
		for deadline := time.Now().Add(5 * time.Second); len(store.began())+b.Waiting() <= before+i; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("read %d of %d neither began nor waits", i+1, len(ids))
			}
		}
	}
	return func() ([]*chirper.Chirp, []error) {
		wg.Wait()
		return chirps, errs
	}
}

func createChirps(t *testing.T, store chirper.ChirpStore, author int64, n int) []*chirper.Chirp {
	t.Helper()
	chirps := make([]*chirper.Chirp, n)
	for i := range chirps {
		chirps[i] = prepared(t, author, fmt.Sprintf("read me %d", i))
		if err := store.CreateChirp(context.Background(), chirps[i]); err != nil {
			t.Fatal(err)
		}
	}
	return chirps
}

func TestChirpReadBatcherBatches(t *testing.T) {
	db, author := openSQLite(t)
	c := createChirps(t, sqlite.NewChirpStore(db), author.ID, 4)
	store := &heldReads{ChirpStore: sqlite.NewChirpStore(db), step: make(chan struct{})}
	b := chirper.NewChirpReadBatcher(store, 1, 64, 10*time.Second)

	// The first read goes alone; the five asked while it is held wait, and
	// go together, the id asked twice too.
	wait := readsHeld(t, context.Background(), b, store, c[0].ID, c[2].ID, c[1].ID, 999999, c[2].ID, c[3].ID)
	close(store.step)
	chirps, errs := wait()

	want := []string{fmt.Sprint("one ", []int64{c[0].ID}), fmt.Sprint("many ", []int64{c[2].ID, c[1].ID, 999999, c[2].ID, c[3].ID})}
	if got := store.began(); !slices.Equal(got, want) {
		t.Fatalf("reads %q, want %q", got, want)
	}
	for i, w := range []*chirper.Chirp{c[0], c[2], c[1], nil, c[2], c[3]} {
		switch {
		case w == nil:
			if chirper.ErrorCode(errs[i]) != chirper.ENOTFOUND || chirps[i] != nil {
				t.Errorf("read %d: %v, %v; want not found", i, chirps[i], errs[i])
			}
		case errs[i] != nil || chirps[i].ID != w.ID || chirps[i].Message != w.Message || chirps[i].Author != author.Username:
			t.Errorf("read %d: %+v, %v; want chirp %d %q by %s", i, chirps[i], errs[i], w.ID, w.Message, author.Username)
		}
	}
}

func TestChirpReadBatcherReadsAloneWhileAReaderIsFree(t *testing.T) {
	db, author := openSQLite(t)
	c := createChirps(t, sqlite.NewChirpStore(db), author.ID, 3)
	store := &heldReads{ChirpStore: sqlite.NewChirpStore(db), step: make(chan struct{})}
	b := chirper.NewChirpReadBatcher(store, 3, 64, 10*time.Second)
	wait := readsHeld(t, context.Background(), b, store, c[0].ID, c[1].ID, c[2].ID)
	if n := b.Waiting(); n != 0 {
		t.Fatalf("%d reads wait with three readers for three reads", n)
	}
	close(store.step)
	if _, errs := wait(); errors.Join(errs...) != nil {
		t.Fatal(errs)
	}
	if got := store.began(); len(got) != 3 || slices.ContainsFunc(got, func(r string) bool { return r[:4] != "one " }) {
		t.Fatalf("reads %q, want three alone", got)
	}
}

func TestChirpReadBatcherSplitsBatches(t *testing.T) {
	db, author := openSQLite(t)
	c := createChirps(t, sqlite.NewChirpStore(db), author.ID, 6)
	store := &heldReads{ChirpStore: sqlite.NewChirpStore(db), step: make(chan struct{})}
	b := chirper.NewChirpReadBatcher(store, 1, 2, 10*time.Second)
	wait := readsHeld(t, context.Background(), b, store, c[0].ID, c[1].ID, c[2].ID, c[3].ID, c[4].ID, c[5].ID)
	close(store.step)
	if _, errs := wait(); errors.Join(errs...) != nil {
		t.Fatal(errs)
	}
	// A batch of one is read with the statement for one.
	want := []string{
		fmt.Sprint("one ", []int64{c[0].ID}),
		fmt.Sprint("many ", []int64{c[1].ID, c[2].ID}),
		fmt.Sprint("many ", []int64{c[3].ID, c[4].ID}),
		fmt.Sprint("one ", []int64{c[5].ID}),
	}
	if got := store.began(); !slices.Equal(got, want) {
		t.Fatalf("reads %q, want %q", got, want)
	}
}

// TestChirpReadBatcherJoinsNoBatchSent: a read never joins a batch sent
// before it was asked for, so it never sees the database as it was before.
func TestChirpReadBatcherJoinsNoBatchSent(t *testing.T) {
	db, author := openSQLite(t)
	c := createChirps(t, sqlite.NewChirpStore(db), author.ID, 3)
	store := &heldReads{ChirpStore: sqlite.NewChirpStore(db), step: make(chan struct{})}
	b := chirper.NewChirpReadBatcher(store, 1, 64, 10*time.Second)
	first := readsHeld(t, context.Background(), b, store, c[0].ID)
	second := readsHeld(t, context.Background(), b, store, c[1].ID, c[2].ID)
	store.step <- struct{}{} // the first read
	first()
	for len(store.began()) < 2 { // the batch of the next two is sent, and held
		time.Sleep(time.Millisecond)
	}
	third := readsHeld(t, context.Background(), b, store, c[2].ID)
	close(store.step)
	if _, errs := second(); errors.Join(errs...) != nil {
		t.Fatal(errs)
	}
	if chirps, errs := third(); errs[0] != nil || chirps[0].ID != c[2].ID {
		t.Fatalf("the read after the batch was sent: %v, %v", chirps[0], errs[0])
	}
	want := []string{
		fmt.Sprint("one ", []int64{c[0].ID}),
		fmt.Sprint("many ", []int64{c[1].ID, c[2].ID}),
		fmt.Sprint("one ", []int64{c[2].ID}),
	}
	if got := store.began(); !slices.Equal(got, want) {
		t.Fatalf("reads %q, want %q", got, want)
	}
}

func TestChirpReadBatcherGivesUpWhenTheCallerDoes(t *testing.T) {
	db, author := openSQLite(t)
	c := createChirps(t, sqlite.NewChirpStore(db), author.ID, 3)
	store := &heldReads{ChirpStore: sqlite.NewChirpStore(db), step: make(chan struct{})}
	b := chirper.NewChirpReadBatcher(store, 1, 64, 10*time.Second)
	first := readsHeld(t, context.Background(), b, store, c[0].ID)
	ctx, cancel := context.WithCancel(context.Background())
	gone := readsHeld(t, ctx, b, store, c[1].ID)
	kept := readsHeld(t, context.Background(), b, store, c[2].ID)
	cancel()
	if _, errs := gone(); !errors.Is(errs[0], context.Canceled) {
		t.Fatalf("the read whose caller went away: %v, want context.Canceled at once", errs[0])
	}
	close(store.step)
	first()
	if chirps, errs := kept(); errs[0] != nil || chirps[0].ID != c[2].ID {
		t.Fatalf("the read that waited on: %v, %v", chirps[0], errs[0])
	}
	want := []string{fmt.Sprint("one ", []int64{c[0].ID}), fmt.Sprint("one ", []int64{c[2].ID})}
	if got := store.began(); !slices.Equal(got, want) {
		t.Fatalf("reads %q, want %q: the id of a read given up is not read", got, want)
	}
}

func TestChirpReadBatcherGivesEachTheBatchsError(t *testing.T) {
	db, author := openSQLite(t)
	c := createChirps(t, sqlite.NewChirpStore(db), author.ID, 3)
	store := &heldReads{ChirpStore: sqlite.NewChirpStore(db), step: make(chan struct{})}
	b := chirper.NewChirpReadBatcher(store, 1, 64, 10*time.Second)
	first := readsHeld(t, context.Background(), b, store, c[0].ID)
	batch := readsHeld(t, context.Background(), b, store, c[1].ID, c[2].ID)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	close(store.step)
	first()
	chirps, errs := batch()
	for i := range errs {
		if errs[i] == nil || chirps[i] != nil {
			t.Errorf("read %d on a closed database: %v, %v; want the error", i, chirps[i], errs[i])
		}
	}
}
