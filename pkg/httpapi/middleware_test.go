package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// logLines returns the log's lines whose message is msg.
func logLines(logs *bytes.Buffer, msg string) []string {
	var lines []string
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `"msg":"`+msg+`"`) {
			lines = append(lines, line)
		}
	}
	return lines
}

func get(h http.Handler, path string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
	return w
}

func TestAccessLog(t *testing.T) {
	t.Run("Off", func(t *testing.T) {
		var logs bytes.Buffer
		h := newTestAPI(t, AuthLimits{}, &logs, func(o *Options) { o.AccessLog = AccessLog{} }).handler
		for range 5 {
			if w := get(h, "/v1/chirps"); w.Code != http.StatusOK {
				t.Fatalf("status %d", w.Code)
			}
		}
		if lines := logLines(&logs, "request"); len(lines) != 0 {
			t.Fatalf("%d access lines with the access log off", len(lines))
		}
	})
	t.Run("SlowRequestsAlways", func(t *testing.T) {
		var logs bytes.Buffer
		h := newTestAPI(t, AuthLimits{}, &logs, func(o *Options) { o.AccessLog = AccessLog{Slow: time.Nanosecond} }).handler
		get(h, "/v1/chirps")
		lines := logLines(&logs, "request")
		if len(lines) != 1 || !strings.Contains(lines[0], `"level":"WARN"`) || !strings.Contains(lines[0], `"route":"/v1/chirps"`) {
			t.Fatalf("a request over the slow threshold logged as %q, want one WARN line", lines)
		}
	})
	t.Run("BelowTheLoggersLevel", func(t *testing.T) {
		var logs bytes.Buffer
		quiet := func(o *Options) {
			o.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
			o.AccessLog = AccessLog{Every: true, Slow: time.Hour}
		}
		h := newTestAPI(t, AuthLimits{}, &logs, quiet).handler
		get(h, "/v1/chirps")
		if lines := logLines(&logs, "request"); len(lines) != 0 {
			t.Fatalf("access lines %q from a logger at WARN", lines)
		}
	})
	t.Run("On", func(t *testing.T) {
		var logs bytes.Buffer
		api := newTestAPI(t, AuthLimits{}, &logs)
		r := httptest.NewRequest("GET", "/v1/chirps/1", nil)
		r.Header.Set("Authorization", "Bearer "+api.adminToken)
		r.Header.Set("X-Request-Id", "req-12345678")
		w := httptest.NewRecorder()
		api.handler.ServeHTTP(w, r)
		lines := logLines(&logs, "request")
		if len(lines) != 1 {
			t.Fatalf("access lines %q, want one", lines)
		}
		var line map[string]any
		if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
			t.Fatalf("%v: %s", err, lines[0])
		}
		if _, err := time.Parse(time.RFC3339Nano, fmt.Sprint(line["time"])); err != nil {
			t.Errorf("time: %v", err)
		}
		want := map[string]any{
			"level": "INFO", "request_id": "req-12345678", "method": "GET", "route": "/v1/chirps/{id}",
			"status": 404.0, "bytes": float64(w.Body.Len()), "client": "192.0.2.1", "user_id": 1.0,
		}
		for k, v := range want {
			if line[k] != v {
				t.Errorf("%s = %v (%T), want %v", k, line[k], line[k], v)
			}
		}
		if d, ok := line["duration_us"].(float64); !ok || d < 0 || d != float64(int64(d)) {
			t.Errorf("duration_us = %v, want whole microseconds", line["duration_us"])
		}
	})
}

// TestDatabaseDeadline: database work past the deadline is a 503 with
// Retry-After, logged as a dependency problem, not a client gone or a bug.
func TestDatabaseDeadline(t *testing.T) {
	var logs bytes.Buffer
	h := newTestAPI(t, AuthLimits{}, &logs, func(o *Options) { o.DBTimeout = time.Nanosecond }).handler
	w := get(h, "/v1/chirps")
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q; want 503 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	if !strings.Contains(w.Body.String(), "did not answer in time") {
		t.Fatalf("body %s", w.Body)
	}
	if len(logLines(&logs, "internal error")) != 0 || len(logLines(&logs, "client went away")) != 0 {
		t.Fatalf("a deadline was logged as a bug or a client gone:\n%s", logs.String())
	}
}

// TestClientGoneBeforeTheAnswer: a request whose client went away is
// logged as 499, even when its database work (which outlives the client for
// a grace) ended and the handler wrote an answer.
func TestClientGoneBeforeTheAnswer(t *testing.T) {
	var logs bytes.Buffer
	h := newTestAPI(t, AuthLimits{}, &logs, func(o *Options) { o.DBTimeout = time.Minute }).handler
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/v1/chirps", nil).WithContext(ctx))
	lines := logLines(&logs, "request")
	if len(lines) != 1 || !strings.Contains(lines[0], `"status":499`) || !strings.Contains(lines[0], `"level":"INFO"`) {
		t.Fatalf("access lines %q, want one INFO line with status 499", lines)
	}
	if len(logLines(&logs, "internal error")) != 0 {
		t.Fatalf("a client gone was logged as a bug:\n%s", logs.String())
	}
}

// TestDBContext: the database work of a request keeps the request's values,
// ends at its deadline, and outlives its client by the grace only.
func TestDBContext(t *testing.T) {
	type key struct{}
	for _, d := range []time.Duration{time.Minute, 0} { // 0: no deadline, the grace still holds
		t.Run(fmt.Sprintf("OutlivesItsClientForTheGrace/timeout=%v", d), func(t *testing.T) {
			parent, leave := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
			ctx, cancel := dbContext(parent, d)
			defer cancel()
			if ctx.Value(key{}) != "v" {
				t.Fatal("the request's values are lost")
			}
			if _, ok := ctx.Deadline(); ok != (d > 0) {
				t.Fatalf("has a deadline: %v, want %v", ok, d > 0)
			}
			left := time.Now()
			leave()
			select {
			case <-ctx.Done():
				t.Fatal("the database work ended as its client left")
			case <-time.After(clientGoneGrace / 2):
			}
			select {
			case <-ctx.Done():
				if waited := time.Since(left); waited < clientGoneGrace {
					t.Fatalf("ended %v after its client left, before the grace of %v", waited, clientGoneGrace)
				}
				if !errors.Is(ctx.Err(), context.Canceled) {
					t.Fatalf("err %v, want context.Canceled (read as a client gone)", ctx.Err())
				}
			case <-time.After(10 * clientGoneGrace):
				t.Fatalf("still going %v after its client left", 10*clientGoneGrace)
			}
		})
	}
	t.Run("EndsAtItsDeadline", func(t *testing.T) {
		ctx, cancel := dbContext(context.Background(), time.Millisecond)
		defer cancel()
		<-ctx.Done()
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Fatalf("err %v, want context.DeadlineExceeded", ctx.Err())
		}
	})
	t.Run("EndsWithItsRequest", func(t *testing.T) {
		parent, leave := context.WithCancel(context.Background())
		defer leave()
		ctx, cancel := dbContext(parent, time.Minute)
		cancel()
		if ctx.Err() == nil {
			t.Fatal("still going after the request ended")
		}
	})
}

func TestLongLivedRoutes(t *testing.T) {
	for _, r := range Routes {
		if got, want := r.LongLived(), r.Path == StreamPath; got != want {
			t.Errorf("%s %s: long-lived %v, want %v", r.Method, r.Path, got, want)
		}
	}
	for path, want := range map[string]bool{StreamPath: true, "/v1/chirps": false, "/v1/nowhere": false} {
		if got := longLived(path); got != want {
			t.Errorf("longLived(%q) = %v, want %v", path, got, want)
		}
	}
}
