package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/chirper/chirper/pkg/chirper"
)

func testUsers(t *testing.T, open func(t *testing.T) Stores) {
	ctx := context.Background()

	t.Run("CreateUser", func(t *testing.T) {
		s := open(t)
		before := time.Now().Add(-time.Minute)
		u := MustCreateUser(t, s.Users, "alice")
		if u.ID == 0 {
			t.Fatal("ID not set")
		}
		if u.Role != chirper.RoleUser {
			t.Fatalf("Role = %q, want user", u.Role)
		}
		if u.CreatedAt.Before(before) || u.CreatedAt.After(time.Now().Add(time.Minute)) {
			t.Fatalf("CreatedAt = %v, not now", u.CreatedAt)
		}
		got, err := s.Users.FindUserByID(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if *got != *u {
			t.Fatalf("FindUserByID = %+v, want %+v", got, u)
		}
	})

	t.Run("ErrUsernameTaken", func(t *testing.T) {
		s := open(t)
		MustCreateUser(t, s.Users, "alice")
		for _, name := range []string{"alice", "ALICE", "Alice", " alice "} {
			err := s.Users.CreateUser(ctx, &chirper.User{Username: name, PasswordHash: "x"})
			assertCode(t, err, chirper.ECONFLICT)
		}
	})

	t.Run("FindUserByUsername", func(t *testing.T) {
		s := open(t)
		u := MustCreateUser(t, s.Users, "bob_99")
		for _, name := range []string{"bob_99", "BOB_99", "Bob_99"} {
			got, err := s.Users.FindUserByUsername(ctx, name)
			if err != nil {
				t.Fatalf("%q: %v", name, err)
			}
			if got.ID != u.ID {
				t.Fatalf("%q: ID = %d, want %d", name, got.ID, u.ID)
			}
		}
		_, err := s.Users.FindUserByUsername(ctx, "nobody")
		assertCode(t, err, chirper.ENOTFOUND)
		_, err = s.Users.FindUserByID(ctx, u.ID+1000)
		assertCode(t, err, chirper.ENOTFOUND)
	})

	t.Run("UpdateUser", func(t *testing.T) {
		s := open(t)
		u := MustCreateUser(t, s.Users, "carol")
		name := "Carol C."
		got, err := s.Users.UpdateUser(ctx, u.ID, chirper.UserUpdate{DisplayName: &name})
		if err != nil {
			t.Fatal(err)
		}
		if got.DisplayName != name || got.PasswordHash != u.PasswordHash {
			t.Fatalf("after display name change: %+v", got)
		}
		hash := "new-hash"
		got, err = s.Users.UpdateUser(ctx, u.ID, chirper.UserUpdate{PasswordHash: &hash})
		if err != nil {
			t.Fatal(err)
		}
		if got.DisplayName != name || got.PasswordHash != hash {
			t.Fatalf("after password change: %+v", got)
		}
		_, err = s.Users.UpdateUser(ctx, u.ID+1000, chirper.UserUpdate{DisplayName: &name})
		assertCode(t, err, chirper.ENOTFOUND)
	})

	t.Run("SetUserRole", func(t *testing.T) {
		s := open(t)
		MustCreateUser(t, s.Users, "dave")
		got, err := s.Users.SetUserRole(ctx, "DAVE", chirper.RoleAdmin)
		if err != nil {
			t.Fatal(err)
		}
		if got.Role != chirper.RoleAdmin {
			t.Fatalf("Role = %q, want admin", got.Role)
		}
		again, err := s.Users.FindUserByUsername(ctx, "dave")
		if err != nil || again.Role != chirper.RoleAdmin {
			t.Fatalf("stored role = %v, %v", again, err)
		}
		_, err = s.Users.SetUserRole(ctx, "nobody", chirper.RoleAdmin)
		assertCode(t, err, chirper.ENOTFOUND)
		_, err = s.Users.SetUserRole(ctx, "dave", "superuser")
		assertCode(t, err, chirper.EINVALID)
	})

	t.Run("ErrLastAdmin", func(t *testing.T) {
		s := open(t)
		MustCreateUser(t, s.Users, "dave")
		MustCreateUser(t, s.Users, "erin")
		if _, err := s.Users.SetUserRole(ctx, "dave", chirper.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		_, err := s.Users.SetUserRole(ctx, "Dave", chirper.RoleUser)
		assertCode(t, err, chirper.ECONFLICT)
		if _, err := s.Users.SetUserRole(ctx, "erin", chirper.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Users.SetUserRole(ctx, "dave", chirper.RoleUser); err != nil {
			t.Fatalf("demoting one of two admins: %v", err)
		}
		_, err = s.Users.SetUserRole(ctx, "erin", chirper.RoleUser)
		assertCode(t, err, chirper.ECONFLICT)
		if _, err := s.Users.SetUserRole(ctx, "dave", chirper.RoleUser); err != nil {
			t.Fatalf("a plain user set to user again: %v", err)
		}
	})

	t.Run("ErrLastAdminRace", func(t *testing.T) {
		// Two admins demote each other at once, many times over: every
		// round leaves exactly one admin.
		s := open(t)
		MustCreateUser(t, s.Users, "dave")
		MustCreateUser(t, s.Users, "erin")
		for round := range 20 {
			for _, name := range []string{"dave", "erin"} {
				if _, err := s.Users.SetUserRole(ctx, name, chirper.RoleAdmin); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, name := range []string{"dave", "erin"} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = s.Users.SetUserRole(ctx, name, chirper.RoleUser)
				}()
			}
			wg.Wait()
			admins := 0
			for _, name := range []string{"dave", "erin"} {
				u, err := s.Users.FindUserByUsername(ctx, name)
				if err != nil {
					t.Fatal(err)
				}
				if u.Role == chirper.RoleAdmin {
					admins++
				}
			}
			if admins != 1 {
				t.Fatalf("round %d: %d admins left (errors %v), want 1", round, admins, errs)
			}
			for _, err := range errs {
				if err != nil && chirper.ErrorCode(err) != chirper.ECONFLICT {
					t.Fatalf("round %d: %v", round, err)
				}
			}
		}
	})

	t.Run("DeleteUserCascades", func(t *testing.T) {
		s := open(t)
		u := MustCreateUser(t, s.Users, "erin")
		other := MustCreateUser(t, s.Users, "frank")
		c := MustCreateChirp(t, s.Chirps, u.ID, "bye #gone")
		kept := MustCreateChirp(t, s.Chirps, other.ID, "still here #gone")
		tok := &chirper.RefreshToken{Hash: tokenHash("erin"), FamilyID: familyID(1), UserID: u.ID, ExpiresAt: time.Now().Add(time.Hour)}
		if err := s.Tokens.CreateRefreshToken(ctx, tok); err != nil {
			t.Fatal(err)
		}

		if err := s.Users.DeleteUser(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		_, err := s.Users.FindUserByID(ctx, u.ID)
		assertCode(t, err, chirper.ENOTFOUND)
		_, err = s.Chirps.FindChirpByID(ctx, c.ID)
		assertCode(t, err, chirper.ENOTFOUND)
		err = s.Tokens.RotateRefreshToken(ctx, tok.Hash, &chirper.RefreshToken{Hash: tokenHash("erin2"), ExpiresAt: time.Now().Add(time.Hour)})
		assertCode(t, err, chirper.EUNAUTHORIZED)
		page, err := s.Chirps.ListChirps(ctx, chirper.ChirpFilter{Tags: []string{"gone"}, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Chirps) != 1 || page.Chirps[0].ID != kept.ID {
			t.Fatalf("chirps tagged #gone = %v, want only %d", ids(page.Chirps), kept.ID)
		}
		assertCode(t, s.Users.DeleteUser(ctx, u.ID), chirper.ENOTFOUND)
	})
}
