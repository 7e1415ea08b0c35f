package apitest

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chirper/chirper/pkg/client"
)

// walk follows next_cursor through every page and returns the chirp ids.
func walk(tb testing.TB, list func(cursor string) (*client.Page, error)) []string {
	tb.Helper()
	var ids []string
	cursor := ""
	for range 1000 {
		page, err := list(cursor)
		if err != nil {
			tb.Fatal(err)
		}
		for _, c := range page.Chirps {
			ids = append(ids, c.ID)
		}
		if page.NextCursor == "" {
			return ids
		}
		cursor = page.NextCursor
	}
	tb.Fatal("pagination does not end")
	return nil
}

func testLists(t *testing.T, env *Env) {
	ctx := context.Background()
	anon := env.Client()
	a := env.mustAccount(t, "lister")
	b := env.mustAccount(t, "other")
	tag := strings.ReplaceAll(env.name("t"), "_", "") // a tag no other test uses
	other := tag + "x"

	var mine, tagged, both []string // ids, oldest first
	start := time.Now().Add(-time.Second)
	for i := range 12 {
		author := a
		if i%3 == 0 {
			author = b
		}
		tags := []string{tag}
		if i%2 == 0 {
			tags = append(tags, other)
		}
		c, err := author.C.CreateChirp(ctx, client.NewChirp{Message: fmt.Sprintf("list %d", i), Tags: tags})
		if err != nil {
			t.Fatal(err)
		}
		tagged = append(tagged, c.ID)
		if author == a {
			mine = append(mine, c.ID)
		}
		if i%2 == 0 {
			both = append(both, c.ID)
		}
	}
	reverse := func(s []string) []string {
		out := make([]string, len(s))
		for i, v := range s {
			out[len(s)-1-i] = v
		}
		return out
	}

	t.Run("ByTagPaged", func(t *testing.T) {
		got := walk(t, func(cursor string) (*client.Page, error) {
			return anon.ListChirps(ctx, client.Filter{Tags: []string{tag}, Limit: 5, Cursor: cursor})
		})
		if !reflect.DeepEqual(got, reverse(tagged)) {
			t.Fatalf("got %v, want %v", got, reverse(tagged))
		}
	})

	t.Run("MatchAll", func(t *testing.T) {
		got := walk(t, func(cursor string) (*client.Page, error) {
			return anon.ListChirps(ctx, client.Filter{Tags: []string{tag, strings.ToUpper(other)}, MatchAll: true, Limit: 4, Cursor: cursor})
		})
		if !reflect.DeepEqual(got, reverse(both)) {
			t.Fatalf("got %v, want %v", got, reverse(both))
		}
	})

	t.Run("ByAuthor", func(t *testing.T) {
		got := walk(t, func(cursor string) (*client.Page, error) {
			return anon.ListChirps(ctx, client.Filter{Author: a.Username, Tags: []string{tag}, Limit: 3, Cursor: cursor})
		})
		if !reflect.DeepEqual(got, reverse(mine)) {
			t.Fatalf("got %v, want %v", got, reverse(mine))
		}
		got = walk(t, func(cursor string) (*client.Page, error) {
			return anon.ListUserChirps(ctx, strings.ToUpper(a.Username), client.Filter{Limit: 3, Cursor: cursor})
		})
		if !reflect.DeepEqual(got, reverse(mine)) {
			t.Fatalf("user chirps: got %v, want %v", got, reverse(mine))
		}
		_, err := anon.ListUserChirps(ctx, "no_such_user", client.Filter{})
		wantProblem(t, err, http.StatusNotFound)
	})

	t.Run("SinceUntil", func(t *testing.T) {
		page, err := anon.ListChirps(ctx, client.Filter{Tags: []string{tag}, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		pivot := page.Chirps[5] // the 6th newest
		newer, err := anon.ListChirps(ctx, client.Filter{Tags: []string{tag}, Since: pivot.CreatedAt, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		older, err := anon.ListChirps(ctx, client.Filter{Tags: []string{tag}, Until: pivot.CreatedAt, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(newer.Chirps) != 6 || newer.Chirps[5].ID != pivot.ID {
			t.Fatalf("since is not inclusive: %d chirps", len(newer.Chirps))
		}
		if len(older.Chirps) != 6 || older.Chirps[0].ID == pivot.ID {
			t.Fatalf("until is not exclusive: %d chirps", len(older.Chirps))
		}
		none, err := anon.ListChirps(ctx, client.Filter{Tags: []string{tag}, Until: start})
		if err != nil || len(none.Chirps) != 0 {
			t.Fatalf("before the first: %v, %v", none, err)
		}
	})

	t.Run("CountAgreesWithList", func(t *testing.T) {
		admin := env.mustAdmin(t)
		for _, f := range []client.Filter{
			{Tags: []string{tag}},
			{Tags: []string{tag, other}, MatchAll: true},
			{Tags: []string{other}, Since: start},
			{Tags: []string{tag}, Until: start},
		} {
			n, err := admin.C.CountChirps(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			f.Limit = 100
			page, err := anon.ListChirps(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(len(page.Chirps)) {
				t.Fatalf("%+v: count %d, list %d", f, n, len(page.Chirps))
			}
		}
	})

	t.Run("LinkHeader", func(t *testing.T) {
		resp := raw(t, anon, "GET", "/v1/chirps?tag="+tag+"&limit=5", "", "", nil)
		link := resp.Header.Get("Link")
		if !strings.HasSuffix(link, `>; rel="next"`) || !strings.HasPrefix(link, "</v1/chirps?") {
			t.Fatalf("Link = %q", link)
		}
		next := raw(t, anon, "GET", strings.TrimSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`), "", "", nil)
		if next.Status != http.StatusOK || !strings.Contains(string(next.Body), tagged[6]) {
			t.Fatalf("following Link: %d %s", next.Status, next.Body)
		}
		last := raw(t, anon, "GET", "/v1/chirps?tag="+tag+"&limit=100", "", "", nil)
		if last.Header.Get("Link") != "" || strings.Contains(string(last.Body), "next_cursor") {
			t.Fatal("the last page has a next link")
		}
	})

	t.Run("ErrBadQuery", func(t *testing.T) {
		for _, q := range []string{"limit=0", "limit=101", "limit=ten", "cursor=bogus", "cursor=" + url.QueryEscape("djE6LTE"),
			"since=yesterday", "until=2026-13-01T00:00:00Z", "match=some", "tag=no%20spaces",
			"since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z"} {
			resp := raw(t, anon, "GET", "/v1/chirps?"+q, "", "", nil)
			if resp.Status != http.StatusBadRequest || !strings.Contains(string(resp.Body), `"errors"`) {
				t.Fatalf("%s: status %d %s, want 400 with errors", q, resp.Status, resp.Body)
			}
		}
	})

	t.Run("PagesStableWhileChirping", func(t *testing.T) {
		// Chirps posted while a client pages never repeat or vanish from
		// its pages.
		var wg sync.WaitGroup
		stop := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := b.C.CreateChirp(ctx, client.NewChirp{Message: fmt.Sprintf("late %d", i), Tags: []string{tag}}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		got := walk(t, func(cursor string) (*client.Page, error) {
			time.Sleep(5 * time.Millisecond) // let the writer in between pages
			return anon.ListChirps(ctx, client.Filter{Tags: []string{tag}, Limit: 2, Cursor: cursor})
		})
		close(stop)
		wg.Wait()
		// The first page may include late chirps; after it, each original
		// chirp appears exactly once, in order.
		seen := map[string]int{}
		for _, id := range got {
			seen[id]++
		}
		for _, id := range tagged {
			if seen[id] != 1 {
				t.Fatalf("chirp %s appeared %d times in %v", id, seen[id], got)
			}
		}
	})
}

func testSearch(t *testing.T, env *Env) {
	ctx := context.Background()
	anon := env.Client()
	a := env.mustAccount(t, "searcher")
	word := strings.ReplaceAll(env.name("zq"), "_", "") // a word no other test uses
	var ids []string                                    // newest first
	for i, msg := range []string{
		"first " + word + " of three",
		"Second, " + strings.ToUpper(word) + "! with a #tagged tag",
		"third: " + word + " and pie",
	} {
		c, err := a.C.CreateChirp(ctx, client.NewChirp{Message: msg})
		if err != nil {
			t.Fatalf("chirp %d: %v", i, err)
		}
		ids = append([]string{c.ID}, ids...)
	}
	search := func(f client.Filter) []string {
		t.Helper()
		return walk(t, func(cursor string) (*client.Page, error) {
			f.Cursor, f.Limit = cursor, 1
			return anon.ListChirps(ctx, f)
		})
	}

	t.Run("EveryWordAnyCase", func(t *testing.T) {
		if got := search(client.Filter{Search: word}); !reflect.DeepEqual(got, ids) {
			t.Fatalf("q=%s: %v, want %v, newest first", word, got, ids)
		}
		if got := search(client.Filter{Search: "PIE, " + word + "?"}); !reflect.DeepEqual(got, ids[:1]) {
			t.Fatalf("two words: %v, want %v", got, ids[:1])
		}
		if got := search(client.Filter{Search: word + " nosuchword"}); len(got) != 0 {
			t.Fatalf("a word no chirp has: %v", got)
		}
	})

	t.Run("WithFilters", func(t *testing.T) {
		if got := search(client.Filter{Search: word, Tags: []string{"tagged"}}); !reflect.DeepEqual(got, ids[1:2]) {
			t.Fatalf("with a tag: %v, want %v", got, ids[1:2])
		}
		page, err := anon.ListUserChirps(ctx, a.Username, client.Filter{Search: "first " + word})
		if err != nil || len(page.Chirps) != 1 || page.Chirps[0].ID != ids[2] {
			t.Fatalf("a user's chirps with q: %+v, %v", page, err)
		}
	})

	t.Run("ErrBadSearch", func(t *testing.T) {
		for _, q := range []string{"!!! ???", strings.Repeat("a", 201), strings.Repeat("w ", 11)} {
			_, err := anon.ListChirps(ctx, client.Filter{Search: q})
			wantFields(t, wantProblem(t, err, http.StatusBadRequest), "q")
		}
	})
}
