// Package pgtest gives tests their own migrated PostgreSQL database on the
// server named by TEST_DATABASE_URL (make test starts a throwaway one).
//
// Without TEST_DATABASE_URL the tests that need PostgreSQL are skipped with a
// loud message, except under CI or when TEST_REQUIRE_POSTGRES is set (as
// make test sets it), where they fail instead: they are never skipped there.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/chirper/chirper/pkg/postgres"
)

var warnOnce sync.Once

// URL returns the URL of the test server, or skips (or fails, where
// PostgreSQL is required) the test when there is none.
func URL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv("TEST_DATABASE_URL")
	if u != "" {
		return u
	}
	const msg = "TEST_DATABASE_URL is not set: PostgreSQL tests are SKIPPED. " +
		"Run `make test` (it starts a throwaway PostgreSQL) or set TEST_DATABASE_URL=postgres://..."
	if os.Getenv("CI") != "" || os.Getenv("TEST_REQUIRE_POSTGRES") != "" {
		tb.Fatal(msg + " (they are required here)")
	}
	warnOnce.Do(func() { fmt.Fprintln(os.Stderr, "\n*** WARNING: "+msg+" ***") })
	tb.Skip(msg)
	return ""
}

// NewDatabase creates an empty database on the test server, drops it when
// the test ends, and returns its URL.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	base := URL(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := postgres.Open(ctx, base, postgres.Options{MaxOpenConns: 2})
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	defer admin.Close()

	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "chirper_test_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name)); err != nil {
		tb.Fatalf("pgtest: create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := postgres.Open(ctx, base, postgres.Options{MaxOpenConns: 1})
		if err != nil {
			tb.Errorf("pgtest: drop database: %v", err)
			return
		}
		defer admin.Close()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(name)+" WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: drop database: %v", err)
		}
	})
	return withDatabase(tb, base, name)
}

// MustOpenDB opens a new, migrated database on the test server; it is closed
// and dropped when the test ends.
func MustOpenDB(tb testing.TB) *postgres.DB {
	tb.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, NewDatabase(tb), postgres.Options{MaxOpenConns: 20})
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	return db
}

// withDatabase returns the URL with its database name replaced.
func withDatabase(tb testing.TB, rawURL, name string) string {
	tb.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		tb.Fatal("pgtest: TEST_DATABASE_URL is not a valid URL")
	}
	u.Path = "/" + name
	return u.String()
}

// Seed empties the database and fills it, with set-based SQL, with users
// user_1 … user_N (all with passwordHash) and chirps chirps by them, newest
// last, each carrying two of the 100 tags tag0 … tag99.
func Seed(ctx context.Context, db *postgres.DB, users, chirps int, passwordHash string) error {
	for _, step := range []struct {
		sql  string
		args []any
	}{
		{`TRUNCATE users, chirps, chirp_tags, refresh_tokens, refresh_token_families, follows RESTART IDENTITY`, nil},
		{`INSERT INTO users (username, password_hash)
		  SELECT 'user_' || i, $2 FROM generate_series(1, $1::int) AS i`, []any{users, passwordHash}},
		{`INSERT INTO chirps (author_id, message, tags, created_at)
		  SELECT 1 + i % $2, 'chirp number ' || i,
		         ARRAY['tag' || (i % 100), 'tag' || ((i % 100 + 1 + (i / 100) % 99) % 100)],
		         now() - make_interval(secs => $1 - i)
		  FROM generate_series(1, $1::int) AS i ORDER BY i`, []any{chirps, users}},
		{`INSERT INTO chirp_tags (tag, chirp_id) SELECT unnest(tags), id FROM chirps`, nil},
		{`VACUUM ANALYZE`, nil},
	} {
		if _, err := db.ExecContext(ctx, step.sql, step.args...); err != nil {
			return fmt.Errorf("pgtest: seeding: %w", err)
		}
	}
	return nil
}
