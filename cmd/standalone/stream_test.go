package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/chirper/chirper/pkg/apitest"
	"github.com/chirper/chirper/pkg/client"
)

// nextChirp reads the stream until its next chirp event.
func nextChirp(s *client.Stream) (*client.Chirp, error) {
	for {
		ev, err := s.Next()
		if err != nil {
			return nil, err
		}
		if ev.Chirp != nil {
			return ev.Chirp, nil
		}
	}
}

// TestStreamsAcrossInstances runs two standalones on one PostgreSQL
// database: a chirp posted on one reaches a stream on the other within
// apitest.DeliveryBound; when the other stops hearing changes it ends its
// streams, and a client that reconnects with Last-Event-ID misses nothing.
func TestStreamsAcrossInstances(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := startPair(t)
	poster, _ := p.registered("poster")
	filter := client.Filter{Tags: []string{"relay"}}
	post := func(msg string) *client.Chirp {
		t.Helper()
		c, err := poster.CreateChirp(ctx, client.NewChirp{Message: msg, Tags: []string{"relay"}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// arrives reads the next chirp of s within the bound and checks it.
	arrives := func(s *client.Stream, want *client.Chirp, since time.Time) {
		t.Helper()
		got, err := nextChirp(s)
		if err != nil {
			t.Fatalf("waiting for chirp %s: %v", want.ID, err)
		}
		if got.ID != want.ID {
			t.Fatalf("the stream carried chirp %s, want %s", got.ID, want.ID)
		}
		if took := time.Since(since); took > apitest.DeliveryBound {
			t.Fatalf("chirp %s arrived after %v, want within %v", want.ID, took, apitest.DeliveryBound)
		}
	}

	s, err := p.onB.Stream(ctx, client.StreamOptions{Filter: filter})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 5 {
		start := time.Now()
		arrives(s, post("relayed "+string(rune('a'+i))), start)
	}

	// B's listening connection dies: B cannot know what it misses, so it
	// ends its streams with a retry hint.
	p.killListeners(t)
	for {
		_, err := s.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the stream failed instead of ending: %v", err)
		}
	}
	if s.Retry <= 0 {
		t.Fatal("the ended stream gave no retry hint")
	}
	missed := []*client.Chirp{post("missed one"), post("missed two")}

	// Reconnect as an EventSource does: after the hint, with the last id,
	// until B hears changes again (503 meanwhile).
	var again *client.Stream
	for deadline := time.Now().Add(10 * time.Second); again == nil; {
		time.Sleep(min(s.Retry, 200*time.Millisecond))
		again, err = p.onB.Stream(ctx, client.StreamOptions{Filter: filter, LastEventID: s.LastEventID})
		var problem *client.Problem
		switch {
		case err == nil:
		case errors.As(err, &problem) && problem.Status == http.StatusServiceUnavailable && time.Now().Before(deadline):
		default:
			t.Fatalf("reconnecting: %v", err)
		}
	}
	defer again.Close()
	for _, want := range missed {
		arrives(again, want, time.Now())
	}
	start := time.Now()
	arrives(again, post("live after the reconnection"), start)
}

// rawStream opens GET /v1/stream and returns its status and a reader of its
// lines.
func rawStream(t *testing.T, url string) (*http.Response, *bufio.Scanner) {
	t.Helper()
	resp, err := http.Get(url + "/v1/stream")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp, bufio.NewScanner(resp.Body)
}

// readUntil reads lines until one equals want, failing after limit.
func readUntil(t *testing.T, sc *bufio.Scanner, want string, limit time.Duration) {
	t.Helper()
	found := make(chan bool, 1)
	go func() {
		for sc.Scan() {
			if sc.Text() == want {
				found <- true
				return
			}
		}
		found <- false
	}()
	select {
	case ok := <-found:
		if !ok {
			t.Fatalf("the stream ended before %q", want)
		}
	case <-time.After(limit):
		t.Fatalf("no %q within %v", want, limit)
	}
}

// TestStreamBounds: a process holds at most CHIRPER_STREAM_MAX_CONNECTIONS
// streams, keeps idle ones alive with heartbeats, ends a home stream when
// its token expires, and ends every stream at shutdown with a retry hint,
// without waiting out the grace period.
func TestStreamBounds(t *testing.T) {
	ctx := context.Background()
	s := startStandalone(t, map[string]string{
		"CHIRPER_STREAM_MAX_CONNECTIONS": "2",
		"CHIRPER_STREAM_HEARTBEAT":       "50ms",
		// A token's expiry is whole seconds: one of 3 s lives 2 to 3 s.
		"CHIRPER_ACCESS_TOKEN_TTL": "3s",
		"CHIRPER_SHUTDOWN_GRACE":   "20s",
	})
	anon := client.New(s.URL, apitest.ValidatingClient(t, s.URL))
	if _, err := anon.Register(ctx, client.Registration{Username: "alice", Password: "long enough"}); err != nil {
		t.Fatal(err)
	}
	tok, err := anon.Login(ctx, "alice", "long enough")
	if err != nil {
		t.Fatal(err)
	}
	home, err := anon.WithToken(tok.AccessToken).Stream(ctx, client.StreamOptions{Home: true})
	if err != nil {
		t.Fatal(err)
	}
	defer home.Close()
	opened := time.Now()
	resp, lines := rawStream(t, s.URL)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the second stream: %d", resp.StatusCode)
	}
	_, err = anon.Stream(ctx, client.StreamOptions{})
	var problem *client.Problem
	if !errors.As(err, &problem) || problem.Status != http.StatusServiceUnavailable || problem.Header.Get("Retry-After") == "" {
		t.Fatalf("a third stream: %v, want 503 with Retry-After", err)
	}
	readUntil(t, lines, ": heartbeat", time.Second)

	if _, err := home.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("the home stream after its token expired: %v, want its end", err)
	}
	if took := time.Since(opened); took > 4*time.Second {
		t.Fatalf("the home stream ended %v after its 3s token", took)
	}
	if _, err := anon.Stream(ctx, client.StreamOptions{}); err != nil {
		t.Fatalf("a stream in the freed place: %v", err)
	}

	stopped := time.Now()
	s.Stop()
	readUntil(t, lines, ": the server is shutting down", 3*time.Second)
	if !lines.Scan() || lines.Text() != "retry: 2000" {
		t.Fatalf("after the shutdown notice: %q, want a retry hint", lines.Text())
	}
	if lines.Scan() && lines.Scan() {
		t.Fatalf("the stream went on after the shutdown notice: %q", lines.Text())
	}
	if took := time.Since(stopped); took > 3*time.Second {
		t.Fatalf("streams ended %v after SIGTERM, want at once", took)
	}
}
