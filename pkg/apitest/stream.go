package apitest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/chirper/chirper/pkg/client"
)

// DeliveryBound is how soon a new chirp must reach the live streams that
// want it, on whichever instance they are connected.
const DeliveryBound = time.Second

// liveStream reads a stream's events in the background, so that a test can
// wait for the next one with a bound.
type liveStream struct {
	*client.Stream
	events chan *client.Event
	ended  chan error
}

// openStream opens a stream and reads it until the test ends.
func openStream(tb testing.TB, c *client.Client, o client.StreamOptions) *liveStream {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := c.Stream(ctx, o)
	if err != nil {
		cancel()
		tb.Fatalf("opening a stream: %v", err)
	}
	ls := &liveStream{Stream: s, events: make(chan *client.Event, 100), ended: make(chan error, 1)}
	go func() {
		for {
			ev, err := s.Next()
			if err != nil {
				ls.ended <- err
				return
			}
			ls.events <- ev
		}
	}()
	tb.Cleanup(func() {
		cancel()
		s.Close()
	})
	return ls
}

// nextChirp returns the next chirp event, skipping deletions, and fails
// unless one came within DeliveryBound.
func (ls *liveStream) nextChirp(tb testing.TB) *client.Chirp {
	tb.Helper()
	timeout := time.After(DeliveryBound)
	for {
		select {
		case ev := <-ls.events:
			if ev.Type == "chirp" {
				if ev.ID != ev.Chirp.ID {
					tb.Fatalf("a chirp event's id is %q, its chirp's %q", ev.ID, ev.Chirp.ID)
				}
				return ev.Chirp
			}
		case err := <-ls.ended:
			tb.Fatalf("the stream ended: %v", err)
		case <-timeout:
			tb.Fatalf("no chirp on the stream within %v", DeliveryBound)
		}
	}
}

// nextDeletion returns the id of the next deletion on the stream.
func (ls *liveStream) nextDeletion(tb testing.TB) string {
	tb.Helper()
	timeout := time.After(DeliveryBound)
	for {
		select {
		case ev := <-ls.events:
			if ev.Type == "delete" {
				return ev.Deleted
			}
		case err := <-ls.ended:
			tb.Fatalf("the stream ended: %v", err)
		case <-timeout:
			tb.Fatalf("no deletion on the stream within %v", DeliveryBound)
		}
	}
}

func testStream(t *testing.T, env *Env) {
	ctx := context.Background()
	anon := env.Client()
	alice, bob, carol := env.mustAccount(t, "streamer"), env.mustAccount(t, "streamer"), env.mustAccount(t, "streamer")
	post := func(tb testing.TB, a *account, msg string, tags ...string) *client.Chirp {
		tb.Helper()
		c, err := a.C.CreateChirp(ctx, client.NewChirp{Message: msg, Tags: tags})
		if err != nil {
			tb.Fatal(err)
		}
		return c
	}
	wantChirp := func(tb testing.TB, got, want *client.Chirp) {
		tb.Helper()
		if got.ID != want.ID || got.Message != want.Message || got.Author != want.Author {
			tb.Fatalf("the stream carried %+v, want %+v", got, want)
		}
	}

	t.Run("Refusals", func(t *testing.T) {
		for _, c := range []struct {
			name   string
			o      client.StreamOptions
			fields []string
		}{
			{"a window", client.StreamOptions{Filter: client.Filter{Since: time.Now()}}, []string{"since"}},
			{"paging", client.StreamOptions{Filter: client.Filter{Limit: 5, Cursor: "abc"}}, []string{"limit", "cursor"}},
			{"a search", client.StreamOptions{Filter: client.Filter{Search: "hello"}}, []string{"q"}},
			{"a bad tag", client.StreamOptions{Filter: client.Filter{Tags: []string{"no spaces"}}}, []string{"tag"}},
			{"a bad Last-Event-ID", client.StreamOptions{LastEventID: "yesterday"}, []string{"Last-Event-ID"}},
		} {
			_, err := anon.Stream(ctx, c.o)
			wantFields(t, wantProblem(t, err, http.StatusBadRequest), c.fields...)
		}
		resp := raw(t, anon, "GET", "/v1/stream?timeline=public", "", "", nil)
		if resp.Status != http.StatusBadRequest {
			t.Fatalf("timeline=public: %d, want 400", resp.Status)
		}
		_, err := anon.Stream(ctx, client.StreamOptions{Home: true})
		wantProblem(t, err, http.StatusUnauthorized)
		_, err = anon.Stream(ctx, client.StreamOptions{Filter: client.Filter{Author: "nobody_here"}})
		wantProblem(t, err, http.StatusNotFound)
	})

	t.Run("Head", func(t *testing.T) {
		resp := raw(t, anon, "HEAD", "/v1/stream", "", "", nil)
		if resp.Status != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" || len(resp.Body) != 0 {
			t.Fatalf("HEAD: %d %q, %d bytes", resp.Status, resp.Header.Get("Content-Type"), len(resp.Body))
		}
	})

	t.Run("ByTagAndAuthor", func(t *testing.T) {
		tag := env.name("live")
		byTag := openStream(t, anon, client.StreamOptions{Filter: client.Filter{Tags: []string{"#" + tag}}})
		byAuthor := openStream(t, anon, client.StreamOptions{Filter: client.Filter{Author: bob.Username}})
		both := openStream(t, anon, client.StreamOptions{Filter: client.Filter{Tags: []string{tag, "other"}, MatchAll: true}})
		post(t, alice, "not for the tag stream")
		tagged := post(t, alice, "for the tag stream", tag)
		bobs := post(t, bob, "for the author stream")
		wantChirp(t, byTag.nextChirp(t), tagged)
		wantChirp(t, byAuthor.nextChirp(t), bobs)
		twoTags := post(t, carol, "both tags", "other", tag)
		wantChirp(t, both.nextChirp(t), twoTags)
		wantChirp(t, byTag.nextChirp(t), twoTags)
	})

	t.Run("HomeTimeline", func(t *testing.T) {
		if err := alice.C.Follow(ctx, bob.Username); err != nil {
			t.Fatal(err)
		}
		home := openStream(t, alice.C, client.StreamOptions{Home: true})
		post(t, carol, "alice does not follow carol")
		c := post(t, bob, "alice follows bob")
		wantChirp(t, home.nextChirp(t), c)
		c = post(t, alice, "alice's own")
		wantChirp(t, home.nextChirp(t), c)

		// A follow and an unfollow change an open stream at once.
		if err := alice.C.Follow(ctx, carol.Username); err != nil {
			t.Fatal(err)
		}
		c = post(t, carol, "now alice follows carol")
		wantChirp(t, home.nextChirp(t), c)
		if err := alice.C.Unfollow(ctx, carol.Username); err != nil {
			t.Fatal(err)
		}
		post(t, carol, "alice no longer follows carol")
		c = post(t, bob, "still followed")
		wantChirp(t, home.nextChirp(t), c)
	})

	t.Run("ReplayAfterLastEventID", func(t *testing.T) {
		tag := env.name("replay")
		first := post(t, alice, "seen before the break", tag)
		missed := []*client.Chirp{post(t, bob, "missed one", tag), post(t, carol, "missed two", tag)}
		s := openStream(t, anon, client.StreamOptions{Filter: client.Filter{Tags: []string{tag}}, LastEventID: first.ID})
		for _, want := range missed {
			wantChirp(t, s.nextChirp(t), want)
		}
		c := post(t, alice, "live again", tag)
		wantChirp(t, s.nextChirp(t), c)
		if s.Retry <= 0 {
			t.Fatal("the stream did not say how long to wait before reconnecting (retry:)")
		}
	})

	t.Run("Deletions", func(t *testing.T) {
		tag := env.name("gone")
		s := openStream(t, anon, client.StreamOptions{Filter: client.Filter{Tags: []string{tag}}})
		c := post(t, alice, "soon deleted", tag)
		wantChirp(t, s.nextChirp(t), c)
		if err := alice.C.DeleteChirp(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		for s.nextDeletion(t) != c.ID { // other tests' deletions may come first
		}
	})
}
