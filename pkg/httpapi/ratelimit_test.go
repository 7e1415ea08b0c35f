package httpapi

import (
	"fmt"
	"testing"
	"time"
)

func TestLimiterSweepEmptiesAQuietLimiter(t *testing.T) {
	now := time.Now()
	l := NewLimiter(RateLimit{Requests: 5, Window: time.Minute}, 0)
	l.now = func() time.Time { return now }
	for i := range 5000 {
		l.Allow(fmt.Sprint("junk-", i))
	}
	l.Sweep()
	if got := l.Keys(); got != 5000 {
		t.Fatalf("Keys = %d within the window, want 5000", got)
	}
	now = now.Add(time.Minute)
	l.Sweep()
	if got := l.Keys(); got != 0 {
		t.Fatalf("Keys = %d after the window and a sweep, want 0", got)
	}
	if len(l.windows) != 0 || l.peak != 0 {
		t.Fatalf("the emptied limiter keeps a map of %d (peak %d)", len(l.windows), l.peak)
	}
}
