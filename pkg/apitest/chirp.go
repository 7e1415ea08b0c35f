package apitest

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/chirper/chirper/pkg/client"
)

func testChirps(t *testing.T, env *Env) {
	ctx := context.Background()
	alice := env.mustAccount(t, "alice")
	bob := env.mustAccount(t, "bob")
	anon := env.Client()

	t.Run("CreateAndGet", func(t *testing.T) {
		resp := raw(t, alice.C, "POST", "/v1/chirps", "application/json",
			`{"message":"  Hello #World, #go  ","tags":["Intro","go"]}`, nil)
		if resp.Status != http.StatusCreated {
			t.Fatalf("status = %d: %s", resp.Status, resp.Body)
		}
		loc := resp.Header.Get("Location")
		if !strings.HasPrefix(loc, "/v1/chirps/") {
			t.Fatalf("Location = %q", loc)
		}
		c, err := anon.GetChirp(ctx, strings.TrimPrefix(loc, "/v1/chirps/"))
		if err != nil {
			t.Fatal(err)
		}
		if c.Message != "Hello #World, #go" || c.Author != alice.Username || c.AuthorID != alice.ID ||
			!reflect.DeepEqual(c.Tags, []string{"intro", "go", "world"}) {
			t.Fatalf("chirp = %+v", c)
		}
	})

	t.Run("ETag", func(t *testing.T) {
		c, err := alice.C.CreateChirp(ctx, client.NewChirp{Message: "cache me"})
		if err != nil {
			t.Fatal(err)
		}
		first := raw(t, anon, "GET", "/v1/chirps/"+c.ID, "", "", nil)
		etag := first.Header.Get("ETag")
		if first.Status != http.StatusOK || etag == "" {
			t.Fatalf("status %d, ETag %q", first.Status, etag)
		}
		// A shared cache may keep the chirp but must revalidate it, so a
		// deleted chirp is never served from a cache.
		if cc := first.Header.Get("Cache-Control"); cc != "public, no-cache" {
			t.Fatalf("Cache-Control = %q, want public, no-cache", cc)
		}
		again := raw(t, anon, "GET", "/v1/chirps/"+c.ID, "", "", http.Header{"If-None-Match": {etag}})
		if again.Status != http.StatusNotModified || len(again.Body) != 0 {
			t.Fatalf("If-None-Match: status %d, body %q; want 304 and none", again.Status, again.Body)
		}
		other := raw(t, anon, "GET", "/v1/chirps/"+c.ID, "", "", http.Header{"If-None-Match": {`"something-else"`}})
		if other.Status != http.StatusOK {
			t.Fatalf("another ETag: status %d", other.Status)
		}
		head := raw(t, anon, "HEAD", "/v1/chirps/"+c.ID, "", "", nil)
		if head.Status != http.StatusOK || len(head.Body) != 0 || head.Header.Get("ETag") != etag {
			t.Fatalf("HEAD: status %d, %d bytes, ETag %q", head.Status, len(head.Body), head.Header.Get("ETag"))
		}
	})

	t.Run("ErrValidation", func(t *testing.T) {
		tests := []struct {
			name   string
			chirp  client.NewChirp
			fields []string
		}{
			{"Empty", client.NewChirp{Message: "   "}, []string{"message"}},
			{"TooLong", client.NewChirp{Message: strings.Repeat("é", 281)}, []string{"message"}},
			{"ControlChar", client.NewChirp{Message: "ding\a"}, []string{"message"}},
			{"BadTag", client.NewChirp{Message: "ok", Tags: []string{"two words"}}, []string{"tags"}},
			{"TagTooLong", client.NewChirp{Message: "ok", Tags: []string{strings.Repeat("t", 51)}}, []string{"tags"}},
			{"ElevenTags", client.NewChirp{Message: "#a #b #c #d #e #f", Tags: []string{"g", "h", "i", "j", "k"}}, []string{"tags"}},
			{"BadHashtag", client.NewChirp{Message: "#" + strings.Repeat("h", 51)}, []string{"message"}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, err := alice.C.CreateChirp(ctx, tc.chirp)
				wantFields(t, wantProblem(t, err, http.StatusUnprocessableEntity), tc.fields...)
			})
		}
		t.Run("280RunesIsFine", func(t *testing.T) {
			if _, err := alice.C.CreateChirp(ctx, client.NewChirp{Message: strings.Repeat("é", 280)}); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("InvalidUTF8", func(t *testing.T) {
			resp := raw(t, alice.C, "POST", "/v1/chirps", "application/json", "{\"message\":\"bad \xff byte\"}", nil)
			// encoding/json replaces invalid bytes with U+FFFD; either way,
			// nothing invalid is stored.
			if resp.Status != http.StatusCreated && resp.Status != http.StatusBadRequest && resp.Status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d", resp.Status)
			}
		})
	})

	t.Run("ErrGetUnknown", func(t *testing.T) {
		for _, id := range []string{"999999999", "0", "-1", "abc", "99999999999999999999"} {
			_, err := anon.GetChirp(ctx, id)
			wantProblem(t, err, http.StatusNotFound)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		c, err := alice.C.CreateChirp(ctx, client.NewChirp{Message: "to delete"})
		if err != nil {
			t.Fatal(err)
		}
		wantProblem(t, bob.C.DeleteChirp(ctx, c.ID), http.StatusForbidden)
		wantProblem(t, anon.DeleteChirp(ctx, c.ID), http.StatusUnauthorized)
		if err := alice.C.DeleteChirp(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		_, err = anon.GetChirp(ctx, c.ID)
		wantProblem(t, err, http.StatusNotFound)
		wantProblem(t, alice.C.DeleteChirp(ctx, c.ID), http.StatusNotFound)
		wantProblem(t, alice.C.DeleteChirp(ctx, "nope"), http.StatusNotFound)
	})

	t.Run("AdminDeletesAnyone", func(t *testing.T) {
		admin := env.mustAdmin(t)
		c, err := bob.C.CreateChirp(ctx, client.NewChirp{Message: "moderate me"})
		if err != nil {
			t.Fatal(err)
		}
		if err := admin.C.DeleteChirp(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("ClaimedRoleIsNotTrusted", func(t *testing.T) {
		// An access token says role "user"; only the stored role counts.
		_, err := bob.C.CountChirps(ctx, client.Filter{})
		wantProblem(t, err, http.StatusForbidden)
	})
}

func testIdempotency(t *testing.T, env *Env) {
	ctx := context.Background()
	a := env.mustAccount(t, "retrier")
	key := env.name("key-")

	t.Run("PostTwiceOneChirp", func(t *testing.T) {
		withKey := a.C.WithIdempotencyKey(key)
		first, err := withKey.CreateChirp(ctx, client.NewChirp{Message: "said once #idem"})
		if err != nil {
			t.Fatal(err)
		}
		resp := raw(t, a.C, "POST", "/v1/chirps", "application/json", `{ "message": "said once #idem" }`,
			http.Header{"Idempotency-Key": {key}})
		if resp.Status != http.StatusCreated || resp.Header.Get("Idempotency-Replayed") != "true" ||
			resp.Header.Get("Location") != "/v1/chirps/"+first.ID || !strings.Contains(string(resp.Body), `"id":"`+first.ID+`"`) {
			t.Fatalf("the retry: %d %v %s; want the first chirp replayed", resp.Status, resp.Header, resp.Body)
		}
		page, err := a.C.ListUserChirps(ctx, a.Username, client.Filter{})
		if err != nil || len(page.Chirps) != 1 {
			t.Fatalf("chirps after a post and its retry: %+v, %v; want 1", page, err)
		}
	})

	t.Run("ErrSameKeyOtherBody", func(t *testing.T) {
		_, err := a.C.WithIdempotencyKey(key).CreateChirp(ctx, client.NewChirp{Message: "something else"})
		wantProblem(t, err, http.StatusUnprocessableEntity)
	})

	t.Run("KeysBelongToTheirUser", func(t *testing.T) {
		b := env.mustAccount(t, "other_retrier")
		c, err := b.C.WithIdempotencyKey(key).CreateChirp(ctx, client.NewChirp{Message: "said once #idem"})
		if err != nil {
			t.Fatalf("another user with the same key: %v", err)
		}
		if c.Author != b.Username {
			t.Fatalf("another user's post with the same key answered %+v", c)
		}
	})

	t.Run("FailedRequestFreesItsKey", func(t *testing.T) {
		k := env.name("key-")
		_, err := a.C.WithIdempotencyKey(k).CreateChirp(ctx, client.NewChirp{Message: ""})
		wantProblem(t, err, http.StatusUnprocessableEntity)
		if _, err := a.C.WithIdempotencyKey(k).CreateChirp(ctx, client.NewChirp{Message: "now right"}); err != nil {
			t.Fatalf("the key after a refused request: %v", err)
		}
	})

	t.Run("ErrBadKey", func(t *testing.T) {
		for _, k := range []string{strings.Repeat("k", 256), "has space"} {
			resp := raw(t, a.C, "POST", "/v1/chirps", "application/json", `{"message":"x"}`, http.Header{"Idempotency-Key": {k}})
			if resp.Status != http.StatusBadRequest {
				t.Fatalf("key %q: status %d, want 400", k, resp.Status)
			}
		}
	})

	t.Run("RegisterTwice", func(t *testing.T) {
		name, k := env.name("once"), env.name("key-")
		anon := env.Client().WithIdempotencyKey(k)
		first, err := anon.Register(ctx, client.Registration{Username: name, Password: "long enough"})
		if err != nil {
			t.Fatal(err)
		}
		again, err := anon.Register(ctx, client.Registration{Username: name, Password: "long enough"})
		if err != nil || again.ID != first.ID {
			t.Fatalf("the retry: %+v, %v; want the first user again, not a 409", again, err)
		}
		_, err = anon.Register(ctx, client.Registration{Username: name + "x", Password: "long enough"})
		wantProblem(t, err, http.StatusUnprocessableEntity)
	})
}
