package client

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// StreamOptions select a live stream.
type StreamOptions struct {
	Filter Filter // Tags, MatchAll and Author; the other fields are refused (400)
	Home   bool   // the caller's home timeline (needs a token)
	// LastEventID resumes a stream: the chirps after this event's id come
	// first (the newest 100 at most).
	LastEventID string
}

// Event is one event of a live stream.
type Event struct {
	Type    string // "chirp" or "delete"
	ID      string // a chirp event's id: the LastEventID to resume after it
	Chirp   *Chirp // the new chirp of a "chirp" event
	Deleted string // the id of a "delete" event's deleted chirp
}

// Stream is an open live stream. Next reads its events; Close leaves it.
type Stream struct {
	body io.ReadCloser
	sc   *bufio.Scanner
	// LastEventID is the id of the last chirp event read, to resume with.
	LastEventID string
	// Retry is the reconnection delay the server asked for, if it did.
	Retry time.Duration
}

// Stream opens a live stream of new chirps. The context bounds the whole
// stream: cancel it, or call Close, to leave.
func (c *Client) Stream(ctx context.Context, o StreamOptions) (*Stream, error) {
	q := o.Filter.query()
	if o.Home {
		q.Set("timeline", "home")
	}
	path := "/v1/stream"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	header := http.Header{"Accept": {"text/event-stream"}}
	if o.LastEventID != "" {
		header.Set("Last-Event-ID", o.LastEventID)
	}
	resp, err := c.send(ctx, http.MethodGet, path, nil, header)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			return nil, err
		}
		return nil, newProblem(&Response{Status: resp.StatusCode, Header: resp.Header, Body: body})
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		resp.Body.Close()
		return nil, fmt.Errorf("chirper: a stream answered %q, not text/event-stream", ct)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	return &Stream{body: resp.Body, sc: sc, LastEventID: o.LastEventID}, nil
}

// Next returns the next event, skipping comments and events of types it
// does not know. io.EOF when the server
// ended the stream (reconnect with LastEventID after Retry).
func (s *Stream) Next() (*Event, error) {
	var typ, id, data string
	for s.sc.Scan() {
		line := s.sc.Text()
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "": // a comment, or the blank line that ends an event
			if line != "" || typ == "" {
				continue
			}
			if ev, err := s.event(typ, id, data); ev != nil || err != nil {
				return ev, err
			}
			typ, id, data = "", "", "" // a type this client does not know
		case "event":
			typ = value
		case "id":
			id = value
		case "data":
			data += value
		case "retry":
			if ms, err := strconv.Atoi(value); err == nil {
				s.Retry = time.Duration(ms) * time.Millisecond
			}
		}
	}
	if err := s.sc.Err(); err != nil {
		return nil, err
	}
	return nil, io.EOF
}

func (s *Stream) event(typ, id, data string) (*Event, error) {
	ev := &Event{Type: typ, ID: id}
	switch typ {
	case "chirp":
		if err := json.Unmarshal([]byte(data), &ev.Chirp); err != nil {
			return nil, fmt.Errorf("chirper: a chirp event: %w", err)
		}
		s.LastEventID = id
	case "delete":
		var d struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal([]byte(data), &d); err != nil {
			return nil, fmt.Errorf("chirper: a delete event: %w", err)
		}
		ev.Deleted = d.ID
	default:
		return nil, nil
	}
	return ev, nil
}

// Close leaves the stream.
func (s *Stream) Close() error { return s.body.Close() }
