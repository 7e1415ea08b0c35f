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
	aheadTTL time.Duration // how long ids reserved ahead are used

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
		aheadTTL:   reservedAheadTTL,
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

// reservedAheadTTL bounds how long a writer uses ids that it reserved
// ahead, counted from the call that drew them: a chirp commits at most this
// long, plus its own write, after its id was drawn. Chirps from several
// processes commit a little out of the order of their ids anyway (each
// writes when its batch is ready); this keeps that window to moments, so
// that a stream resumed after an id misses nothing committed long after.
const reservedAheadTTL = 50 * time.Millisecond

// reservedAhead are ids a writer reserved with its batches, for the next,
// oldest first: taking them is no round trip.
type reservedAhead struct {
	ids []int64
	at  []time.Time // when each was drawn
}

// take returns up to n of the ids, the oldest of those drawn since, and
// forgets those drawn before.
func (r *reservedAhead) take(n int, since time.Time) []int64 {
	stale := 0
	for stale < len(r.at) && r.at[stale].Before(since) {
		stale++
	}
	n = min(n, len(r.ids)-stale)
	ids := r.ids[stale : stale+n : stale+n]
	r.ids, r.at = r.ids[stale+n:], r.at[stale+n:]
	return ids
}

// add keeps ids drawn by a call that began at.
func (r *reservedAhead) add(ids []int64, at time.Time) {
	r.ids = append(r.ids, ids...)
	for range ids {
		r.at = append(r.at, at)
	}
}

func (b *ChirpBatcher) write() {
	defer b.wg.Done()
	batch := make([]*pendingChirp, 0, b.maxBatch)
	var ahead reservedAhead
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
		b.flush(batch, &ahead)
	}
}

// flush stores a batch. A batch of several chirps has its ids before it is
// written: reserved with the batch before, or else reserved now. When the
// batch fails as a whole, its outcome may be unknown (the connection broke
// after the commit) or known (one author was deleted meanwhile, and nothing
// was stored): either way each chirp is retried alone under its own id and
// with its own time limit, and a retry that finds its id taken finds the
// chirp that the batch did store. No chirp is stored twice, and one bad
// chirp does not fail the others. A batch of several also reserves, in
// its own call, ids for twice as many chirps (up to a batch) to come.
func (b *ChirpBatcher) flush(batch []*pendingChirp, ahead *reservedAhead) {
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
	if err := b.assignIDs(ctx, chirps, ahead); err != nil {
		deliver(OutOfTime(ctx, err)) // nothing was written
		return
	}
	reserve := 0
	if len(batch) > 1 {
		reserve = max(0, min(b.maxBatch, 2*len(batch))-len(ahead.ids))
	}
	at := time.Now()
	next, err := b.ChirpStore.CreateChirps(ctx, chirps, reserve)
	if err == nil || len(batch) == 1 {
		ahead.add(next, at)
		deliver(OutOfTime(ctx, err))
		return
	}
	for _, p := range batch {
		p.done <- b.retry(p.chirp)
	}
}

// assignIDs gives the chirps their ids: those reserved ahead while they
// last, then, for a batch of several, a reservation of the rest. A lone
// chirp with none reserved takes its id as it is written. So a writer's
// chirps have ever higher ids in the order they commit.
func (b *ChirpBatcher) assignIDs(ctx context.Context, chirps []*Chirp, ahead *reservedAhead) error {
	ids := ahead.take(len(chirps), time.Now().Add(-b.aheadTTL))
	if len(chirps) > 1 && len(ids) < len(chirps) {
		more, err := b.ChirpStore.ReserveChirpIDs(ctx, len(chirps)-len(ids))
		if err != nil {
			return err
		}
		ids = append(ids, more...)
	}
	for i, id := range ids {
		chirps[i].ID = id
	}
	return nil
}

// retry stores c, whose id is reserved, alone.
func (b *ChirpBatcher) retry(c *Chirp) error {
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	defer cancel()
	err := b.ChirpStore.CreateChirp(ctx, c)
	if ErrorCode(err) != ECONFLICT {
		return OutOfTime(ctx, err)
	}
	// The id was c's alone: the failed batch stored it after all.
	stored, err := b.ChirpStore.FindChirpByID(ctx, c.ID)
	if err != nil {
		return OutOfTime(ctx, err)
	}
	*c = *stored
	return nil
}

// Queued is how many chirps wait for a writer now.
func (b *ChirpBatcher) Queued() int { return len(b.queue) }
