package storetest

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/chirper/chirper/pkg/chirper"
)

// fixture is a small data set whose expected lists are computed in Go.
type fixture struct {
	s      Stores
	chirps []*chirper.Chirp // in creation order
	ann    int64            // who follows ben
	home   map[int64]bool   // the authors of ann's home timeline
}

var fixtureTags = [][]string{{"go"}, {"db"}, {"go", "db"}, {}, {"go", "web"}, {"web"}, {"db", "web", "go"}}

func newFixture(t *testing.T, s Stores) *fixture {
	t.Helper()
	f := &fixture{s: s}
	authors := []*chirper.User{MustCreateUser(t, s.Users, "ann"), MustCreateUser(t, s.Users, "ben"), MustCreateUser(t, s.Users, "cat")}
	if err := s.Follows.Follow(context.Background(), authors[0].ID, "ben"); err != nil {
		t.Fatal(err)
	}
	f.ann, f.home = authors[0].ID, map[int64]bool{authors[0].ID: true, authors[1].ID: true}
	for i := range 31 {
		c := MustCreateChirp(t, s.Chirps, authors[i%3].ID, fmt.Sprintf("Chirp number %d: %s", i, fixtureWords[i%len(fixtureWords)]), fixtureTags[i%len(fixtureTags)]...)
		f.chirps = append(f.chirps, c)
		time.Sleep(time.Millisecond) // distinct created_at for the since/until boundaries
	}
	return f
}

// fixtureWords end the fixture's messages, for searches.
var fixtureWords = []string{"Apple pie!", "apple", "banana-split", "cherry & APPLE pie", "Äpfel"}

// want returns the fixture's chirps that match f, newest first.
func (fx *fixture) want(f chirper.ChirpFilter) []*chirper.Chirp {
	var out []*chirper.Chirp
	for _, c := range fx.chirps {
		inHome := f.HomeOf == 0 || c.AuthorID == f.HomeOf || (f.HomeOf == fx.ann && fx.home[c.AuthorID])
		if matches(c, f) && inHome {
			out = append(out, c)
		}
	}
	slices.Reverse(out)
	return out
}

// matches is the reference semantics of a ChirpFilter.
func matches(c *chirper.Chirp, f chirper.ChirpFilter) bool {
	if f.Author != "" && c.Author != f.Author {
		return false
	}
	if !f.Since.IsZero() && c.CreatedAt.Before(f.Since) {
		return false
	}
	if !f.Until.IsZero() && !c.CreatedAt.Before(f.Until) {
		return false
	}
	for _, w := range f.Words {
		if !slices.Contains(chirper.SearchWords(c.Message), w) {
			return false
		}
	}
	if len(f.Tags) == 0 {
		return true
	}
	hits := 0
	for _, t := range f.Tags {
		if slices.Contains(c.Tags, t) {
			hits++
		}
	}
	if f.MatchAll {
		return hits == len(f.Tags)
	}
	return hits > 0
}

func testLists(t *testing.T, open func(t *testing.T) Stores) {
	ctx := context.Background()
	t.Run("HomeOfManyFollows", func(t *testing.T) {
		// Past 100 follows PostgreSQL reads a timeline another way.
		s := open(t)
		reader := MustCreateUser(t, s.Users, "reader")
		var want, followed []int64
		for i := range 240 {
			u := MustCreateUser(t, s.Users, fmt.Sprint("followed_", i))
			c := MustCreateChirp(t, s.Chirps, u.ID, fmt.Sprint("chirp ", i))
			if i%2 == 0 { // every other one followed
				if err := s.Follows.Follow(ctx, reader.ID, u.Username); err != nil {
					t.Fatal(err)
				}
				want = append([]int64{c.ID}, want...)
				followed = append(followed, u.ID)
			}
		}
		// The count of follows may be a moment old: it plans the read but
		// never changes the page.
		for _, count := range []int{120, 0, 5, 100_000} {
			got := walk(t, s.Chirps, chirper.ChirpFilter{HomeOf: reader.ID, FollowingCount: count, Limit: 7})
			if !reflect.DeepEqual(ids(got), want) {
				t.Fatalf("home of a reader of 120, counted as %d: %v, want %v", count, ids(got), want)
			}
		}
		following, err := s.Follows.FollowingIDs(ctx, reader.ID)
		slices.Sort(following)
		if err != nil || !slices.Equal(following, followed) {
			t.Fatalf("FollowingIDs: %v, %v; want the 120 followed %v", following, err, followed)
		}
	})
	s := open(t)
	fx := newFixture(t, s)
	at := func(i int) time.Time { return fx.chirps[i].CreatedAt }

	filters := []struct {
		name string
		f    chirper.ChirpFilter
	}{
		{"All", chirper.ChirpFilter{}},
		{"OneTag", chirper.ChirpFilter{Tags: []string{"go"}}},
		{"AnyOfTwoTags", chirper.ChirpFilter{Tags: []string{"go", "db"}}},
		{"AnyOfThreeTags", chirper.ChirpFilter{Tags: []string{"web", "db", "go"}}},
		{"AllOfTwoTags", chirper.ChirpFilter{Tags: []string{"go", "db"}, MatchAll: true}},
		{"AllOfThreeTags", chirper.ChirpFilter{Tags: []string{"db", "web", "go"}, MatchAll: true}},
		{"AllOfOneTag", chirper.ChirpFilter{Tags: []string{"web"}, MatchAll: true}},
		{"UnknownTag", chirper.ChirpFilter{Tags: []string{"nothing"}}},
		{"Author", chirper.ChirpFilter{Author: "ben"}},
		{"UnknownAuthor", chirper.ChirpFilter{Author: "nobody"}},
		{"AuthorAndTag", chirper.ChirpFilter{Author: "cat", Tags: []string{"go"}}},
		{"SinceInclusive", chirper.ChirpFilter{Since: at(10)}},
		{"UntilExclusive", chirper.ChirpFilter{Until: at(10)}},
		{"SinceUntil", chirper.ChirpFilter{Since: at(5), Until: at(20)}},
		{"SinceUntilAnyTags", chirper.ChirpFilter{Since: at(5), Until: at(20), Tags: []string{"web", "db"}}},
		{"SinceUntilAllTagsAuthor", chirper.ChirpFilter{Since: at(3), Until: at(30), Tags: []string{"go", "db"}, MatchAll: true, Author: "ann"}},
		{"EmptyWindow", chirper.ChirpFilter{Since: at(30).Add(time.Hour)}},
		{"SearchOneWord", chirper.ChirpFilter{Words: []string{"apple"}}},
		{"SearchEveryWord", chirper.ChirpFilter{Words: []string{"pie", "apple"}}},
		{"SearchNumber", chirper.ChirpFilter{Words: []string{"17"}}},
		{"SearchHyphenated", chirper.ChirpFilter{Words: chirper.SearchWords("Banana-Split")}},
		{"SearchNotASCII", chirper.ChirpFilter{Words: chirper.SearchWords("ÄPFEL")}},
		{"SearchNoMatch", chirper.ChirpFilter{Words: []string{"zebra"}}},
		{"SearchTagsAuthorWindow", chirper.ChirpFilter{Words: []string{"apple"}, Tags: []string{"go", "db"}, Author: "ann", Since: at(2), Until: at(29)}},
		{"SearchAllTags", chirper.ChirpFilter{Words: []string{"chirp"}, Tags: []string{"go", "db"}, MatchAll: true}},
		{"Home", chirper.ChirpFilter{HomeOf: fx.ann}},
		{"HomeWindow", chirper.ChirpFilter{HomeOf: fx.ann, Since: at(4), Until: at(25)}},
		{"HomeSearch", chirper.ChirpFilter{HomeOf: fx.ann, Words: []string{"apple"}}},
		{"HomeTag", chirper.ChirpFilter{HomeOf: fx.ann, Tags: []string{"db"}}},
		{"HomeOfNoOne", chirper.ChirpFilter{HomeOf: fx.ann + 1000}},
	}
	// A home timeline must list the same whatever the caller counted of
	// the follows (a count a moment old): read as a reader of many.
	for _, tc := range filters {
		if tc.f.HomeOf == 0 {
			continue
		}
		f := tc.f
		f.FollowingCount = 100_000
		filters = append(filters, struct {
			name string
			f    chirper.ChirpFilter
		}{tc.name + "CountedMany", f})
	}
	for _, tc := range filters {
		t.Run(tc.name, func(t *testing.T) {
			want := fx.want(tc.f)
			for _, limit := range []int{1, 3, 7, 100} {
				f := tc.f
				f.Limit = limit
				if err := f.Validate(); err != nil {
					t.Fatalf("filter not valid: %v", err)
				}
				got := walk(t, s.Chirps, f)
				if !reflect.DeepEqual(ids(got), ids(want)) {
					t.Fatalf("limit %d: got %v, want %v", limit, ids(got), ids(want))
				}
			}
			if len(want) > 0 {
				f := tc.f
				f.Limit = 1
				first, err := s.Chirps.ListChirps(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(first.Chirps[0], want[0]) {
					t.Fatalf("newest = %+v, want %+v", first.Chirps[0], want[0])
				}
			}
			n, err := s.Chirps.CountChirps(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(len(want)) {
				t.Fatalf("CountChirps = %d, want %d (as listed)", n, len(want))
			}
		})
	}

	t.Run("LastPageExactlyFull", func(t *testing.T) {
		want := fx.want(chirper.ChirpFilter{Author: "ann"}) // 11 chirps
		f := chirper.ChirpFilter{Author: "ann", Limit: len(want)}
		page, err := s.Chirps.ListChirps(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Chirps) != len(want) || page.NextBeforeID != 0 {
			t.Fatalf("got %d chirps and cursor %d, want %d and none", len(page.Chirps), page.NextBeforeID, len(want))
		}
	})

	t.Run("CursorStableUnderInserts", func(t *testing.T) {
		f := chirper.ChirpFilter{Tags: []string{"web", "db"}, Limit: 4}
		want := fx.want(f)
		author, err := s.Users.FindUserByUsername(ctx, "ben")
		if err != nil {
			t.Fatal(err)
		}
		var got []*chirper.Chirp
		for {
			page, err := s.Chirps.ListChirps(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, page.Chirps...)
			// New chirps that match arrive between the pages.
			MustCreateChirp(t, s.Chirps, author.ID, "late #web")
			MustCreateChirp(t, s.Chirps, author.ID, "later #db #web")
			if page.NextBeforeID == 0 {
				break
			}
			f.BeforeID = page.NextBeforeID
		}
		if !reflect.DeepEqual(ids(got), ids(want)) {
			t.Fatalf("walked %v, want %v: a chirp repeated or vanished", ids(got), ids(want))
		}
	})
}
