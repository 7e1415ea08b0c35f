package chirper_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chirper/chirper/pkg/chirper"
	"github.com/chirper/chirper/pkg/sqlite"
	"github.com/chirper/chirper/pkg/sqlite/sqlitetest"
	"github.com/chirper/chirper/pkg/storetest"
)

// hubFixture is a Hub on a real SQLite database, fed by hand.
type hubFixture struct {
	db      *sqlite.DB
	chirps  *gatedChirps
	users   chirper.UserStore
	follows chirper.FollowStore
	caches  *chirper.Caches
	hub     *chirper.Hub
}

func newHubFixture(t *testing.T, o chirper.HubOptions) *hubFixture {
	db := sqlitetest.MustOpenDB(t)
	f := &hubFixture{db: db, chirps: &gatedChirps{ChirpStore: sqlite.NewChirpStore(db)}, users: sqlite.NewUserStore(db), caches: chirper.NewCaches(true)}
	f.follows = chirper.NewReportedFollows(sqlite.NewFollowStore(db), f.caches)
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	f.hub = chirper.NewHub(f.chirps, f.follows, f.caches, o, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(f.hub.Close)
	return f
}

// gatedChirps counts the hub's reads of new chirps and, once hold is
// called, holds the next read until the test lets it go.
type gatedChirps struct {
	chirper.ChirpStore
	reads atomic.Int64

	mu      sync.Mutex
	entered chan struct{} // closed when the held read starts
	release chan struct{} // closed to let it go
}

// hold makes the next read wait; it returns when the read has started and
// a function that lets it go.
func (g *gatedChirps) hold() (started <-chan struct{}, letGo func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	entered, release := make(chan struct{}), make(chan struct{})
	g.entered, g.release = entered, release
	return entered, sync.OnceFunc(func() { close(release) })
}

func (g *gatedChirps) FindChirpsByIDs(ctx context.Context, ids []int64) ([]*chirper.Chirp, error) {
	g.reads.Add(1)
	g.mu.Lock()
	entered, release := g.entered, g.release
	g.entered, g.release = nil, nil
	g.mu.Unlock()
	if entered != nil {
		close(entered)
		<-release
	}
	return g.ChirpStore.FindChirpsByIDs(ctx, ids)
}

// post stores a chirp and tells the hub, as the create handler does.
func (f *hubFixture) post(t *testing.T, author *chirper.User, tags ...string) *chirper.Chirp {
	t.Helper()
	c := storetest.MustCreateChirp(t, f.chirps, author.ID, "hello from "+author.Username, tags...)
	f.caches.Changed(chirper.Change{Table: chirper.NewChirps, IDs: []int64{c.ID}})
	return c
}

func (f *hubFixture) subscribe(t *testing.T, filter chirper.StreamFilter) *chirper.Subscription {
	t.Helper()
	s, err := f.hub.Subscribe(context.Background(), filter)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// received returns the ids of the chirps s gets until a marker chirp (posted
// last, seen by every stream) arrives, the marker excluded.
func received(t *testing.T, s *chirper.Subscription, marker int64) []int64 {
	t.Helper()
	var ids []int64
	for {
		select {
		case ev := <-s.Events():
			if ev.Chirp.ID == marker {
				return ids
			}
			ids = append(ids, ev.Chirp.ID)
		case <-s.Done():
			t.Fatalf("the stream ended: %v", s.Err())
		case <-time.After(5 * time.Second):
			t.Fatalf("no marker after %v", ids)
		}
	}
}

func TestHubFiltersLikeTheLists(t *testing.T) {
	f := newHubFixture(t, chirper.HubOptions{MaxStreams: 10, Buffer: 10})
	alice := storetest.MustCreateUser(t, f.users, "alice")
	bob := storetest.MustCreateUser(t, f.users, "bob")
	carol := storetest.MustCreateUser(t, f.users, "carol")
	if err := f.follows.Follow(context.Background(), alice.ID, "bob"); err != nil {
		t.Fatal(err)
	}
	all := f.subscribe(t, chirper.StreamFilter{})
	anyTag := f.subscribe(t, chirper.StreamFilter{Tags: []string{"go", "sql"}})
	everyTag := f.subscribe(t, chirper.StreamFilter{Tags: []string{"go", "sql"}, MatchAll: true})
	byBob := f.subscribe(t, chirper.StreamFilter{Author: "bob"})
	home := f.subscribe(t, chirper.StreamFilter{HomeOf: alice.ID})
	if n := home.FollowingCount(); n != 1 {
		t.Fatalf("the home stream counts %d follows, want 1 (bob)", n)
	}

	goOnly := f.post(t, carol, "go")
	both := f.post(t, bob, "sql", "go")
	own := f.post(t, alice)
	// Heard twice (this process's report and the database's): sent once.
	f.caches.Changed(chirper.Change{Table: chirper.NewChirps, IDs: []int64{goOnly.ID, both.ID}})
	marker := f.post(t, alice, "go", "sql")
	if err := f.follows.Follow(context.Background(), alice.ID, "carol"); err != nil {
		t.Fatal(err)
	}
	followed := f.post(t, carol)
	homeMarker := f.post(t, bob, "go", "sql")

	for _, c := range []struct {
		name   string
		s      *chirper.Subscription
		marker int64
		want   []int64
	}{
		{"everything", all, marker.ID, []int64{goOnly.ID, both.ID, own.ID}},
		{"any tag", anyTag, marker.ID, []int64{goOnly.ID, both.ID}},
		{"every tag", everyTag, marker.ID, []int64{both.ID}},
		{"an author", byBob, homeMarker.ID, []int64{both.ID}},
		{"a home timeline, then a new follow", home, homeMarker.ID, []int64{both.ID, own.ID, marker.ID, followed.ID}},
	} {
		if got := received(t, c.s, c.marker); !equalIDs(got, c.want) {
			t.Errorf("%s: got chirps %v, want %v", c.name, got, c.want)
		}
	}
	if n := home.FollowingCount(); n != 2 {
		t.Errorf("after following carol the home stream counts %d follows, want 2", n)
	}
}

// wantEnd waits up to 5 s for s to end, and checks that it ended for want.
func wantEnd(t *testing.T, s *chirper.Subscription, want error, what string) {
	t.Helper()
	select {
	case <-s.Done():
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: the stream did not end", what)
	}
	if !errors.Is(s.Err(), want) {
		t.Fatalf("%s: ended for %v, want %v", what, s.Err(), want)
	}
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestHubDropsASlowReaderOnly(t *testing.T) {
	f := newHubFixture(t, chirper.HubOptions{MaxStreams: 10, Buffer: 2})
	alice := storetest.MustCreateUser(t, f.users, "alice")
	slow := f.subscribe(t, chirper.StreamFilter{})
	fast := f.subscribe(t, chirper.StreamFilter{})
	for range 5 {
		f.post(t, alice)
		select { // the fast reader keeps up
		case <-fast.Events():
		case <-time.After(5 * time.Second):
			t.Fatal("the fast reader got nothing")
		}
	}
	wantEnd(t, slow, chirper.ErrStreamSlow, "a reader 3 events behind a buffer of 2")
	if st := f.hub.Stats(); st.Streams != 1 || st.Slow != 1 {
		t.Fatalf("stats %+v, want 1 stream left and 1 dropped", st)
	}
	select {
	case <-fast.Done():
		t.Fatalf("the fast reader was dropped too: %v", fast.Err())
	default:
	}
}

func TestHubBoundsAndEnds(t *testing.T) {
	f := newHubFixture(t, chirper.HubOptions{MaxStreams: 1, Buffer: 10})
	s := f.subscribe(t, chirper.StreamFilter{})
	if _, err := f.hub.Subscribe(context.Background(), chirper.StreamFilter{}); chirper.ErrorCode(err) != chirper.EUNAVAILABLE {
		t.Fatalf("a stream past the limit: %v, want EUNAVAILABLE", err)
	}
	s.Close()
	s = f.subscribe(t, chirper.StreamFilter{}) // a closed stream frees its place

	// Changes may have been missed: every stream ends, so that its client
	// reconnects and replays from the database.
	f.caches.Reset(false)
	wantEnd(t, s, chirper.ErrStreamMissed, "after a reset")
	if _, err := f.hub.Subscribe(context.Background(), chirper.StreamFilter{}); chirper.ErrorCode(err) != chirper.EUNAVAILABLE {
		t.Fatalf("while changes are not heard: %v, want EUNAVAILABLE", err)
	}
	f.caches.Reset(true)
	s = f.subscribe(t, chirper.StreamFilter{})
	f.hub.Close()
	wantEnd(t, s, chirper.ErrStreamClosed, "at shutdown")
	if _, err := f.hub.Subscribe(context.Background(), chirper.StreamFilter{}); chirper.ErrorCode(err) != chirper.EUNAVAILABLE {
		t.Fatalf("after Close: %v, want EUNAVAILABLE", err)
	}
}

func TestHubSendsDeletions(t *testing.T) {
	f := newHubFixture(t, chirper.HubOptions{MaxStreams: 10, Buffer: 10})
	s := f.subscribe(t, chirper.StreamFilter{Tags: []string{"unrelated"}})
	for range 2 { // heard twice, sent once
		f.caches.Changed(chirper.Change{Table: chirper.ChangedChirps, ID: 42})
	}
	f.caches.Changed(chirper.Change{Table: chirper.ChangedChirps, ID: 43})
	for _, want := range []int64{42, 43} {
		select {
		case ev := <-s.Events():
			if ev.Chirp != nil || ev.Deleted != want {
				t.Fatalf("event %+v, want the deletion of %d", ev, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no deletion of %d", want)
		}
	}
}

// TestHubReadsOnlyForStreams: with no stream open, new chirps are not read
// at all; a stream opened later starts after them.
func TestHubReadsOnlyForStreams(t *testing.T) {
	f := newHubFixture(t, chirper.HubOptions{MaxStreams: 10, Buffer: 10})
	alice := storetest.MustCreateUser(t, f.users, "alice")
	for range 3 {
		f.post(t, alice)
	}
	for deadline := time.Now().Add(5 * time.Second); f.hub.Stats().Changes < 3; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the hub handled %d of 3 changes in 5s", f.hub.Stats().Changes)
		}
	}
	if got := f.chirps.reads.Load(); got != 0 {
		t.Errorf("the hub read new chirps %d times with no stream open, want 0", got)
	}
	s := f.subscribe(t, chirper.StreamFilter{})
	marker := f.post(t, alice)
	if got := received(t, s, marker.ID); len(got) != 0 {
		t.Errorf("the stream got %v, posted before it opened", got)
	}
	if got := f.chirps.reads.Load(); got != 1 {
		t.Errorf("the hub read new chirps %d times, want 1 (the marker, once a stream was open)", got)
	}
}

// TestHubReadsABurstOnce: new chirps that queue while the hub reads are
// read together, with one query, and reach the stream in order.
func TestHubReadsABurstOnce(t *testing.T) {
	f := newHubFixture(t, chirper.HubOptions{MaxStreams: 10, Buffer: 100})
	alice := storetest.MustCreateUser(t, f.users, "alice")
	s := f.subscribe(t, chirper.StreamFilter{})
	started, letGo := f.chirps.hold()
	defer letGo()
	first := f.post(t, alice)
	<-started
	want := []int64{first.ID}
	for range 10 {
		want = append(want, f.post(t, alice).ID)
	}
	marker := f.post(t, alice)
	letGo()
	if got := received(t, s, marker.ID); !equalIDs(got, want) {
		t.Errorf("the stream got %v, want %v", got, want)
	}
	if got := f.chirps.reads.Load(); got != 2 {
		t.Errorf("the hub read new chirps %d times, want 2 (the first, then the 11 queued behind it)", got)
	}
}

func TestHubEndsStreamsWhenTheDatabaseFails(t *testing.T) {
	f := newHubFixture(t, chirper.HubOptions{MaxStreams: 10, Buffer: 10})
	alice := storetest.MustCreateUser(t, f.users, "alice")
	home := f.subscribe(t, chirper.StreamFilter{HomeOf: alice.ID})
	c := storetest.MustCreateChirp(t, f.chirps, alice.ID, "stored, but not readable by the hub")
	f.db.Close()
	// A new chirp the hub cannot read: its streams may miss it, so they end
	// and their clients replay from the database when it is back.
	f.caches.Changed(chirper.Change{Table: chirper.NewChirps, IDs: []int64{c.ID}})
	wantEnd(t, home, chirper.ErrStreamMissed, "a home stream whose new chirp could not be read")
	// A home stream cannot start without whom its reader follows.
	if _, err := f.hub.Subscribe(context.Background(), chirper.StreamFilter{HomeOf: alice.ID}); err == nil {
		t.Fatal("a home stream started with the database down")
	}
}
