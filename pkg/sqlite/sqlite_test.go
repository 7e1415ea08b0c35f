package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/chirper/chirper/pkg/chirper"
	"github.com/chirper/chirper/pkg/sqlite"
	"github.com/chirper/chirper/pkg/sqlite/sqlitetest"
	"github.com/chirper/chirper/pkg/storetest"
)

func TestStores(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Stores {
		db := sqlitetest.MustOpenDB(t)
		return storetest.Stores{
			Users:   sqlite.NewUserStore(db),
			Chirps:  sqlite.NewChirpStore(db),
			Tokens:  sqlite.NewRefreshTokenStore(db),
			Keys:    sqlite.NewIdempotencyStore(db),
			Follows: sqlite.NewFollowStore(db),
		}
	})
}

func TestSchema(t *testing.T) {
	ctx := context.Background()
	t.Run("BehindRefusesToStart", func(t *testing.T) {
		db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "new.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.CheckSchema(ctx); err == nil {
			t.Fatal("CheckSchema on an unmigrated database = nil, want an error")
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if err := db.CheckSchema(ctx); err != nil {
			t.Fatalf("CheckSchema after Migrate: %v", err)
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("second Migrate: %v", err)
		}
	})
	t.Run("ForeignKeysOn", func(t *testing.T) {
		db := sqlitetest.MustOpenDB(t)
		var on int
		if err := db.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&on); err != nil {
			t.Fatal(err)
		}
		var mode string
		if err := db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if on != 1 || mode != "wal" {
			t.Fatalf("foreign_keys = %d, journal_mode = %q; want 1 and wal", on, mode)
		}
	})
	t.Run("DurableCommits", func(t *testing.T) {
		db := sqlitetest.MustOpenDB(t)
		// Every pooled connection, not just one, must sync at commit: the
		// one that ran the migrations (without it) among them.
		conns := make([]*sql.Conn, 4)
		for i := range conns {
			c, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			conns[i] = c
		}
		for i, c := range conns {
			var level int
			if err := c.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&level); err != nil {
				t.Fatal(err)
			}
			if level != 2 {
				t.Fatalf("connection %d: synchronous = %d, want 2 (FULL)", i, level)
			}
		}
	})
	t.Run("FailedMigrationLeavesThePoolAsItWas", func(t *testing.T) {
		db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "new.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		if err := db.Migrate(canceled); err == nil {
			t.Fatal("Migrate with a canceled context = nil, want an error")
		}
		if n := db.Stats().MaxOpenConnections; n != sqlite.MaxConns {
			t.Fatalf("open limit after a failed Migrate = %d, want %d", n, sqlite.MaxConns)
		}
		var level int
		if err := db.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&level); err != nil {
			t.Fatal(err)
		}
		if level != 2 {
			t.Fatalf("synchronous after a failed Migrate = %d, want 2 (FULL)", level)
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("Migrate after a failed one: %v", err)
		}
	})
	t.Run("KeepsItsConnections", func(t *testing.T) {
		// Migrate runs on one connection; afterwards the pool is whole
		// again, and keeps its connections idle rather than opening one a
		// query (each reads the schema and runs the pragmas).
		db := sqlitetest.MustOpenDB(t)
		conns := make([]*sql.Conn, sqlite.MaxConns)
		for i := range conns {
			c, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns[i] = c
		}
		for _, c := range conns {
			c.Close()
		}
		if s := db.Stats(); s.MaxOpenConnections != sqlite.MaxConns || s.Idle != sqlite.MaxConns || s.MaxIdleClosed != 0 {
			t.Fatalf("pool after Migrate and %d connections: open limit %d, %d idle, %d closed for the idle limit; want %d, %d, 0",
				sqlite.MaxConns, s.MaxOpenConnections, s.Idle, s.MaxIdleClosed, sqlite.MaxConns, sqlite.MaxConns)
		}
	})
}

// TestReadsFailWhenClosed: the reads through statements parsed once fail
// with an error, not a "not found", once the database is closed, whether
// their statement was prepared before (chirp and user by id) or would be
// prepared now (user by name).
func TestReadsFailWhenClosed(t *testing.T) {
	ctx := context.Background()
	db := sqlitetest.MustOpenDB(t)
	users, chirps := sqlite.NewUserStore(db), sqlite.NewChirpStore(db)
	alice := storetest.MustCreateUser(t, users, "alice")
	c := storetest.MustCreateChirp(t, chirps, alice.ID, "hello")
	if _, err := chirps.FindChirpByID(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := users.FindUserByID(ctx, alice.ID); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for name, read := range map[string]func() error{
		"FindChirpByID":      func() error { _, err := chirps.FindChirpByID(ctx, c.ID); return err },
		"FindUserByID":       func() error { _, err := users.FindUserByID(ctx, alice.ID); return err },
		"FindUserByUsername": func() error { _, err := users.FindUserByUsername(ctx, "alice"); return err },
	} {
		if err := read(); err == nil || chirper.ErrorCode(err) == chirper.ENOTFOUND {
			t.Errorf("%s on a closed database = %v, want an error other than not found", name, err)
		}
	}
}
