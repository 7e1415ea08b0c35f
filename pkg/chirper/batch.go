package chirper

import (
	"context"
	"sync"
	"time"
)

// ChirpBatcher is a ChirpStore whose CreateChirp calls, when many arrive at
// once, are written together: each of a few writers takes every chirp
// waiting in the queue (up to a batch) and stores them with one
// CreateChirps, so that the database does one statement and one commit for
// the lot. A lone chirp is written at once, with no added wait. Every other
// method goes straight to the store.
type ChirpBatcher struct {
	ChirpStore
	maxBatch int
	timeout  time.Duration

	mu     sync.RWMutex // guards closed against sends to queue
	closed bool
	queue  chan *pendingChirp
	wg     sync.WaitGroup
}

type pendingChirp struct {
	chirp *Chirp
	done  chan error
}

var _ ChirpStore = (*ChirpBatcher)(nil)

// NewChirpBatcher starts writers goroutines that store chirps in batches of
// at most maxBatch, each batch within timeout. Close stops them.
func NewChirpBatcher(store ChirpStore, writers, maxBatch int, timeout time.Duration) *ChirpBatcher {
	b := &ChirpBatcher{
		ChirpStore: store,
		maxBatch:   max(maxBatch, 1),
		timeout:    timeout,
		queue:      make(chan *pendingChirp, max(maxBatch, 1)*max(writers, 1)),
	}
	for range max(writers, 1) {
		b.wg.Add(1)
		go b.write()
	}
	return b
}

// CreateChirp queues c and waits until its batch is stored: the error is the
// chirp's own. EUNAVAILABLE after Close.
func (b *ChirpBatcher) CreateChirp(ctx context.Context, c *Chirp) error {
	p := &pendingChirp{chirp: c, done: make(chan error, 1)}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return Errorf(EUNAVAILABLE, "the server is shutting down")
	}
	select {
	case b.queue <- p:
		b.mu.RUnlock()
	case <-ctx.Done():
		b.mu.RUnlock()
		return ctx.Err()
	}
	// Once queued the chirp will be written; wait for the outcome so that
	// the caller never reports a failure for a stored chirp.
	return <-p.done
}

// Close stops taking chirps, writes every queued one, and returns when the
// writers are done: the pending writes are flushed before the database
// closes.
func (b *ChirpBatcher) Close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.queue)
	}
	b.mu.Unlock()
	b.wg.Wait()
}

func (b *ChirpBatcher) write() {
	defer b.wg.Done()
	batch := make([]*pendingChirp, 0, b.maxBatch)
	for first := range b.queue {
		batch = append(batch[:0], first)
	fill:
		for len(batch) < b.maxBatch {
			select {
			case p, ok := <-b.queue:
				if !ok {
					break fill
				}
				batch = append(batch, p)
			default:
				break fill
			}
		}
		b.flush(batch)
	}
}

// flush stores a batch. A batch of several chirps reserves their ids
// first. When the batch fails as a whole, its outcome may be unknown (the
// connection broke after the commit) or known (one author was deleted
// meanwhile, and nothing was stored): either way each chirp is retried
// alone under its own id and with its own time limit, and a retry that
// finds its id taken finds the chirp that the batch did store. No chirp is
// stored twice, and one bad chirp does not fail the others.
func (b *ChirpBatcher) flush(batch []*pendingChirp) {
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	defer cancel()
	chirps := make([]*Chirp, len(batch))
	for i, p := range batch {
		chirps[i] = p.chirp
	}
	deliver := func(err error) {
		for _, p := range batch {
			p.done <- err
		}
	}
	if err := b.reserveIDs(ctx, chirps); err != nil {
		deliver(err) // nothing was written
		return
	}
	if err := b.ChirpStore.CreateChirps(ctx, chirps); err == nil || len(batch) == 1 {
		deliver(err)
		return
	}
	for _, p := range batch {
		p.done <- b.retry(p.chirp)
	}
}

// reserveIDs gives the chirps of a batch of several their ids.
func (b *ChirpBatcher) reserveIDs(ctx context.Context, chirps []*Chirp) error {
	if len(chirps) == 1 {
		return nil
	}
	ids, err := b.ChirpStore.ReserveChirpIDs(ctx, len(chirps))
	if err != nil {
		return err
	}
	for i, c := range chirps {
		c.ID = ids[i]
	}
	return nil
}

// retry stores c, whose id is reserved, alone.
func (b *ChirpBatcher) retry(c *Chirp) error {
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	defer cancel()
	err := b.ChirpStore.CreateChirp(ctx, c)
	if ErrorCode(err) != ECONFLICT {
		return err
	}
	// The id was c's alone: the failed batch stored it after all.
	stored, err := b.ChirpStore.FindChirpByID(ctx, c.ID)
	if err != nil {
		return err
	}
	*c = *stored
	return nil
}

// Queued is how many chirps wait for a writer now.
func (b *ChirpBatcher) Queued() int { return len(b.queue) }
