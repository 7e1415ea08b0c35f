// Package storetest is the contract suite that every implementation of the
// chirper stores must pass. Each storage adapter runs it against a real
// database:
//
//	func TestStores(t *testing.T) { storetest.Run(t, openStores) }
package storetest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/chirper/chirper/pkg/chirper"
)

// Stores are the stores under test, all on one fresh, empty database.
type Stores struct {
	Users   chirper.UserStore
	Chirps  chirper.ChirpStore
	Tokens  chirper.RefreshTokenStore
	Keys    chirper.IdempotencyStore
	Follows chirper.FollowStore
}

// Run runs the whole contract; open returns stores on a new empty database
// for each test and arranges its cleanup with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("Users", func(t *testing.T) { testUsers(t, open) })
	t.Run("Chirps", func(t *testing.T) { testChirps(t, open) })
	t.Run("Lists", func(t *testing.T) { testLists(t, open) })
	t.Run("RefreshTokens", func(t *testing.T) { testRefreshTokens(t, open) })
	t.Run("IdempotencyKeys", func(t *testing.T) { testIdempotencyKeys(t, open) })
}

// MustCreateUser creates a user with the username and fails the test on
// error.
func MustCreateUser(tb testing.TB, users chirper.UserStore, username string) *chirper.User {
	tb.Helper()
	u := &chirper.User{Username: username, DisplayName: "The " + username, PasswordHash: "$2a$04$hash-of-" + username}
	if err := users.CreateUser(context.Background(), u); err != nil {
		tb.Fatalf("CreateUser(%q): %v", username, err)
	}
	return u
}

// MustCreateChirp posts a chirp by the author and fails the test on error.
func MustCreateChirp(tb testing.TB, chirps chirper.ChirpStore, authorID int64, message string, tags ...string) *chirper.Chirp {
	tb.Helper()
	c, err := chirper.NewChirp{AuthorID: authorID, Message: message, Tags: tags}.Prepare()
	if err != nil {
		tb.Fatalf("Prepare(%q): %v", message, err)
	}
	if err := chirps.CreateChirp(context.Background(), c); err != nil {
		tb.Fatalf("CreateChirp(%q): %v", message, err)
	}
	return c
}

// assertCode fails the test unless err carries the domain error code.
func assertCode(tb testing.TB, err error, want string) {
	tb.Helper()
	if got := chirper.ErrorCode(err); got != want {
		tb.Fatalf("error code = %q (%v), want %q", got, err, want)
	}
}

// tokenHash returns a distinct 32-byte hash for a test token name.
func tokenHash(name string) []byte {
	h := sha256.Sum256([]byte(name))
	return h[:]
}

func familyID(n int) string { return fmt.Sprintf("family-%d", n) }
