package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/chirper/chirper/pkg/chirper"
)

// StreamPath is the live stream's path, a long-lived route (Route.LongLived).
const StreamPath = "/v1/stream"

// StreamOptions tune the live streams.
type StreamOptions struct {
	Heartbeat    time.Duration // a comment this often, so that no proxy finds the connection idle
	Replay       int           // chirps replayed at most after a Last-Event-ID (1 to MaxPageLimit)
	Retry        time.Duration // the reconnection delay a stream asks its client for
	WriteTimeout time.Duration // each write; a client that takes longer is dropped
	DBTimeout    time.Duration // each database read
}

// StreamGroup is the stream endpoint group: live streams of new chirps.
func StreamGroup(log *slog.Logger, hub *chirper.Hub, chirps chirper.ChirpStore, users chirper.UserStore, o StreamOptions) Group {
	return Group{Name: GroupStream, Handlers: map[string]http.Handler{
		"GET " + StreamPath: handleStream(log, hub, chirps, users, o),
	}}
}

// handleStream serves a live stream of new chirps as server-sent events:
// "chirp" events (id: the chirp's id) and "delete" events. A Last-Event-ID
// replays the chirps after it, up to o.Replay of the newest, and no chirp
// up to it follows (the hub may still be passing on chirps the client saw
// before it reconnected). A stream of the home timeline ends when its
// access token expires.
func handleStream(log *slog.Logger, hub *chirper.Hub, chirps chirper.ChirpStore, users chirper.UserStore, o StreamOptions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, home, fields := parseStreamFilter(r)
		lastID, err := parseLastEventID(r.Header.Get("Last-Event-ID"))
		if err != nil {
			fields = append(fields, chirper.FieldError{Field: "Last-Event-ID", Message: "must be the id of an event of this stream"})
		}
		if len(fields) > 0 {
			badRequest(w, r, "the stream's query is not valid", fields...)
			return
		}
		ctx, cancel := dbContext(r.Context(), o.DBTimeout)
		defer cancel()
		read := r.WithContext(ctx)
		var expires <-chan time.Time
		if home {
			me := requireUser(w, read, log, users)
			if me == nil {
				return
			}
			f.HomeOf = me.ID
			t := time.NewTimer(time.Until(info(ctx).claims.Expires))
			defer t.Stop()
			expires = t.C
		}
		if f.Author != "" {
			if _, err := users.FindUserByUsername(ctx, f.Author); err != nil {
				writeError(w, read, log, err)
				return
			}
		}
		h := w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Accel-Buffering", "no") // nginx and the like: pass each event on at once
		if r.Method == http.MethodHead {
			w.WriteHeader(http.StatusOK)
			return
		}
		// Subscribe first and replay after: a chirp stored in between is
		// in the replay, or among the events, or both (sent once).
		sub, err := hub.Subscribe(ctx, f)
		if err != nil {
			writeError(w, read, log, err)
			return
		}
		defer sub.Close()
		replay, err := missed(ctx, chirps, f, sub.FollowingCount(), lastID, o.Replay)
		if err != nil {
			writeError(w, read, log, err)
			return
		}

		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Time{}) // the request is read; the stream outlives READ_TIMEOUT
		w.WriteHeader(http.StatusOK)
		out := &sseWriter{w: w, rc: rc, timeout: o.WriteTimeout}
		out.retry(o.Retry)
		replayed := make(map[int64]bool, len(replay))
		for _, c := range replay {
			out.chirp(c)
			replayed[c.ID] = true
		}
		heartbeat := time.NewTicker(o.Heartbeat)
		defer heartbeat.Stop()
		for out.err == nil {
			select {
			case <-r.Context().Done():
				return
			case <-expires:
				out.end("the access token expired: reconnect with a new one and the Last-Event-ID", o.Retry)
			case <-sub.Done():
				out.end(sub.Err().Error(), o.Retry)
				if !errors.Is(sub.Err(), chirper.ErrStreamClosed) {
					log.InfoContext(ctx, "live stream ended", "request_id", requestID(ctx), "reason", sub.Err().Error())
				}
				return
			case <-heartbeat.C:
				out.comment("heartbeat")
			case ev := <-sub.Events():
				switch {
				case ev.Chirp == nil:
					out.deleted(ev.Deleted)
				case ev.Chirp.ID > lastID && !replayed[ev.Chirp.ID]:
					out.chirp(ev.Chirp)
				}
			}
		}
	})
}

// parseStreamFilter reads a stream's filters: those of a list that apply
// to chirps yet to come (tag, match, author), or timeline=home.
func parseStreamFilter(r *http.Request) (f chirper.StreamFilter, home bool, fields []chirper.FieldError) {
	q := r.URL.Query()
	for _, name := range []string{"since", "until", "cursor", "limit", "q"} {
		if q.Has(name) {
			fields = append(fields, chirper.FieldError{Field: name, Message: "is not a filter of live streams: they carry chirps yet to come, of the tags or author given"})
		}
	}
	switch q.Get("timeline") {
	case "":
	case "home":
		home = true
	default:
		fields = append(fields, chirper.FieldError{Field: "timeline", Message: `must be "home" (or absent)`})
	}
	list, more := parseChirpFilter(q, true)
	return chirper.StreamFilter{Tags: list.Tags, MatchAll: list.MatchAll, Author: list.Author}, home, append(fields, more...)
}

// parseLastEventID reads the Last-Event-ID header: a chirp id, or none.
func parseLastEventID(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err == nil && id < 1 {
		err = errors.New("not an id")
	}
	return id, err
}

// missed reads the chirps of f after lastID, oldest first: at most limit,
// the newest ones. following is how many users f.HomeOf follows.
func missed(ctx context.Context, chirps chirper.ChirpStore, f chirper.StreamFilter, following int, lastID int64, limit int) ([]*chirper.Chirp, error) {
	if lastID == 0 {
		return nil, nil
	}
	page, err := chirps.ListChirps(ctx, chirper.ChirpFilter{Tags: f.Tags, MatchAll: f.MatchAll, Author: f.Author, HomeOf: f.HomeOf, FollowingCount: following, Limit: limit})
	if err != nil {
		return nil, err
	}
	newer := slices.DeleteFunc(page.Chirps, func(c *chirper.Chirp) bool { return c.ID <= lastID })
	slices.Reverse(newer)
	return newer, nil
}

// sseWriter writes server-sent events, each flushed at once and within a
// deadline. The first failure sticks in err and ends the writing.
type sseWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	err     error
}

// send writes one event (or comment) and flushes it.
func (s *sseWriter) send(event string) {
	if s.err != nil {
		return
	}
	if s.err = s.rc.SetWriteDeadline(time.Now().Add(s.timeout)); s.err != nil {
		return
	}
	if _, s.err = fmt.Fprint(s.w, event); s.err == nil {
		s.err = s.rc.Flush()
	}
}

func (s *sseWriter) chirp(c *chirper.Chirp) {
	data, err := json.Marshal(newChirpResponse(c))
	if err != nil {
		s.err = err
		return
	}
	s.send(fmt.Sprintf("id: %d\nevent: chirp\ndata: %s\n\n", c.ID, data))
}

func (s *sseWriter) deleted(id int64) {
	s.send(fmt.Sprintf("event: delete\ndata: {\"id\":\"%d\"}\n\n", id))
}

func (s *sseWriter) comment(text string) { s.send(": " + text + "\n\n") }

func (s *sseWriter) retry(d time.Duration) { s.send(fmt.Sprintf("retry: %d\n\n", d.Milliseconds())) }

// end writes why the stream ends and when to come back, and ends the
// writing.
func (s *sseWriter) end(why string, retry time.Duration) {
	s.send(fmt.Sprintf(": %s\nretry: %d\n\n", why, retry.Milliseconds()))
	if s.err == nil {
		s.err = errStreamEnded
	}
}

var errStreamEnded = errors.New("the stream ended")
