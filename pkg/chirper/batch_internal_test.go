package chirper

import (
	"fmt"
	"testing"
	"time"
)

// TestReservedAheadKeepsEachIDsTime: ids reserved ahead go stale by the
// time each was drawn, so that ids left over from one batch do not take
// those drawn later with them.
func TestReservedAheadKeepsEachIDsTime(t *testing.T) {
	t0 := time.Now()
	t1 := t0.Add(40 * time.Millisecond)
	var r reservedAhead
	r.add([]int64{1, 2, 3}, t0)
	r.add(nil, t1)
	r.add([]int64{4, 5}, t1)
	steps := []struct {
		n     int
		since time.Time
		want  string
	}{
		{1, t0, "[1]"},                         // fresh: the oldest first
		{5, t0.Add(time.Millisecond), "[4 5]"}, // 2 and 3 are stale, 4 and 5 not
		{1, t0, "[]"},                          // none left
	}
	for i, s := range steps {
		if got := fmt.Sprint(r.take(s.n, s.since)); got != s.want {
			t.Fatalf("step %d: took %s, want %s", i, got, s.want)
		}
	}
	r.add([]int64{6, 7}, t1)
	if got := fmt.Sprint(r.take(1, t1), r.take(1, t1.Add(time.Nanosecond))); got != "[6] []" {
		t.Fatalf("took %s, want [6] and then none: 7 went stale", got)
	}
}
