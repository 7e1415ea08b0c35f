package chirper_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chirper/chirper/pkg/chirper"
)

// TestLRUOfBytes checks that an LRU bounded in bytes forgets by bytes: as
// many of the least recently used entries as a new one needs room for,
// none for an entry larger than the whole limit, and the bytes of what it
// drops.
func TestLRUOfBytes(t *testing.T) {
	c := chirper.NewLRUOfBytes(1000, func(_ int64, v string) int64 { return int64(len(v)) })
	c.Put(1, "")
	own := c.Stats().Bytes // what an empty value costs
	c.Delete(1)
	if s := c.Stats(); s.Bytes != 0 || s.Entries != 0 {
		t.Fatalf("after the only entry was deleted: %+v", s)
	}
	small := strings.Repeat("s", int(200-own)) // 200 bytes an entry
	for i := range 5 {
		c.Put(int64(i), small)
	}
	if s := c.Stats(); s.Entries != 5 || s.Bytes != 1000 || s.Evictions != 0 {
		t.Fatalf("five entries of 200 bytes in 1000: %+v", s)
	}
	c.Get(0) // 1 is now the least recently used
	c.Put(9, strings.Repeat("b", int(400-own)))
	for id, want := range map[int64]bool{0: true, 1: false, 2: false, 3: true, 4: true, 9: true} {
		if _, ok := c.Get(id); ok != want {
			t.Errorf("entry %d cached: %v, want %v", id, ok, want)
		}
	}
	if s := c.Stats(); s.Bytes != 1000 || s.Evictions != 2 {
		t.Fatalf("after a 400-byte entry took the room of two: %+v", s)
	}
	c.Put(10, strings.Repeat("h", 1001))
	if _, ok := c.Get(10); ok {
		t.Error("an entry larger than the limit was cached")
	}
	if s := c.Stats(); s.Entries != 4 {
		t.Errorf("an entry larger than the limit dropped others: %+v", s)
	}
	c.Put(9, small) // replaced: its bytes are counted once
	if s := c.Stats(); s.Bytes != 800 {
		t.Errorf("after an entry was replaced by a smaller one: %+v", s)
	}
	c.Clear()
	if s := c.Stats(); s.Bytes != 0 || s.Entries != 0 {
		t.Errorf("after Clear: %+v", s)
	}
}

// heapGrowth returns the bytes the live heap grew by while fill ran.
func heapGrowth(fill func()) int64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fill()
	runtime.GC()
	runtime.ReadMemStats(&after)
	return int64(after.HeapAlloc) - int64(before.HeapAlloc)
}

// TestLRUBytes checks the reckoning of NewLRUOfBytes against the heap: an
// LRU full of entries takes within a fifth of the bytes it counts, whether
// its keys are numbers or strings and its values small or large.
func TestLRUBytes(t *testing.T) {
	const n = 20000
	for _, size := range []int{0, 40, 150, 600} {
		t.Run(fmt.Sprint("bytes=", size), func(t *testing.T) {
			var c *chirper.LRU[int64, []byte]
			grew := heapGrowth(func() {
				c = chirper.NewLRUOfBytes(1<<40, func(_ int64, b []byte) int64 { return int64(cap(b)) })
				for i := range n {
					c.Put(int64(i), make([]byte, size))
				}
			})
			checkReckoning(t, grew, c.Stats())
			runtime.KeepAlive(c)
		})
	}
	t.Run("tokens", func(t *testing.T) {
		var v *chirper.CachedVerifier
		grew := heapGrowth(func() {
			v = chirper.NewCachedVerifier(anyToken{}, 1<<40, func() int64 { return 0 })
			for i := range n {
				v.Verify(fmt.Sprintf("%0250d", i))
			}
		})
		checkReckoning(t, grew, v.Cache().Stats())
		runtime.KeepAlive(v)
	})
}

func checkReckoning(t *testing.T, grew int64, s chirper.CacheStats) {
	t.Helper()
	t.Logf("%d entries: the heap grew %d bytes an entry, the LRU counts %d", s.Entries, grew/int64(s.Entries), s.Bytes/int64(s.Entries))
	if grew < s.Bytes*4/5 || grew > s.Bytes*6/5 {
		t.Errorf("the heap grew by %d bytes, the LRU counts %d: more than a fifth apart", grew, s.Bytes)
	}
}

// anyToken finds every token valid, for a user named in full.
type anyToken struct{}

func (anyToken) Verify(token string) (*chirper.AccessClaims, error) {
	return &chirper.AccessClaims{UserID: 1, Username: strings.Repeat("u", 12), Role: chirper.RoleUser, Expires: time.Now().Add(time.Hour)}, nil
}
