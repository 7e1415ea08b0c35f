package chirper

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// StreamEvent is one event of a live stream: a new chirp, or the id of a
// deleted one.
type StreamEvent struct {
	Chirp   *Chirp // the new chirp; nil for a deletion
	Deleted int64  // the deleted chirp's id
}

// StreamFilter selects the new chirps a live stream carries: those of a
// list's filter (tags, author), or those of a home timeline.
type StreamFilter struct {
	Tags     []string // normalized
	MatchAll bool     // every tag, rather than any of them
	Author   string   // the author's username; "" for everyone
	HomeOf   int64    // the chirps of this user and of those they follow
}

// matches reports whether c belongs on a stream of f; following is the
// set of users HomeOf follows.
func (f StreamFilter) matches(c *Chirp, following map[int64]bool) bool {
	switch {
	case f.Author != "" && c.Author != f.Author:
		return false
	case f.HomeOf != 0 && c.AuthorID != f.HomeOf && !following[c.AuthorID]:
		return false
	case len(f.Tags) == 0:
		return true
	case f.MatchAll:
		for _, t := range f.Tags {
			if !slices.Contains(c.Tags, t) {
				return false
			}
		}
		return true
	}
	return slices.ContainsFunc(f.Tags, func(t string) bool { return slices.Contains(c.Tags, t) })
}

// Why a stream ended, other than its own Close.
var (
	// ErrStreamSlow: its reader fell further behind than the hub buffers.
	ErrStreamSlow = errors.New("the stream's reader fell too far behind")
	// ErrStreamMissed: changes may have been missed (the connection that
	// hears them broke, or the database could not be read); a client that
	// reconnects with the last event's id gets what it missed.
	ErrStreamMissed = errors.New("the stream may have missed changes")
	// ErrStreamClosed: the hub closed (the process is shutting down).
	ErrStreamClosed = errors.New("the server is shutting down")
)

// ReportedFollows is a FollowStore that tells caches of each follow and
// unfollow at once, for this process's home timeline streams.
type ReportedFollows struct {
	FollowStore
	caches *Caches
}

// NewReportedFollows returns follows that report their changes to caches.
func NewReportedFollows(follows FollowStore, caches *Caches) *ReportedFollows {
	return &ReportedFollows{FollowStore: follows, caches: caches}
}

// Follow makes the follower follow followee, and reports it.
func (f *ReportedFollows) Follow(ctx context.Context, followerID int64, followee string) error {
	err := f.FollowStore.Follow(ctx, followerID, followee)
	if err == nil {
		f.caches.Changed(Change{Table: ChangedFollows, ID: followerID})
	}
	return err
}

// Unfollow stops the follower following followee, and reports it.
func (f *ReportedFollows) Unfollow(ctx context.Context, followerID int64, followee string) error {
	err := f.FollowStore.Unfollow(ctx, followerID, followee)
	if err == nil {
		f.caches.Changed(Change{Table: ChangedFollows, ID: followerID})
	}
	return err
}

// HubOptions bound a Hub.
type HubOptions struct {
	MaxStreams int           // streams open at once; Subscribe refuses more
	Buffer     int           // events queued for one stream; a stream further behind is closed
	Timeout    time.Duration // each database read
}

// Hub passes new and deleted chirps to the live streams of one process. It
// hears of them from Caches: on PostgreSQL every process's changes (the
// triggers' notifications), on SQLite this process's own. It reads each
// batch of new chirps once, whatever the number of streams, and never
// waits for a stream: one whose buffer is full is closed.
type Hub struct {
	chirps  ChirpStore
	follows FollowStore
	caches  *Caches
	opts    HubOptions
	log     *slog.Logger
	changes chan Change
	stop    chan struct{}
	done    chan struct{}

	mu     sync.Mutex
	subs   map[*Subscription]struct{}
	closed bool
	seen   *LRU[int64, struct{}] // chirps passed on, some heard twice; deletions negated
	slow   int64                 // streams closed for falling behind
	heard  int64                 // changes handled
}

// Subscription is one live stream's share of a Hub.
type Subscription struct {
	hub       *Hub
	filter    StreamFilter
	following map[int64]bool // for HomeOf; guarded by hub.mu
	events    chan StreamEvent
	done      chan struct{}
	err       error // why it ended; set before done closes
}

// changeQueue is how many changes wait for the hub's reader; a burst
// beyond it ends every stream (ErrStreamMissed) rather than grow.
const changeQueue = 1024

// NewHub returns a Hub fed by caches' changes; Close stops it.
func NewHub(chirps ChirpStore, follows FollowStore, caches *Caches, o HubOptions, log *slog.Logger) *Hub {
	h := &Hub{
		chirps: chirps, follows: follows, caches: caches, opts: o, log: log,
		changes: make(chan Change, changeQueue),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		subs:    make(map[*Subscription]struct{}),
		seen:    NewLRU[int64, struct{}](4 * changeQueue),
	}
	caches.Register(h.changed, func() { h.endAll(ErrStreamMissed) })
	go h.run()
	return h
}

// changed queues a change for the hub's reader without waiting.
func (h *Hub) changed(ch Change) {
	switch ch.Table {
	case NewChirps, ChangedChirps, ChangedFollows:
	default:
		return
	}
	select {
	case h.changes <- ch:
	default:
		h.log.Warn("live streams: changes arrive faster than they are read; every stream ends and its client catches up")
		h.endAll(ErrStreamMissed)
	}
}

func (h *Hub) run() {
	defer close(h.done)
	for {
		select {
		case <-h.stop:
			return
		case ch := <-h.changes:
			changes, n := h.gather(ch)
			for _, ch := range changes {
				h.apply(ch)
			}
			h.mu.Lock()
			h.heard += int64(n)
			h.mu.Unlock()
		}
	}
}

// gather returns ch and the changes queued behind it (as many as the
// queue holds at most), in order, with consecutive new chirps joined (up
// to gatherIDs ids), so that a burst of writes is read with one query
// rather than one a batch; and how many changes it took, ch included.
func (h *Hub) gather(ch Change) ([]Change, int) {
	changes := []Change{ch}
	taken := 1
	for ; taken <= changeQueue; taken++ {
		var next Change
		select {
		case next = <-h.changes:
		default:
			return changes, taken
		}
		last := &changes[len(changes)-1]
		if last.Table == NewChirps && next.Table == NewChirps && len(last.IDs)+len(next.IDs) <= gatherIDs {
			last.IDs = append(slices.Clip(last.IDs), next.IDs...)
		} else {
			changes = append(changes, next)
		}
	}
	return changes, taken
}

// gatherIDs is how many new chirps the hub reads with one query at most.
const gatherIDs = 1000

// apply passes one change on to the streams.
func (h *Hub) apply(ch Change) {
	ctx, cancel := context.WithTimeout(context.Background(), h.opts.Timeout)
	defer cancel()
	switch ch.Table {
	case NewChirps:
		ids := h.unseen(ch.IDs)
		if len(ids) == 0 || h.Stats().Streams == 0 {
			return // a stream opened later starts after these chirps
		}
		chirps, err := h.chirps.FindChirpsByIDs(ctx, ids)
		if err != nil {
			h.log.Warn("live streams: reading new chirps; every stream ends and its client catches up", "err", err)
			h.endAll(ErrStreamMissed)
			return
		}
		for _, c := range chirps {
			h.publish(StreamEvent{Chirp: c})
		}
	case ChangedChirps:
		if len(h.unseen([]int64{-ch.ID})) == 1 {
			h.publish(StreamEvent{Deleted: ch.ID})
		}
	case ChangedFollows:
		h.reloadFollowing(ctx, ch.ID)
	}
}

// unseen returns the ids not passed on before, and marks them.
func (h *Hub) unseen(ids []int64) []int64 {
	var fresh []int64
	for _, id := range ids {
		if _, ok := h.seen.Get(id); !ok {
			h.seen.Put(id, struct{}{})
			fresh = append(fresh, id)
		}
	}
	return fresh
}

// publish offers ev to every stream it belongs on; a stream with no room
// left is closed.
func (h *Hub) publish(ev StreamEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if ev.Chirp != nil && !s.filter.matches(ev.Chirp, s.following) {
			continue
		}
		select {
		case s.events <- ev:
		default:
			h.slow++
			h.end(s, ErrStreamSlow)
		}
	}
}

// reloadFollowing reads again whom user follows, for their home streams.
func (h *Hub) reloadFollowing(ctx context.Context, user int64) {
	h.mu.Lock()
	wanted := false
	for s := range h.subs {
		wanted = wanted || s.filter.HomeOf == user
	}
	h.mu.Unlock()
	if !wanted {
		return
	}
	following, err := h.following(ctx, user)
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		switch {
		case s.filter.HomeOf != user:
		case err != nil:
			h.end(s, ErrStreamMissed)
		default:
			s.following = following
		}
	}
}

func (h *Hub) following(ctx context.Context, user int64) (map[int64]bool, error) {
	ids, err := h.follows.FollowingIDs(ctx, user)
	if err != nil {
		return nil, err
	}
	set := make(map[int64]bool, len(ids))
	for _, id := range ids {
		set[id] = true
	}
	return set, nil
}

// Subscribe opens a stream of f's events. EUNAVAILABLE when the hub is
// full, closed, or not hearing changes.
func (h *Hub) Subscribe(ctx context.Context, f StreamFilter) (*Subscription, error) {
	if !h.caches.Live() {
		return nil, Errorf(EUNAVAILABLE, "live streams are not available: the database's changes are not heard; retry shortly")
	}
	s := &Subscription{hub: h, filter: f, events: make(chan StreamEvent, max(h.opts.Buffer, 1)), done: make(chan struct{})}
	if f.HomeOf != 0 {
		ctx, cancel := context.WithTimeout(ctx, h.opts.Timeout)
		defer cancel()
		var err error
		if s.following, err = h.following(ctx, f.HomeOf); err != nil {
			return nil, err
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return nil, Errorf(EUNAVAILABLE, "the server is shutting down")
	case len(h.subs) >= h.opts.MaxStreams:
		return nil, Errorf(EUNAVAILABLE, "this server has as many live streams as it takes; retry shortly")
	}
	h.subs[s] = struct{}{}
	return s, nil
}

// end closes s for err; h.mu is held.
func (h *Hub) end(s *Subscription, err error) {
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		s.err = err
		close(s.done)
	}
}

// endAll closes every stream for err.
func (h *Hub) endAll(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		h.end(s, err)
	}
}

// Close ends every stream (ErrStreamClosed), refuses new ones and stops
// reading changes.
func (h *Hub) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	for s := range h.subs {
		h.end(s, ErrStreamClosed)
	}
	h.mu.Unlock()
	close(h.stop)
	<-h.done
}

// HubStats are the counts a hub's metrics show.
type HubStats struct {
	Streams int   // open now
	Slow    int64 // closed for falling behind, in all
	Changes int64 // changes handled, in all
}

// Stats returns the hub's counts.
func (h *Hub) Stats() HubStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return HubStats{Streams: len(h.subs), Slow: h.slow, Changes: h.heard}
}

// Events are the stream's events, in the order the hub heard them.
func (s *Subscription) Events() <-chan StreamEvent { return s.events }

// Done is closed when the stream ends for a reason of the hub's (Err).
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Err is why the stream ended, once Done is closed: ErrStreamSlow,
// ErrStreamMissed or ErrStreamClosed.
func (s *Subscription) Err() error {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return s.err
}

// FollowingCount is how many users a home stream's reader follows, as the
// hub knows: for reading what the stream missed (ChirpFilter.FollowingCount).
func (s *Subscription) FollowingCount() int {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return len(s.following)
}

// Close leaves the hub.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	s.hub.end(s, nil)
}
