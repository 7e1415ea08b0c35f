package storetest

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/chirper/chirper/pkg/chirper"
)

func testIdempotencyKeys(t *testing.T, open func(t *testing.T) Stores) {
	ctx := context.Background()
	fp := func(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }
	answer := chirper.StoredResponse{Status: 201, Location: "/v1/chirps/7", Body: []byte(`{"id":"7"}` + "\n")}

	t.Run("ClaimFinishReplay", func(t *testing.T) {
		s := open(t)
		if got, err := s.Keys.ClaimIdempotencyKey(ctx, "scope", "k1", fp("body")); err != nil || got != nil {
			t.Fatalf("a new key: %v, %v; want it claimed", got, err)
		}
		_, err := s.Keys.ClaimIdempotencyKey(ctx, "scope", "k1", fp("body"))
		assertCode(t, err, chirper.ECONFLICT) // still running
		if err := s.Keys.FinishIdempotencyKey(ctx, "scope", "k1", answer); err != nil {
			t.Fatal(err)
		}
		got, err := s.Keys.ClaimIdempotencyKey(ctx, "scope", "k1", fp("body"))
		if err != nil || got == nil || got.Status != 201 || got.Location != answer.Location || string(got.Body) != string(answer.Body) {
			t.Fatalf("a finished key: %+v, %v; want the kept answer", got, err)
		}
		_, err = s.Keys.ClaimIdempotencyKey(ctx, "scope", "k1", fp("another body"))
		assertCode(t, err, chirper.EINVALID)
		if got, err := s.Keys.ClaimIdempotencyKey(ctx, "another scope", "k1", fp("another body")); err != nil || got != nil {
			t.Fatalf("the key in another scope: %v, %v; want it claimed", got, err)
		}
	})

	t.Run("ReleaseLetsARetryRun", func(t *testing.T) {
		s := open(t)
		if _, err := s.Keys.ClaimIdempotencyKey(ctx, "scope", "k2", fp("body")); err != nil {
			t.Fatal(err)
		}
		if err := s.Keys.ReleaseIdempotencyKey(ctx, "scope", "k2"); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Keys.ClaimIdempotencyKey(ctx, "scope", "k2", fp("body")); err != nil || got != nil {
			t.Fatalf("after a release: %v, %v; want it claimed again", got, err)
		}
	})

	t.Run("Purge", func(t *testing.T) {
		s := open(t)
		for _, k := range []string{"a", "b", "c"} {
			if _, err := s.Keys.ClaimIdempotencyKey(ctx, "scope", k, fp(k)); err != nil {
				t.Fatal(err)
			}
			if err := s.Keys.FinishIdempotencyKey(ctx, "scope", k, answer); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := s.Keys.PurgeIdempotencyKeys(ctx, time.Now().Add(-time.Hour), 10); err != nil || n != 0 {
			t.Fatalf("purging keys older than an hour: %d, %v; want none", n, err)
		}
		n1, err := s.Keys.PurgeIdempotencyKeys(ctx, time.Now().Add(time.Second), 2)
		if err != nil || n1 != 2 {
			t.Fatalf("a batch of 2: %d, %v", n1, err)
		}
		if n2, err := s.Keys.PurgeIdempotencyKeys(ctx, time.Now().Add(time.Second), 2); err != nil || n2 != 1 {
			t.Fatalf("the rest: %d, %v", n2, err)
		}
		if got, err := s.Keys.ClaimIdempotencyKey(ctx, "scope", "a", fp("other")); err != nil || got != nil {
			t.Fatalf("a purged key: %v, %v; want it claimed anew", got, err)
		}
	})
}
