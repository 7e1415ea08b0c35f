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

// one and many are how heldReads records a read of one chirp, and of
// several.
func one(id int64) string      { return fmt.Sprint("one ", []int64{id}) }
func many(ids ...int64) string { return fmt.Sprint("many ", ids) }

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

// want fails t unless the reads that began are these, in order.
func (s *heldReads) want(t *testing.T, reads ...string) {
	t.Helper()
	if got := s.began(); !slices.Equal(got, reads) {
		t.Fatalf("reads %q, want %q", got, reads)
	}
}

func (s *heldReads) began() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reads)
}

// read starts a read of each id through the batcher, in order, each once
// the one before is held in the store or waiting for a reader, and returns
// what each read returns once wait is called.
func (s readSetup) read(t *testing.T, ctx context.Context, ids ...int64) (wait func() ([]*chirper.Chirp, []error)) {
	t.Helper()
	b, store := s.b, s.store
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

// readSetup is a batcher over a heldReads of a new SQLite database, and
// the chirps stored there.
type readSetup struct {
	db     *sqlite.DB
	author *chirper.User
	c      []*chirper.Chirp
	store  *heldReads
	b      *chirper.ChirpReadBatcher
}

func newReadSetup(t *testing.T, chirps, readers, maxBatch int) readSetup {
	t.Helper()
	db, author := openSQLite(t)
	s := readSetup{db: db, author: author, store: &heldReads{ChirpStore: sqlite.NewChirpStore(db), step: make(chan struct{})}}
	for i := range chirps {
		c := prepared(t, author.ID, fmt.Sprintf("read me %d", i))
		if err := s.store.ChirpStore.CreateChirp(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		s.c = append(s.c, c)
	}
	s.b = chirper.NewChirpReadBatcher(s.store, readers, maxBatch, 10*time.Second)
	return s
}

func TestChirpReadBatcherBatches(t *testing.T) {
	s := newReadSetup(t, 4, 1, 64)

	// The first read goes alone; the five asked while it is held wait, and
	// go together, the id asked twice too.
	wait := s.read(t, context.Background(), s.c[0].ID, s.c[2].ID, s.c[1].ID, 999999, s.c[2].ID, s.c[3].ID)
	close(s.store.step)
	chirps, errs := wait()

	s.store.want(t, one(s.c[0].ID), many(s.c[2].ID, s.c[1].ID, 999999, s.c[2].ID, s.c[3].ID))
	for i, w := range []*chirper.Chirp{s.c[0], s.c[2], s.c[1], nil, s.c[2], s.c[3]} {
		switch {
		case w == nil:
			if chirper.ErrorCode(errs[i]) != chirper.ENOTFOUND || chirps[i] != nil {
				t.Errorf("read %d: %v, %v; want not found", i, chirps[i], errs[i])
			}
		case errs[i] != nil || chirps[i].ID != w.ID || chirps[i].Message != w.Message || chirps[i].Author != s.author.Username:
			t.Errorf("read %d: %+v, %v; want chirp %d %q by %s", i, chirps[i], errs[i], w.ID, w.Message, s.author.Username)
		}
	}
}

func TestChirpReadBatcherReadsAloneWhileAReaderIsFree(t *testing.T) {
	s := newReadSetup(t, 3, 3, 64)
	wait := s.read(t, context.Background(), s.c[0].ID, s.c[1].ID, s.c[2].ID)
	if n := s.b.Waiting(); n != 0 {
		t.Fatalf("%d reads wait with three readers for three reads", n)
	}
	close(s.store.step)
	if _, errs := wait(); errors.Join(errs...) != nil {
		t.Fatal(errs)
	}
	if got := s.store.began(); len(got) != 3 || slices.ContainsFunc(got, func(r string) bool { return r[:4] != "one " }) {
		t.Fatalf("reads %q, want three alone", got)
	}
}

func TestChirpReadBatcherSplitsBatches(t *testing.T) {
	s := newReadSetup(t, 6, 1, 2)
	wait := s.read(t, context.Background(), s.c[0].ID, s.c[1].ID, s.c[2].ID, s.c[3].ID, s.c[4].ID, s.c[5].ID)
	close(s.store.step)
	if _, errs := wait(); errors.Join(errs...) != nil {
		t.Fatal(errs)
	}
	// A batch of one is read with the statement for one.
	s.store.want(t, one(s.c[0].ID), many(s.c[1].ID, s.c[2].ID), many(s.c[3].ID, s.c[4].ID), one(s.c[5].ID))
}

// TestChirpReadBatcherJoinsNoBatchSent: a read never joins a batch sent
// before it was asked for, so it never sees the database as it was before.
func TestChirpReadBatcherJoinsNoBatchSent(t *testing.T) {
	s := newReadSetup(t, 3, 1, 64)
	first := s.read(t, context.Background(), s.c[0].ID)
	second := s.read(t, context.Background(), s.c[1].ID, s.c[2].ID)
	s.store.step <- struct{}{} // the first read
	first()
	for len(s.store.began()) < 2 { // the batch of the next two is sent, and held
		time.Sleep(time.Millisecond)
	}
	third := s.read(t, context.Background(), s.c[2].ID)
	close(s.store.step)
	if _, errs := second(); errors.Join(errs...) != nil {
		t.Fatal(errs)
	}
	if chirps, errs := third(); errs[0] != nil || chirps[0].ID != s.c[2].ID {
		t.Fatalf("the read after the batch was sent: %v, %v", chirps[0], errs[0])
	}
	s.store.want(t, one(s.c[0].ID), many(s.c[1].ID, s.c[2].ID), one(s.c[2].ID))
}

func TestChirpReadBatcherGivesUpWhenTheCallerDoes(t *testing.T) {
	s := newReadSetup(t, 3, 1, 64)
	first := s.read(t, context.Background(), s.c[0].ID)
	ctx, cancel := context.WithCancel(context.Background())
	gone := s.read(t, ctx, s.c[1].ID)
	kept := s.read(t, context.Background(), s.c[2].ID)
	cancel()
	if _, errs := gone(); !errors.Is(errs[0], context.Canceled) {
		t.Fatalf("the read whose caller went away: %v, want context.Canceled at once", errs[0])
	}
	close(s.store.step)
	first()
	if chirps, errs := kept(); errs[0] != nil || chirps[0].ID != s.c[2].ID {
		t.Fatalf("the read that waited on: %v, %v", chirps[0], errs[0])
	}
	s.store.want(t, one(s.c[0].ID), one(s.c[2].ID)) // the id of the read given up is not read
}

func TestChirpReadBatcherGivesEachTheBatchsError(t *testing.T) {
	s := newReadSetup(t, 3, 1, 64)
	first := s.read(t, context.Background(), s.c[0].ID)
	batch := s.read(t, context.Background(), s.c[1].ID, s.c[2].ID)
	if err := s.db.Close(); err != nil {
		t.Fatal(err)
	}
	close(s.store.step)
	first()
	chirps, errs := batch()
	for i := range errs {
		if errs[i] == nil || chirps[i] != nil {
			t.Errorf("read %d on a closed database: %v, %v; want the error", i, chirps[i], errs[i])
		}
	}
}

// TestChirpReadBatcherTimesOut: a batch that runs out of its time gives
// each of its reads EUNAVAILABLE (a 503), as a read out of its request's
// own time would be.
func TestChirpReadBatcherTimesOut(t *testing.T) {
	s := newReadSetup(t, 3, 1, 64)
	s.b = chirper.NewChirpReadBatcher(s.store, 1, 64, time.Millisecond)
	first := s.read(t, context.Background(), s.c[0].ID)
	batch := s.read(t, context.Background(), s.c[1].ID, s.c[2].ID)
	s.store.step <- struct{}{} // the first read, alone, in its caller's time
	if _, errs := first(); errs[0] != nil {
		t.Fatal(errs[0])
	}
	time.Sleep(5 * time.Millisecond) // the batch, held in the store, runs out of time
	close(s.store.step)
	chirps, errs := batch()
	for i := range errs {
		if chirper.ErrorCode(errs[i]) != chirper.EUNAVAILABLE || chirps[i] != nil {
			t.Errorf("read %d of a batch out of time: %v, %v; want unavailable", i, chirps[i], errs[i])
		}
	}
}

// panickyReads panics on a read of a negative id, alone or in a batch.
type panickyReads struct{ chirper.ChirpStore }

func (s panickyReads) FindChirpByID(ctx context.Context, id int64) (*chirper.Chirp, error) {
	if id < 0 {
		panic("a read of a negative id")
	}
	return s.ChirpStore.FindChirpByID(ctx, id)
}

func (s panickyReads) FindChirpsByIDs(ctx context.Context, ids []int64) ([]*chirper.Chirp, error) {
	if slices.ContainsFunc(ids, func(id int64) bool { return id < 0 }) {
		panic("a batch with a negative id")
	}
	return s.ChirpStore.FindChirpsByIDs(ctx, ids)
}

// TestChirpReadBatcherSurvivesAPanic: a read whose store call panics (the
// HTTP server recovers the request) frees its reader for the reads after.
func TestChirpReadBatcherSurvivesAPanic(t *testing.T) {
	s := newReadSetup(t, 1, 1, 64)
	b := chirper.NewChirpReadBatcher(panickyReads{s.store.ChirpStore}, 1, 64, 10*time.Second)
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("no panic")
			}
		}()
		b.FindChirpByID(context.Background(), -1)
	}()
	done := make(chan error, 1)
	go func() {
		_, err := b.FindChirpByID(context.Background(), s.c[0].ID)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the read after the panic waits for a reader that is gone")
	}
}

// TestChirpReadBatcherSurvivesAPanicInABatch: a batch whose store call
// panics, on the reader's own goroutine, fails each of its reads as an
// internal error (a 500, as the same read alone would be) instead of the
// process, and the reads after it are served.
func TestChirpReadBatcherSurvivesAPanicInABatch(t *testing.T) {
	ctx := context.Background()
	s := newReadSetup(t, 2, 1, 64)
	s.b = chirper.NewChirpReadBatcher(panickyReads{s.store}, 1, 64, 10*time.Second)
	first := s.read(t, ctx, s.c[0].ID)
	batch := s.read(t, ctx, -1, s.c[1].ID)
	close(s.store.step)
	if _, errs := first(); errs[0] != nil {
		t.Fatal(errs[0])
	}
	chirps, errs := batch()
	for i := range errs {
		if chirper.ErrorCode(errs[i]) != chirper.EINTERNAL || chirps[i] != nil {
			t.Errorf("read %d of a batch that panicked: %v, %v; want an internal error", i, chirps[i], errs[i])
		}
	}
	if chirps, errs := s.read(t, ctx, s.c[1].ID)(); errs[0] != nil || chirps[0].ID != s.c[1].ID {
		t.Fatalf("the read after the panic: %v, %v", chirps[0], errs[0])
	}
}
