package chirper_test

import (
	"context"
	"testing"
	"time"

	"github.com/chirper/chirper/pkg/chirper"
	"github.com/chirper/chirper/pkg/sqlite"
	"github.com/chirper/chirper/pkg/sqlite/sqlitetest"
	"github.com/chirper/chirper/pkg/storetest"
)

func TestLRU(t *testing.T) {
	c := chirper.NewLRU[string, int](2)
	c.Put("a", 1)
	c.Put("b", 2)
	c.Get("a") // b is now the least recently used
	c.Put("c", 3)
	if _, ok := c.Get("b"); ok {
		t.Fatal("the least recently used entry stayed")
	}
	if v, ok := c.Get("a"); !ok || v != 1 {
		t.Fatal("a recently used entry went")
	}
	gen := c.Generation()
	c.Delete("zzz")
	c.PutAt("d", 4, gen)
	if _, ok := c.Get("d"); ok {
		t.Fatal("a value read before a drop was cached after it")
	}
	if s := c.Stats(); s.Hits != 2 || s.Misses != 2 || s.Evictions != 1 || s.Entries != 2 {
		t.Fatalf("stats %+v", s)
	}
}

// countingVerifier finds every token valid until expires, and counts the
// verifications.
type countingVerifier struct {
	calls   int
	expires time.Time
}

func (v *countingVerifier) Verify(string) (*chirper.AccessClaims, error) {
	v.calls++
	return &chirper.AccessClaims{UserID: 1, Expires: v.expires}, nil
}

func TestCachedVerifier(t *testing.T) {
	now := time.Now()
	inner := &countingVerifier{expires: now.Add(time.Minute)}
	v := chirper.NewCachedVerifier(inner, 1<<20, func() int64 { return now.UnixNano() })
	for range 3 {
		if _, err := v.Verify("token"); err != nil {
			t.Fatal(err)
		}
	}
	if inner.calls != 1 {
		t.Fatalf("%d verifications of one token, want 1", inner.calls)
	}
	now = now.Add(2 * time.Minute) // past its expiry
	if _, err := v.Verify("token"); err != nil || inner.calls != 2 {
		t.Fatalf("an expired token was answered from the cache (%d verifications, %v)", inner.calls, err)
	}
}

func TestCachedUsersBypassedWhileNotLive(t *testing.T) {
	ctx := context.Background()
	db := sqlitetest.MustOpenDB(t)
	store := sqlite.NewUserStore(db)
	caches := chirper.NewCaches(true)
	users := chirper.NewCachedUsers(store, caches, 1<<20)
	u := storetest.MustCreateUser(t, store, "alice")
	if _, err := users.FindUserByID(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	// Another writer changes alice behind the cache's back while the feed
	// is down: the caches are emptied and bypassed.
	caches.Reset(false)
	if _, err := db.ExecContext(ctx, `UPDATE users SET role = 'admin' WHERE id = ?`, u.ID); err != nil {
		t.Fatal(err)
	}
	got, err := users.FindUserByID(ctx, u.ID)
	if err != nil || got.Role != chirper.RoleAdmin {
		t.Fatalf("while not live: %+v, %v; want the stored admin", got, err)
	}
	if s := users.Cache().Stats(); s.Entries != 0 {
		t.Fatalf("%d users cached while not live", s.Entries)
	}
	caches.Reset(true)
	users.FindUserByID(ctx, u.ID)
	users.FindUserByID(ctx, u.ID)
	if s := users.Cache().Stats(); s.Hits != 1 {
		t.Fatalf("hits %d after the feed came back, want 1: the second lookup", s.Hits)
	}
}

func TestCachedUsersFreshReadsPastTheCache(t *testing.T) {
	ctx := context.Background()
	db := sqlitetest.MustOpenDB(t)
	store := sqlite.NewUserStore(db)
	users := chirper.NewCachedUsers(store, chirper.NewCaches(true), 1<<20)
	u := storetest.MustCreateUser(t, store, "alice")
	if _, err := users.FindUserByID(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	// Another process makes alice an admin; this one has not heard yet.
	if _, err := db.ExecContext(ctx, `UPDATE users SET role = 'admin' WHERE id = ?`, u.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := users.FindUserByID(ctx, u.ID); got.Role != chirper.RoleUser {
		t.Fatalf("cached role %q, want the cached user (the test shows nothing otherwise)", got.Role)
	}
	got, err := users.FindUserByID(chirper.Fresh(ctx), u.ID)
	if err != nil || got.Role != chirper.RoleAdmin {
		t.Fatalf("fresh read: %+v, %v; want the stored admin", got, err)
	}
	if got, _ := users.FindUserByID(ctx, u.ID); got.Role != chirper.RoleAdmin {
		t.Fatalf("after a fresh read the cache holds role %q, want what it read", got.Role)
	}
}

func TestFollowCounts(t *testing.T) {
	ctx := context.Background()
	db := sqlitetest.MustOpenDB(t)
	users := sqlite.NewUserStore(db)
	caches := chirper.NewCaches(true)
	follows := chirper.NewReportedFollows(sqlite.NewFollowStore(db), caches)
	counts := chirper.NewFollowCounts(follows, caches, 1<<20)
	alice := storetest.MustCreateUser(t, users, "alice")
	storetest.MustCreateUser(t, users, "bob")
	count := func() int {
		t.Helper()
		n, err := counts.FollowingCount(ctx, alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 0 {
		t.Fatalf("no follows: %d", n)
	}
	if err := follows.Follow(ctx, alice.ID, "bob"); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 1 {
		t.Fatalf("after a follow: %d, want 1", n)
	}
	count()
	if s := counts.Stats(); s.Hits != 1 {
		t.Fatalf("stats %+v, want the second read after the follow from the cache", s)
	}
	// Another process's unfollow: unheard, the count is a moment old;
	// heard, it is right.
	if _, err := db.ExecContext(ctx, `DELETE FROM follows`); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 1 {
		t.Fatalf("before the unfollow is heard: %d, want the cached 1", n)
	}
	caches.Changed(chirper.Change{Table: chirper.ChangedFollows, ID: alice.ID})
	if n := count(); n != 0 {
		t.Fatalf("after an unfollow elsewhere: %d, want 0", n)
	}
	// While changes may be missed, the store answers.
	caches.Reset(false)
	if err := follows.Follow(ctx, alice.ID, "bob"); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 1 {
		t.Fatalf("while not live: %d, want the stored 1", n)
	}
	if s := counts.Stats(); s.Entries != 0 {
		t.Fatalf("%d counts cached while not live", s.Entries)
	}
}
