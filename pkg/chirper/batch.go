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

// flush stores a batch. When the batch fails as a whole (say, one author was
// deleted meanwhile), each chirp is retried alone, so that one bad chirp
// does not fail the others.
func (b *ChirpBatcher) flush(batch []*pendingChirp) {
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	defer cancel()
	chirps := make([]*Chirp, len(batch))
	for i, p := range batch {
		chirps[i] = p.chirp
	}
	err := b.ChirpStore.CreateChirps(ctx, chirps)
	if err == nil || len(batch) == 1 {
		for _, p := range batch {
			p.done <- err
		}
		return
	}
	for _, p := range batch {
		p.done <- b.ChirpStore.CreateChirp(ctx, p.chirp)
	}
}

// Queued is how many chirps wait for a writer now.
func (b *ChirpBatcher) Queued() int { return len(b.queue) }
