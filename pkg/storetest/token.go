package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/chirper/chirper/pkg/chirper"
)

func testRefreshTokens(t *testing.T, open func(t *testing.T) Stores) {
	ctx := context.Background()
	later := func() time.Time { return time.Now().Add(time.Hour) }
	newToken := func(name string) *chirper.RefreshToken {
		return &chirper.RefreshToken{Hash: tokenHash(name), ExpiresAt: later()}
	}
	login := func(t *testing.T, s Stores, userID int64, name string, family int) *chirper.RefreshToken {
		t.Helper()
		tok := &chirper.RefreshToken{Hash: tokenHash(name), FamilyID: familyID(family), UserID: userID, ExpiresAt: later()}
		if err := s.Tokens.CreateRefreshToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		return tok
	}

	t.Run("Rotate", func(t *testing.T) {
		s := open(t)
		u := MustCreateUser(t, s.Users, "alice")
		first := login(t, s, u.ID, "t1", 1)
		if first.CreatedAt.IsZero() {
			t.Fatal("CreatedAt not set")
		}
		second := newToken("t2")
		if err := s.Tokens.RotateRefreshToken(ctx, first.Hash, second); err != nil {
			t.Fatal(err)
		}
		if second.UserID != u.ID || second.FamilyID != first.FamilyID {
			t.Fatalf("rotated token = %+v, want user %d family %s", second, u.ID, first.FamilyID)
		}
		if err := s.Tokens.RotateRefreshToken(ctx, second.Hash, newToken("t3")); err != nil {
			t.Fatalf("rotating the new token: %v", err)
		}
	})

	t.Run("ReuseRevokesFamily", func(t *testing.T) {
		s := open(t)
		u := MustCreateUser(t, s.Users, "alice")
		first := login(t, s, u.ID, "t1", 1)
		otherSession := login(t, s, u.ID, "other", 2)
		second := newToken("t2")
		if err := s.Tokens.RotateRefreshToken(ctx, first.Hash, second); err != nil {
			t.Fatal(err)
		}
		// The thief replays the spent token: refused, and the family dies.
		err := s.Tokens.RotateRefreshToken(ctx, first.Hash, newToken("t3"))
		assertCode(t, err, chirper.EUNAUTHORIZED)
		if msg := chirper.ErrorMessage(err); msg != chirper.ErrRefreshTokenReused {
			t.Fatalf("message = %q, want the reuse message", msg)
		}
		err = s.Tokens.RotateRefreshToken(ctx, second.Hash, newToken("t4"))
		assertCode(t, err, chirper.EUNAUTHORIZED)
		// Another login of the same user is unaffected.
		if err := s.Tokens.RotateRefreshToken(ctx, otherSession.Hash, newToken("other2")); err != nil {
			t.Fatalf("other family: %v", err)
		}
	})

	t.Run("ErrUnknownToken", func(t *testing.T) {
		s := open(t)
		err := s.Tokens.RotateRefreshToken(ctx, tokenHash("never issued"), newToken("x"))
		assertCode(t, err, chirper.EUNAUTHORIZED)
	})

	t.Run("ErrExpired", func(t *testing.T) {
		s := open(t)
		u := MustCreateUser(t, s.Users, "alice")
		tok := &chirper.RefreshToken{Hash: tokenHash("old"), FamilyID: familyID(1), UserID: u.ID, ExpiresAt: time.Now().Add(-time.Second)}
		if err := s.Tokens.CreateRefreshToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		assertCode(t, s.Tokens.RotateRefreshToken(ctx, tok.Hash, newToken("new")), chirper.EUNAUTHORIZED)
	})

	t.Run("ErrUserNotFound", func(t *testing.T) {
		s := open(t)
		tok := &chirper.RefreshToken{Hash: tokenHash("x"), FamilyID: familyID(1), UserID: 424242, ExpiresAt: later()}
		assertCode(t, s.Tokens.CreateRefreshToken(ctx, tok), chirper.ENOTFOUND)
	})

	t.Run("RevokeFamily", func(t *testing.T) {
		s := open(t)
		u := MustCreateUser(t, s.Users, "alice")
		first := login(t, s, u.ID, "t1", 1)
		second := newToken("t2")
		if err := s.Tokens.RotateRefreshToken(ctx, first.Hash, second); err != nil {
			t.Fatal(err)
		}
		other := login(t, s, u.ID, "other", 2)
		if err := s.Tokens.RevokeRefreshTokenFamily(ctx, second.Hash); err != nil {
			t.Fatal(err)
		}
		assertCode(t, s.Tokens.RotateRefreshToken(ctx, second.Hash, newToken("t3")), chirper.EUNAUTHORIZED)
		if err := s.Tokens.RotateRefreshToken(ctx, other.Hash, newToken("other2")); err != nil {
			t.Fatalf("other family: %v", err)
		}
		if err := s.Tokens.RevokeRefreshTokenFamily(ctx, tokenHash("unknown")); err != nil {
			t.Fatalf("revoking an unknown token: %v", err)
		}
	})

	t.Run("RevokeUser", func(t *testing.T) {
		s := open(t)
		u := MustCreateUser(t, s.Users, "alice")
		v := MustCreateUser(t, s.Users, "bob")
		a1, a2 := login(t, s, u.ID, "a1", 1), login(t, s, u.ID, "a2", 2)
		b1 := login(t, s, v.ID, "b1", 3)
		if err := s.Tokens.RevokeUserRefreshTokens(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		assertCode(t, s.Tokens.RotateRefreshToken(ctx, a1.Hash, newToken("a1b")), chirper.EUNAUTHORIZED)
		assertCode(t, s.Tokens.RotateRefreshToken(ctx, a2.Hash, newToken("a2b")), chirper.EUNAUTHORIZED)
		if err := s.Tokens.RotateRefreshToken(ctx, b1.Hash, newToken("b1b")); err != nil {
			t.Fatalf("another user's token: %v", err)
		}
	})

	t.Run("ConcurrentRotationOneWins", func(t *testing.T) {
		s := open(t)
		u := MustCreateUser(t, s.Users, "alice")
		tok := login(t, s, u.ID, "t1", 1)
		const racers = 6
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			wins int
		)
		for i := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := s.Tokens.RotateRefreshToken(ctx, tok.Hash, newToken(fmt.Sprintf("racer-%d", i)))
				if err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				} else if code := chirper.ErrorCode(err); code != chirper.EUNAUTHORIZED {
					t.Errorf("racer %d: %v", i, err)
				}
			}()
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("%d rotations of one token succeeded, want exactly 1", wins)
		}
	})

	t.Run("RevocationRacesRotation", func(t *testing.T) {
		// Whichever commits first, a token that a rotation issues must not
		// outlive the revocation of its family.
		s := open(t)
		u := MustCreateUser(t, s.Users, "alice")
		for round := range 30 {
			tok := login(t, s, u.ID, fmt.Sprint("race-", round), 100+round)
			next := newToken(fmt.Sprint("race-next-", round))
			var wg sync.WaitGroup
			var rotateErr, revokeErr error
			wg.Add(2)
			go func() {
				defer wg.Done()
				rotateErr = s.Tokens.RotateRefreshToken(ctx, tok.Hash, next)
			}()
			go func() {
				defer wg.Done()
				if round%2 == 0 {
					revokeErr = s.Tokens.RevokeRefreshTokenFamily(ctx, tok.Hash)
				} else {
					revokeErr = s.Tokens.RevokeUserRefreshTokens(ctx, u.ID)
				}
			}()
			wg.Wait()
			if revokeErr != nil {
				t.Fatalf("round %d: revoke: %v", round, revokeErr)
			}
			if rotateErr != nil {
				assertCode(t, rotateErr, chirper.EUNAUTHORIZED)
				continue
			}
			err := s.Tokens.RotateRefreshToken(ctx, next.Hash, newToken(fmt.Sprint("race-after-", round)))
			if chirper.ErrorCode(err) != chirper.EUNAUTHORIZED {
				t.Fatalf("round %d: the token issued beside a revocation still rotates: %v", round, err)
			}
		}
	})

	t.Run("Purge", func(t *testing.T) {
		s := open(t)
		u := MustCreateUser(t, s.Users, "alice")
		for i := range 5 {
			tok := &chirper.RefreshToken{Hash: tokenHash(fmt.Sprint("expired-", i)), FamilyID: familyID(10 + i), UserID: u.ID, ExpiresAt: time.Now().Add(-time.Minute)}
			if err := s.Tokens.CreateRefreshToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}
		live := login(t, s, u.ID, "live", 1)
		oldRevoked := login(t, s, u.ID, "old-revoked", 2)
		if err := s.Tokens.RevokeRefreshTokenFamily(ctx, oldRevoked.Hash); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
		cutoff := time.Now()
		newRevoked := login(t, s, u.ID, "new-revoked", 3)
		if err := s.Tokens.RevokeRefreshTokenFamily(ctx, newRevoked.Hash); err != nil {
			t.Fatal(err)
		}
		const limit = 2
		calls := 0
		for {
			n, err := s.Tokens.PurgeRefreshTokens(ctx, cutoff, limit)
			if err != nil {
				t.Fatal(err)
			}
			if n > 3*limit {
				t.Fatalf("one purge deleted %d rows, more than its batches of %d", n, limit)
			}
			calls++
			if n == 0 {
				break
			}
			if calls > 20 {
				t.Fatal("the purge does not come to an end")
			}
		}
		if calls < 3 {
			t.Fatalf("%d purges emptied 6 dead families in batches of %d", calls, limit)
		}
		gone := "refresh token is not valid" // what an unknown token is told
		for _, h := range [][]byte{tokenHash("expired-0"), tokenHash("expired-4"), oldRevoked.Hash} {
			err := s.Tokens.RotateRefreshToken(ctx, h, newToken("after-purge"))
			if chirper.ErrorMessage(err) != gone {
				t.Fatalf("a purged token: %v, want %q", err, gone)
			}
		}
		if err := s.Tokens.RotateRefreshToken(ctx, newRevoked.Hash, newToken("x")); chirper.ErrorMessage(err) == gone {
			t.Fatal("a family revoked after the cutoff was purged")
		}
		if err := s.Tokens.RotateRefreshToken(ctx, live.Hash, newToken("live2")); err != nil {
			t.Fatalf("a live token after the purge: %v", err)
		}
	})

}
