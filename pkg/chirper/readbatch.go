package chirper

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"time"
)

// ChirpReadBatcher is a ChirpStore whose FindChirpByID calls, when more
// arrive than its readers can serve at once, are read together: a reader
// that finishes takes every read waiting (up to a batch) and serves them
// with one FindChirpsByIDs, so that the database answers the lot in one
// round trip and one statement. While a reader is free a read goes to the
// store at once, alone, with no added wait. Every other method goes
// straight to the store.
//
// A read joins only a batch that has not yet been sent, so it never sees
// the database as it was before the read was asked for.
type ChirpReadBatcher struct {
	ChirpStore
	readers  int
	maxBatch int
	timeout  time.Duration

	mu      sync.Mutex
	busy    int // readers at work
	waiting []*pendingRead
}

type pendingRead struct {
	ctx  context.Context
	id   int64
	done chan readResult
}

type readResult struct {
	chirp *Chirp
	err   error
}

var _ ChirpStore = (*ChirpReadBatcher)(nil)

// NewChirpReadBatcher reads chirps by id with at most readers store calls
// at once, each batch of at most maxBatch within timeout (0 for none).
func NewChirpReadBatcher(store ChirpStore, readers, maxBatch int, timeout time.Duration) *ChirpReadBatcher {
	return &ChirpReadBatcher{ChirpStore: store, readers: max(readers, 1), maxBatch: max(maxBatch, 1), timeout: timeout}
}

// FindChirpByID returns the chirp with the id, read alone while a reader is
// free and otherwise in the next batch. ENOTFOUND when there is none.
func (b *ChirpReadBatcher) FindChirpByID(ctx context.Context, id int64) (*Chirp, error) {
	b.mu.Lock()
	if b.busy < b.readers {
		b.busy++
		b.mu.Unlock()
		defer b.release() // even if the store panics: a reader lost is never found again
		return b.ChirpStore.FindChirpByID(ctx, id)
	}
	p := &pendingRead{ctx: ctx, id: id, done: make(chan readResult, 1)}
	b.waiting = append(b.waiting, p)
	b.mu.Unlock()
	select {
	case res := <-p.done:
		return res.chirp, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// release hands a reader that finished the reads waiting, to serve on a
// goroutine of their own, or frees it.
func (b *ChirpReadBatcher) release() {
	if batch := b.next(); batch != nil {
		go b.read(batch)
	}
}

// next hands a reader that finished the reads waiting, up to a batch, or
// frees it when none wait.
func (b *ChirpReadBatcher) next() []*pendingRead {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := min(len(b.waiting), b.maxBatch)
	if n == 0 {
		b.busy--
		return nil
	}
	batch := b.waiting[:n:n]
	if n == len(b.waiting) {
		b.waiting = nil
	} else {
		b.waiting = b.waiting[n:]
	}
	return batch
}

// read serves batches until none wait.
func (b *ChirpReadBatcher) read(batch []*pendingRead) {
	for ; batch != nil; batch = b.next() {
		b.serve(batch)
	}
}

// serve reads a batch, skipping the reads whose callers went away, and
// gives each its chirp, ENOTFOUND, or the batch's error.
func (b *ChirpReadBatcher) serve(batch []*pendingRead) {
	ids := make([]int64, 0, len(batch))
	for _, p := range batch {
		if p.ctx.Err() == nil {
			ids = append(ids, p.id)
		}
	}
	if len(ids) == 0 {
		return
	}
	ctx := context.Background()
	if b.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.timeout)
		defer cancel()
	}
	chirps, err := b.find(ctx, ids)
	err = OutOfTime(ctx, err)
	found := make(map[int64]*Chirp, len(chirps))
	for _, c := range chirps {
		found[c.ID] = c
	}
	for _, p := range batch {
		res := readResult{err: err}
		if err == nil {
			if res.chirp = found[p.id]; res.chirp == nil {
				res.err = Errorf(ENOTFOUND, "chirp not found")
			}
		}
		p.done <- res
	}
}

// find reads the chirps of ids, leaving out those with none. A store call
// that panics fails the batch's reads, as the HTTP server would fail a
// read alone, rather than the whole process from the reader's goroutine.
func (b *ChirpReadBatcher) find(ctx context.Context, ids []int64) (chirps []*Chirp, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &Error{Code: EINTERNAL, Message: "internal error", Cause: fmt.Errorf("a batch of reads panicked: %v\n%s", p, debug.Stack())}
		}
	}()
	if len(ids) > 1 {
		return b.ChirpStore.FindChirpsByIDs(ctx, ids)
	}
	c, err := b.ChirpStore.FindChirpByID(ctx, ids[0]) // the cheaper statement
	if ErrorCode(err) == ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return []*Chirp{c}, nil
}

// Waiting is how many reads wait for a reader now.
func (b *ChirpReadBatcher) Waiting() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.waiting)
}
