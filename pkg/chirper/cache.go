package chirper

import (
	"container/list"
	"context"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Change names stored rows whose cached copies are stale: a user who was
// changed or deleted, a chirp that was deleted, new chirps (which every
// cached first page may lack, and live streams carry), or a user's follows
// (which their home streams filter by). PostgreSQL reports every change to
// every process (triggers and LISTEN/NOTIFY); a process also reports its
// own at once.
type Change struct {
	Table string  // ChangedUsers, ChangedChirps, NewChirps or ChangedFollows
	ID    int64   // the user or chirp; the follower for ChangedFollows
	IDs   []int64 // NewChirps: the new chirps
}

// The tables a Change names.
const (
	ChangedUsers   = "users"
	ChangedChirps  = "chirps"
	NewChirps      = "new_chirps"
	ChangedFollows = "follows"
)

// Caches keeps a process's caches right: it passes every change to each of
// them, and empties them all whenever changes may have been missed (the
// connection that hears them broke). While changes may be missed the caches
// are bypassed: they neither answer nor fill.
type Caches struct {
	mu       sync.RWMutex
	live     bool
	onChange []func(Change)
	onReset  []func()
}

// NewCaches returns Caches that are live from the start when live is true
// (a single process with no other writers), and otherwise once the feed
// of changes says it is listening (Reset(true)).
func NewCaches(live bool) *Caches { return &Caches{live: live} }

// Live reports whether the caches may be used.
func (c *Caches) Live() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.live
}

// Changed passes a change to every cache.
func (c *Caches) Changed(ch Change) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, fn := range c.onChange {
		fn(ch)
	}
}

// Reset empties every cache and makes them live or bypassed.
func (c *Caches) Reset(live bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.live = live
	for _, fn := range c.onReset {
		fn()
	}
}

// Register adds a cache: onChange drops what a change makes stale, onReset
// drops everything.
func (c *Caches) Register(onChange func(Change), onReset func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onChange = append(c.onChange, onChange)
	c.onReset = append(c.onReset, onReset)
}

// LRU is a cache that forgets its least recently used entries when full:
// when its entries, or their bytes, would pass its limit. It is safe for
// concurrent use.
type LRU[K comparable, V any] struct {
	limit int64
	weigh func(K, V) int64 // an entry's share of the limit

	mu      sync.Mutex
	entries map[K]*list.Element
	order   *list.List // of lruEntry, the most recently used first
	weight  int64      // of every entry
	gen     uint64     // counts the drops, so that a fill that raced one is refused

	hits, misses, evictions atomic.Int64
}

type lruEntry[K comparable, V any] struct {
	key    K
	value  V
	weight int64
}

// NewLRU returns an LRU of at most size entries.
func NewLRU[K comparable, V any](size int) *LRU[K, V] {
	return newLRU(int64(size), func(K, V) int64 { return 1 })
}

// lruEntryBytes is what the LRU spends on an entry besides its key and
// value: the list element that orders it and its slot in the map, with
// the map's spare room (TestLRUBytes measures it).
const lruEntryBytes = 88

// NewLRUOfBytes returns an LRU whose entries take at most limit bytes of
// the heap, as it reckons them: the LRU's own bookkeeping and the key and
// value themselves, plus what refers gives, the bytes the key and value
// point to (a string's, a slice's). An entry larger than the limit is not
// cached.
func NewLRUOfBytes[K comparable, V any](limit int64, refers func(K, V) int64) *LRU[K, V] {
	own := lruEntryBytes + int64(unsafe.Sizeof(lruEntry[K, V]{}))
	return newLRU(limit, func(k K, v V) int64 { return own + refers(k, v) })
}

func newLRU[K comparable, V any](limit int64, weigh func(K, V) int64) *LRU[K, V] {
	return &LRU[K, V]{limit: max(limit, 1), weigh: weigh, entries: make(map[K]*list.Element), order: list.New()}
}

// Get returns the value of key, if cached.
func (c *LRU[K, V]) Get(key K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		c.misses.Add(1)
		var zero V
		return zero, false
	}
	c.hits.Add(1)
	c.order.MoveToFront(e)
	return e.Value.(lruEntry[K, V]).value, true
}

// Generation is a mark to take before reading what PutAt will cache.
func (c *LRU[K, V]) Generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// PutAt caches value under key unless something was dropped since the
// Generation gen was taken: the value may have been read before a change
// that the drop stood for, and must not outlive it.
func (c *LRU[K, V]) PutAt(key K, value V, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		c.put(key, value)
	}
}

// Put caches value under key.
func (c *LRU[K, V]) Put(key K, value V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.put(key, value)
}

func (c *LRU[K, V]) put(key K, value V) {
	if e, ok := c.entries[key]; ok {
		c.remove(e)
	}
	w := c.weigh(key, value)
	if w > c.limit {
		return
	}
	for c.weight+w > c.limit {
		c.remove(c.order.Back())
		c.evictions.Add(1)
	}
	c.entries[key] = c.order.PushFront(lruEntry[K, V]{key, value, w})
	c.weight += w
}

// remove forgets the entry e.
func (c *LRU[K, V]) remove(e *list.Element) {
	entry := c.order.Remove(e).(lruEntry[K, V])
	delete(c.entries, entry.key)
	c.weight -= entry.weight
}

// Delete forgets key.
func (c *LRU[K, V]) Delete(key K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if e, ok := c.entries[key]; ok {
		c.remove(e)
	}
}

// DeleteFunc forgets every entry for which drop is true.
func (c *LRU[K, V]) DeleteFunc(drop func(K, V) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for k, e := range c.entries {
		if drop(k, e.Value.(lruEntry[K, V]).value) {
			c.remove(e)
		}
	}
}

// Clear forgets everything.
func (c *LRU[K, V]) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.entries = make(map[K]*list.Element)
	c.order.Init()
	c.weight = 0
}

// CacheStats are the counts a cache's metrics show.
type CacheStats struct {
	Hits, Misses, Evictions int64
	Entries                 int
	Bytes                   int64 // NewLRUOfBytes's reckoning; for NewLRU, the entries
}

// Stats returns the cache's counts.
func (c *LRU[K, V]) Stats() CacheStats {
	c.mu.Lock()
	n, weight := c.order.Len(), c.weight
	c.mu.Unlock()
	return CacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Evictions: c.evictions.Load(), Entries: n, Bytes: weight}
}

// freshKey marks a context whose reads go past the caches.
type freshKey struct{}

// Fresh returns a context in which cached stores read from the database,
// for a decision that must see a change another process made a moment ago
// (whether a user is an admin): the caches hear of such a change a few
// milliseconds after it is made. What a fresh read finds is cached.
func Fresh(ctx context.Context) context.Context {
	return context.WithValue(ctx, freshKey{}, true)
}

func isFresh(ctx context.Context) bool {
	fresh, _ := ctx.Value(freshKey{}).(bool)
	return fresh
}

// CachedUsers is a UserStore whose FindUserByID answers from a cache (the
// users that tokens name, looked up on every authenticated request), and
// that tells the caches of every change it makes at once (a deleted user's
// chirps go too). The caches' feed drops users changed by other processes;
// a Fresh context reads past the cache.
type CachedUsers struct {
	UserStore
	caches *Caches
	cache  *LRU[int64, User] // nil: users are not cached, changes are told
}

var _ UserStore = (*CachedUsers)(nil)

// NewCachedUsers caches users of store in up to bytes of memory, kept
// right by caches; with bytes 0 it caches none but still tells caches of
// its changes.
func NewCachedUsers(store UserStore, caches *Caches, bytes int64) *CachedUsers {
	u := &CachedUsers{UserStore: store, caches: caches}
	if bytes <= 0 {
		return u
	}
	u.cache = NewLRUOfBytes(bytes, func(_ int64, u User) int64 {
		return int64(len(u.Username) + len(u.DisplayName) + len(u.Role) + len(u.PasswordHash))
	})
	caches.Register(func(ch Change) {
		if ch.Table == ChangedUsers {
			u.cache.Delete(ch.ID)
		}
	}, u.cache.Clear)
	return u
}

// Cache is the cache, for its metrics.
func (u *CachedUsers) Cache() *LRU[int64, User] { return u.cache }

// FindUserByID returns the user from the cache, or from the store (always
// in a Fresh context).
func (u *CachedUsers) FindUserByID(ctx context.Context, id int64) (*User, error) {
	if u.cache == nil || !u.caches.Live() {
		return u.UserStore.FindUserByID(ctx, id)
	}
	if cached, ok := u.cache.Get(id); ok && !isFresh(ctx) {
		return &cached, nil
	}
	gen := u.cache.Generation()
	found, err := u.UserStore.FindUserByID(ctx, id)
	if err == nil {
		u.cache.PutAt(id, *found, gen)
	}
	return found, err
}

// UpdateUser changes the user and drops the cached copy.
func (u *CachedUsers) UpdateUser(ctx context.Context, id int64, upd UserUpdate) (*User, error) {
	defer u.caches.Changed(Change{Table: ChangedUsers, ID: id})
	return u.UserStore.UpdateUser(ctx, id, upd)
}

// SetUserRole changes the role and drops the cached copy.
func (u *CachedUsers) SetUserRole(ctx context.Context, username string, role Role) (*User, error) {
	changed, err := u.UserStore.SetUserRole(ctx, username, role)
	if err == nil {
		u.caches.Changed(Change{Table: ChangedUsers, ID: changed.ID})
	}
	return changed, err
}

// DeleteUser deletes the user and drops the cached copy (and, through the
// caches, the user's cached chirps).
func (u *CachedUsers) DeleteUser(ctx context.Context, id int64) error {
	defer u.caches.Changed(Change{Table: ChangedUsers, ID: id})
	return u.UserStore.DeleteUser(ctx, id)
}

// FollowCounts knows how many users the recent readers of home timelines
// follow, as this process last heard: a follow or an unfollow
// (ChangedFollows, also by the cascade of a deletion) drops the follower's
// count, and one made by another process reaches this one milliseconds
// late. So a store may choose how to read a timeline by it
// (ChirpFilter.FollowingCount), never what the timeline holds.
type FollowCounts struct {
	follows FollowStore
	caches  *Caches
	lru     *LRU[int64, int]
}

// NewFollowCounts keeps the counts of readers in up to bytes of memory.
func NewFollowCounts(follows FollowStore, caches *Caches, bytes int64) *FollowCounts {
	c := &FollowCounts{follows: follows, caches: caches, lru: NewLRUOfBytes(bytes, func(int64, int) int64 { return 0 })}
	caches.Register(func(ch Change) {
		if ch.Table == ChangedFollows || ch.Table == ChangedUsers {
			c.lru.Delete(ch.ID)
		}
	}, c.lru.Clear)
	return c
}

// FollowingCount returns how many users user follows.
func (c *FollowCounts) FollowingCount(ctx context.Context, user int64) (int, error) {
	live := c.caches.Live()
	gen := c.lru.Generation()
	if live {
		if n, ok := c.lru.Get(user); ok {
			return n, nil
		}
	}
	ids, err := c.follows.FollowingIDs(ctx, user)
	if err != nil {
		return 0, err
	}
	if live {
		c.lru.PutAt(user, len(ids), gen)
	}
	return len(ids), nil
}

// Stats returns the cache's counts, for its metrics.
func (c *FollowCounts) Stats() CacheStats { return c.lru.Stats() }

// CachedVerifier is a TokenVerifier that verifies each token once: a token
// that verified is answered from the cache until it expires. The keys that
// verify tokens are fixed for the life of the process, so a verdict cannot
// go stale before the token expires.
type CachedVerifier struct {
	TokenVerifier
	cache *LRU[string, AccessClaims]
	now   func() int64
}

// NewCachedVerifier caches verified tokens of v in up to bytes of memory.
func NewCachedVerifier(v TokenVerifier, bytes int64, now func() int64) *CachedVerifier {
	cache := NewLRUOfBytes(bytes, func(token string, c AccessClaims) int64 {
		return int64(len(token) + len(c.Username) + len(c.Role))
	})
	return &CachedVerifier{TokenVerifier: v, cache: cache, now: now}
}

// Cache is the cache, for its metrics.
func (v *CachedVerifier) Cache() *LRU[string, AccessClaims] { return v.cache }

// Verify returns the claims of a valid token.
func (v *CachedVerifier) Verify(token string) (*AccessClaims, error) {
	if c, ok := v.cache.Get(token); ok {
		if c.Expires.UnixNano() > v.now() {
			return &c, nil
		}
		v.cache.Delete(token)
	}
	c, err := v.TokenVerifier.Verify(token)
	if err == nil {
		v.cache.Put(token, *c)
	}
	return c, err
}
