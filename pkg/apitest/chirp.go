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
