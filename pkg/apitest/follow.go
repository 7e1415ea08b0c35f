package apitest

import (
	"context"
	"net/http"
	"reflect"
	"testing"

	"github.com/chirper/chirper/pkg/client"
)

func testFollows(t *testing.T, env *Env) {
	ctx := context.Background()
	anon := env.Client()
	me := env.mustAccount(t, "fan")
	stars := []*account{env.mustAccount(t, "star"), env.mustAccount(t, "star"), env.mustAccount(t, "star")}

	t.Run("FollowIsIdempotent", func(t *testing.T) {
		for _, s := range stars {
			for range 2 {
				if err := me.C.Follow(ctx, s.Username); err != nil {
					t.Fatal(err)
				}
			}
		}
		u, err := anon.GetUser(ctx, me.Username)
		if err != nil || u.FollowingCount != 3 || u.FollowersCount != 0 {
			t.Fatalf("the follower: %+v, %v; want following 3", u, err)
		}
		u, err = anon.GetUser(ctx, stars[0].Username)
		if err != nil || u.FollowersCount != 1 {
			t.Fatalf("a star: %+v, %v; want 1 follower", u, err)
		}
	})

	t.Run("ListsNewestFollowFirst", func(t *testing.T) {
		var got []string
		cursor := ""
		for range 10 {
			page, err := anon.Following(ctx, me.Username, false, 2, cursor)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range page.Users {
				got = append(got, u.Username)
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		want := []string{stars[2].Username, stars[1].Username, stars[0].Username}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("following %v, want %v", got, want)
		}
		page, err := anon.Following(ctx, stars[1].Username, true, 0, "")
		if err != nil || len(page.Users) != 1 || page.Users[0].Username != me.Username || page.Users[0].FollowingCount != 3 {
			t.Fatalf("followers: %+v, %v", page, err)
		}
	})

	t.Run("ErrFollow", func(t *testing.T) {
		err := me.C.Follow(ctx, me.Username)
		wantProblem(t, err, http.StatusUnprocessableEntity)
		// No one follows themselves, so unfollowing oneself changes nothing.
		if err := me.C.Unfollow(ctx, me.Username); err != nil {
			t.Fatalf("unfollowing yourself: %v, want 204", err)
		}
		wantProblem(t, me.C.Follow(ctx, "no_such_user"), http.StatusNotFound)
		wantProblem(t, me.C.Unfollow(ctx, "no_such_user"), http.StatusNotFound)
		wantProblem(t, anon.Follow(ctx, stars[0].Username), http.StatusUnauthorized)
		_, err = anon.Following(ctx, "no_such_user", false, 0, "")
		wantProblem(t, err, http.StatusNotFound)
		_, err = anon.Following(ctx, me.Username, true, 0, "not-a-cursor")
		wantProblem(t, err, http.StatusBadRequest)
	})

	t.Run("Timeline", func(t *testing.T) {
		other := env.mustAccount(t, "stranger")
		old, err := stars[0].C.CreateChirp(ctx, client.NewChirp{Message: "posted before the follow #tl"})
		if err != nil {
			t.Fatal(err)
		}
		mine, err := me.C.CreateChirp(ctx, client.NewChirp{Message: "my own"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := other.C.CreateChirp(ctx, client.NewChirp{Message: "not followed"}); err != nil {
			t.Fatal(err)
		}
		page, err := me.C.Timeline(ctx, client.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(page.Chirps); !reflect.DeepEqual(got, []string{mine.ID, old.ID}) {
			t.Fatalf("timeline %v, want my chirp and the followed one's %v", got, []string{mine.ID, old.ID})
		}
		tagged, err := me.C.Timeline(ctx, client.Filter{Tags: []string{"tl"}})
		if err != nil || !reflect.DeepEqual(ids(tagged.Chirps), []string{old.ID}) {
			t.Fatalf("timeline by tag: %+v, %v", tagged, err)
		}
		// A new follow shows the older chirps at once; an unfollow hides them.
		if err := me.C.Follow(ctx, other.Username); err != nil {
			t.Fatal(err)
		}
		if page, err = me.C.Timeline(ctx, client.Filter{}); err != nil || len(page.Chirps) != 3 {
			t.Fatalf("after a follow: %+v, %v; want 3 chirps", page, err)
		}
		if err := me.C.Unfollow(ctx, stars[0].Username); err != nil {
			t.Fatal(err)
		}
		if page, err = me.C.Timeline(ctx, client.Filter{}); err != nil || len(page.Chirps) != 2 {
			t.Fatalf("after an unfollow: %+v, %v; want 2 chirps", page, err)
		}
		if err := me.C.Unfollow(ctx, stars[0].Username); err != nil {
			t.Fatalf("unfollowing again: %v", err)
		}
		_, err = anon.Timeline(ctx, client.Filter{})
		wantProblem(t, err, http.StatusUnauthorized)
	})

	t.Run("DeletedUserVanishes", func(t *testing.T) {
		gone := env.mustAccount(t, "gone")
		if err := gone.C.Follow(ctx, stars[1].Username); err != nil {
			t.Fatal(err)
		}
		if err := me.C.Follow(ctx, gone.Username); err != nil {
			t.Fatal(err)
		}
		if err := gone.C.DeleteMe(ctx, gone.Password); err != nil {
			t.Fatal(err)
		}
		u, err := anon.GetUser(ctx, stars[1].Username)
		if err != nil || u.FollowersCount != 1 {
			t.Fatalf("a star after a follower left: %+v, %v; want 1 follower", u, err)
		}
		page, err := anon.Following(ctx, me.Username, false, 0, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page.Users {
			if u.Username == gone.Username {
				t.Fatal("a deleted user is still listed")
			}
		}
	})
}

// ids are the chirps' ids, in order.
func ids(chirps []client.Chirp) []string {
	out := make([]string, len(chirps))
	for i, c := range chirps {
		out[i] = c.ID
	}
	return out
}
