package storetest

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/chirper/chirper/pkg/chirper"
)

func testChirps(t *testing.T, open func(t *testing.T) Stores) {
	ctx := context.Background()

	t.Run("CreateChirp", func(t *testing.T) {
		s := open(t)
		u := MustCreateUser(t, s.Users, "alice")
		c := MustCreateChirp(t, s.Chirps, u.ID, "hello #World and #go", "Intro", "go")
		if c.ID == 0 || c.CreatedAt.IsZero() {
			t.Fatalf("ID or CreatedAt not set: %+v", c)
		}
		if c.Author != "alice" {
			t.Fatalf("Author = %q, want alice", c.Author)
		}
		got, err := s.Chirps.FindChirpByID(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Fatalf("FindChirpByID = %+v, want %+v", got, c)
		}
		if want := []string{"intro", "go", "world"}; !reflect.DeepEqual(got.Tags, want) {
			t.Fatalf("Tags = %q, want %q", got.Tags, want)
		}
	})

	t.Run("CreateChirpWithoutTags", func(t *testing.T) {
		s := open(t)
		u := MustCreateUser(t, s.Users, "alice")
		c := MustCreateChirp(t, s.Chirps, u.ID, "no tags here")
		got, err := s.Chirps.FindChirpByID(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Tags == nil || len(got.Tags) != 0 {
			t.Fatalf("Tags = %#v, want an empty, non-nil slice", got.Tags)
		}
	})

	t.Run("CreateChirps", func(t *testing.T) {
		s := open(t)
		alice, bob := MustCreateUser(t, s.Users, "alice"), MustCreateUser(t, s.Users, "bob")
		var batch []*chirper.Chirp
		for i := range 7 {
			author, tags := alice, []string{"batch"}
			if i%2 == 1 {
				author, tags = bob, []string{"batch", fmt.Sprintf("odd%d", i)}
			}
			c, err := chirper.NewChirp{AuthorID: author.ID, Message: fmt.Sprintf("batched %d #b%d", i, i), Tags: tags}.Prepare()
			if err != nil {
				t.Fatal(err)
			}
			batch = append(batch, c)
		}
		if reserved, err := s.Chirps.CreateChirps(ctx, batch, 0); err != nil || len(reserved) != 0 {
			t.Fatalf("reserved %v, %v; want none", reserved, err)
		}
		if !unique(batch) {
			t.Fatalf("ids %v are not unique", ids(batch))
		}
		for i, c := range batch {
			got, err := s.Chirps.FindChirpByID(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c) || got.Message != fmt.Sprintf("batched %d #b%d", i, i) {
				t.Fatalf("chirp %d: stored %+v, returned %+v", i, got, c)
			}
		}
		n, err := s.Chirps.CountChirps(ctx, chirper.ChirpFilter{Tags: []string{"batch"}})
		if err != nil || n != 7 {
			t.Fatalf("count of #batch = %d, %v; want 7", n, err)
		}
		if _, err := s.Chirps.CreateChirps(ctx, nil, 0); err != nil {
			t.Fatalf("an empty batch: %v", err)
		}
	})

	t.Run("SearchFindsEveryChirpOfABatch", func(t *testing.T) {
		s := open(t)
		alice := MustCreateUser(t, s.Users, "alice")
		names := []string{"alpha", "bravo", "charlie", "delta", "echo"}
		var batch []*chirper.Chirp
		for _, name := range names {
			c, err := chirper.NewChirp{AuthorID: alice.ID, Message: "batched " + name}.Prepare()
			if err != nil {
				t.Fatal(err)
			}
			batch = append(batch, c)
		}
		if _, err := s.Chirps.CreateChirps(ctx, batch, 0); err != nil {
			t.Fatal(err)
		}
		search := func(word string) []int64 {
			return ids(walk(t, s.Chirps, chirper.ChirpFilter{Words: []string{word}, Limit: 2}))
		}
		for i, name := range names {
			if got := search(name); !slices.Equal(got, []int64{batch[i].ID}) {
				t.Fatalf("search %q found %v, want [%d]", name, got, batch[i].ID)
			}
		}
		if got := search("batched"); len(got) != len(batch) {
			t.Fatalf("search \"batched\" found %v, want the batch's %d chirps", got, len(batch))
		}
		if err := s.Chirps.DeleteChirp(ctx, batch[2].ID); err != nil {
			t.Fatal(err)
		}
		if got := search("charlie"); len(got) != 0 {
			t.Fatalf("search \"charlie\" found %v after its chirp was deleted", got)
		}
		if got := search("batched"); len(got) != len(batch)-1 {
			t.Fatalf("search \"batched\" found %v after a delete, want %d chirps", got, len(batch)-1)
		}
	})

	t.Run("ErrCreateChirpsAllOrNothing", func(t *testing.T) {
		s := open(t)
		alice := MustCreateUser(t, s.Users, "alice")
		var batch []*chirper.Chirp
		for _, author := range []int64{alice.ID, 424242, alice.ID} {
			c, err := chirper.NewChirp{AuthorID: author, Message: "all or nothing #aon"}.Prepare()
			if err != nil {
				t.Fatal(err)
			}
			batch = append(batch, c)
		}
		reserved, err := s.Chirps.CreateChirps(ctx, batch, 2)
		assertCode(t, err, chirper.ENOTFOUND)
		if reserved != nil {
			t.Fatalf("a failed batch returned ids %v", reserved)
		}
		n, err := s.Chirps.CountChirps(ctx, chirper.ChirpFilter{Tags: []string{"aon"}})
		if err != nil || n != 0 {
			t.Fatalf("%d chirps of a failed batch were stored (%v)", n, err)
		}
		if found := walk(t, s.Chirps, chirper.ChirpFilter{Words: []string{"nothing"}, Limit: 10}); len(found) != 0 {
			t.Fatalf("search finds %d chirps of a failed batch", len(found))
		}
	})

	t.Run("ReserveChirpIDsBeforeAnyChirp", func(t *testing.T) {
		s := open(t)
		alice := MustCreateUser(t, s.Users, "alice")
		ids, err := s.Chirps.ReserveChirpIDs(ctx, 2)
		if err != nil || len(ids) != 2 || ids[0] < 1 || ids[1] <= ids[0] {
			t.Fatalf("reserved %v, %v; want 2 increasing ids", ids, err)
		}
		if c := MustCreateChirp(t, s.Chirps, alice.ID, "after"); c.ID <= ids[1] {
			t.Fatalf("the first chirp took id %d, at or below the reserved %v", c.ID, ids)
		}
	})

	t.Run("ReserveChirpIDs", func(t *testing.T) {
		s := open(t)
		alice := MustCreateUser(t, s.Users, "alice")
		before := MustCreateChirp(t, s.Chirps, alice.ID, "before")
		ids, err := s.Chirps.ReserveChirpIDs(ctx, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != 3 || ids[0] <= before.ID || ids[1] <= ids[0] || ids[2] <= ids[1] {
			t.Fatalf("reserved %v after chirp %d, want 3 new increasing ids", ids, before.ID)
		}
		// Chirps without a reserved id never take one that is.
		var unreserved int64
		for range 4 {
			c := MustCreateChirp(t, s.Chirps, alice.ID, "unreserved")
			if slices.Contains(ids, c.ID) {
				t.Fatalf("chirp %d took a reserved id %v", c.ID, ids)
			}
			unreserved = c.ID
		}
		var batch []*chirper.Chirp
		for i, id := range []int64{ids[2], ids[0]} {
			c, err := chirper.NewChirp{AuthorID: alice.ID, Message: fmt.Sprint("reserved ", i), Tags: []string{"r"}}.Prepare()
			if err != nil {
				t.Fatal(err)
			}
			c.ID = id
			batch = append(batch, c)
		}
		ahead, err := s.Chirps.CreateChirps(ctx, batch, 4)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Chirps.FindChirpByID(ctx, ids[2])
		if err != nil || got.Message != "reserved 0" || got.Author != "alice" {
			t.Fatalf("chirp %d = %+v, %v; want the first of the batch", ids[2], got, err)
		}
		if batch[1].ID != ids[0] || batch[1].Author != "alice" || batch[1].CreatedAt.IsZero() {
			t.Fatalf("second chirp of the batch = %+v", batch[1])
		}
		// Its id is taken now: storing it again is a conflict, not a copy.
		again := &chirper.Chirp{ID: ids[2], AuthorID: alice.ID, Message: "again", Tags: []string{}}
		assertCode(t, s.Chirps.CreateChirp(ctx, again), chirper.ECONFLICT)
		// The batch reserved 4 ids ahead, higher than every id before, and
		// no chirp without a reserved id takes them either.
		if len(ahead) != 4 || !slices.IsSorted(ahead) || ahead[0] <= unreserved {
			t.Fatalf("reserved ahead %v after ids %v, want 4 new increasing ids", ahead, ids)
		}
		latest := MustCreateChirp(t, s.Chirps, alice.ID, "unreserved")
		if latest.ID <= ahead[3] {
			t.Fatalf("chirp %d took an id at or below those reserved ahead %v", latest.ID, ahead)
		}
		c, err := chirper.NewChirp{AuthorID: alice.ID, Message: "reserved ahead"}.Prepare()
		if err != nil {
			t.Fatal(err)
		}
		c.ID = ahead[1]
		if _, err := s.Chirps.CreateChirps(ctx, []*chirper.Chirp{c}, 0); err != nil || c.ID != ahead[1] {
			t.Fatalf("a chirp under an id reserved ahead: id %d, %v", c.ID, err)
		}
		n, err := s.Chirps.CountChirps(ctx, chirper.ChirpFilter{})
		if err != nil || n != 9 {
			t.Fatalf("count = %d, %v; want 9", n, err)
		}
	})

	t.Run("ErrAuthorNotFound", func(t *testing.T) {
		s := open(t)
		c, err := chirper.NewChirp{AuthorID: 12345, Message: "orphan"}.Prepare()
		if err != nil {
			t.Fatal(err)
		}
		assertCode(t, s.Chirps.CreateChirp(ctx, c), chirper.ENOTFOUND)
	})

	t.Run("ErrChirpNotFound", func(t *testing.T) {
		s := open(t)
		_, err := s.Chirps.FindChirpByID(ctx, 987654)
		assertCode(t, err, chirper.ENOTFOUND)
		assertCode(t, s.Chirps.DeleteChirp(ctx, 987654), chirper.ENOTFOUND)
	})

	t.Run("FindChirpsByIDs", func(t *testing.T) {
		s := open(t)
		u := MustCreateUser(t, s.Users, "alice")
		a := MustCreateChirp(t, s.Chirps, u.ID, "first", "go")
		b := MustCreateChirp(t, s.Chirps, u.ID, "second", "db", "go")
		// An id asked for twice (two reads batched together) comes once.
		got, err := s.Chirps.FindChirpsByIDs(ctx, []int64{b.ID, 987654, a.ID, b.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || !reflect.DeepEqual(*got[0], *a) || !reflect.DeepEqual(*got[1], *b) {
			t.Fatalf("got %+v, want the two chirps that exist, by id: %+v, %+v", got, a, b)
		}
		if got, err := s.Chirps.FindChirpsByIDs(ctx, nil); err != nil || len(got) != 0 {
			t.Fatalf("no ids: %v, %v", got, err)
		}
	})

	t.Run("DeleteChirp", func(t *testing.T) {
		s := open(t)
		u := MustCreateUser(t, s.Users, "alice")
		c := MustCreateChirp(t, s.Chirps, u.ID, "short-lived #tmp")
		keep := MustCreateChirp(t, s.Chirps, u.ID, "long-lived #tmp")
		if err := s.Chirps.DeleteChirp(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		_, err := s.Chirps.FindChirpByID(ctx, c.ID)
		assertCode(t, err, chirper.ENOTFOUND)
		assertCode(t, s.Chirps.DeleteChirp(ctx, c.ID), chirper.ENOTFOUND)
		n, err := s.Chirps.CountChirps(ctx, chirper.ChirpFilter{Tags: []string{"tmp"}})
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("count of #tmp = %d, want 1 (only %d)", n, keep.ID)
		}
	})

	t.Run("ConcurrentWriters", func(t *testing.T) {
		s := open(t)
		const writers, each = 8, 25
		authors := make([]*chirper.User, writers)
		for i := range authors {
			authors[i] = MustCreateUser(t, s.Users, fmt.Sprintf("writer_%d", i))
		}
		var wg sync.WaitGroup
		errs := make(chan error, writers*each)
		for _, a := range authors {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range each {
					c, err := chirper.NewChirp{AuthorID: a.ID, Message: fmt.Sprintf("chirp %d #load", j)}.Prepare()
					if err == nil {
						err = s.Chirps.CreateChirp(ctx, c)
					}
					if err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("concurrent CreateChirp: %v", err)
		}
		n, err := s.Chirps.CountChirps(ctx, chirper.ChirpFilter{Tags: []string{"load"}})
		if err != nil {
			t.Fatal(err)
		}
		if n != writers*each {
			t.Fatalf("count = %d, want %d", n, writers*each)
		}
		all := walk(t, s.Chirps, chirper.ChirpFilter{Limit: 37})
		if len(all) != writers*each || !unique(all) {
			t.Fatalf("walked %d chirps (unique: %v), want %d", len(all), unique(all), writers*each)
		}
	})
}

// walk pages through every chirp matching f and returns them in order.
func walk(tb testing.TB, chirps chirper.ChirpStore, f chirper.ChirpFilter) []*chirper.Chirp {
	tb.Helper()
	var all []*chirper.Chirp
	for pages := 0; ; pages++ {
		if pages > 10000 {
			tb.Fatal("pagination does not end")
		}
		page, err := chirps.ListChirps(context.Background(), f)
		if err != nil {
			tb.Fatalf("ListChirps(%+v): %v", f, err)
		}
		if len(page.Chirps) > f.Limit {
			tb.Fatalf("page of %d chirps, limit %d", len(page.Chirps), f.Limit)
		}
		all = append(all, page.Chirps...)
		if page.NextBeforeID == 0 {
			return all
		}
		if len(page.Chirps) != f.Limit {
			tb.Fatalf("page of %d chirps has a next cursor; want full pages before the last", len(page.Chirps))
		}
		f.BeforeID = page.NextBeforeID
	}
}

func ids(cs []*chirper.Chirp) []int64 {
	out := make([]int64, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func unique(cs []*chirper.Chirp) bool {
	seen := make(map[int64]bool, len(cs))
	for _, c := range cs {
		if seen[c.ID] {
			return false
		}
		seen[c.ID] = true
	}
	return true
}
