package postgres_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chirper/chirper/pkg/chirper"
	"github.com/chirper/chirper/pkg/postgres"
	"github.com/chirper/chirper/pkg/postgres/pgtest"
	"github.com/chirper/chirper/pkg/storetest"
)

func TestStores(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Stores {
		db := pgtest.MustOpenDB(t)
		return storetest.Stores{
			Users:   postgres.NewUserStore(db),
			Chirps:  postgres.NewChirpStore(db),
			Tokens:  postgres.NewRefreshTokenStore(db),
			Keys:    postgres.NewIdempotencyStore(db),
			Follows: postgres.NewFollowStore(db),
		}
	})
}

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)

	t.Run("BehindRefusesToStart", func(t *testing.T) {
		db, err := postgres.Open(ctx, dsn, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.CheckSchema(ctx); err == nil {
			t.Fatal("CheckSchema on an empty database = nil, want an error")
		}
	})

	t.Run("ConcurrentRunsAreSafe", func(t *testing.T) {
		const runs = 5
		var wg sync.WaitGroup
		errs := make([]error, runs)
		for i := range runs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				db, err := postgres.Open(ctx, dsn, postgres.Options{MaxOpenConns: 2})
				if err != nil {
					errs[i] = err
					return
				}
				defer db.Close()
				errs[i] = db.Migrate(ctx)
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("migration %d: %v", i, err)
			}
		}
		db, err := postgres.Open(ctx, dsn, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.CheckSchema(ctx); err != nil {
			t.Fatalf("CheckSchema after concurrent migrations: %v", err)
		}
	})
}

// TestSearchIndexPendingList: the search index merges its pending list of
// new words once the list holds 256 kB (migration 00013), not the default
// 4 MB, so that no insert stalls every post behind a long merge. About 2 MB
// of new words go in; the list must never have held much more than 256 kB.
func TestSearchIndexPendingList(t *testing.T) {
	ctx := context.Background()
	db := pgtest.MustOpenDB(t)
	if _, err := db.ExecContext(ctx, `CREATE EXTENSION IF NOT EXISTS pgstattuple`); err != nil {
		t.Fatal(err)
	}
	u := &chirper.User{Username: "wordy", Role: chirper.RoleUser, PasswordHash: "x"}
	if err := postgres.NewUserStore(db).CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	// 5,000 chirps of 20 words never seen before: 100,000 new entries.
	if _, err := db.ExecContext(ctx, `
		INSERT INTO chirps (author_id, message)
		SELECT $1, (SELECT string_agg('w' || (i * 20 + j), ' ') FROM generate_series(1, 20) j)
		FROM generate_series(1, 5000) i`, u.ID); err != nil {
		t.Fatal(err)
	}
	var pendingPages int
	if err := db.QueryRowContext(ctx, `SELECT pending_pages FROM pgstatginindex('chirps_search_idx')`).Scan(&pendingPages); err != nil {
		t.Fatal(err)
	}
	if limit := 256 << 10 / 8192; pendingPages > limit+8 {
		t.Fatalf("the pending list holds %d pages, want about %d (256 kB) at most", pendingPages, limit)
	}
	var found int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM chirps WHERE search @@ to_tsquery('simple', 'w21 | w100020')`).Scan(&found); err != nil || found != 2 {
		t.Fatalf("search found %d chirps (%v), want the first and the last", found, err)
	}
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	t.Run("ErrBadURLHidesPassword", func(t *testing.T) {
		_, err := postgres.Open(ctx, "postgres://u:s3cret@host:notaport/db", postgres.Options{})
		if err == nil {
			t.Fatal("Open with a bad URL = nil error")
		}
		if got := err.Error(); strings.Contains(got, "s3cret") {
			t.Fatalf("error %q leaks the password", got)
		}
	})
	t.Run("ErrUnreachable", func(t *testing.T) {
		_, err := postgres.Open(ctx, "postgres://u:s3cret@127.0.0.1:1/db?sslmode=disable&connect_timeout=2", postgres.Options{})
		if code := chirper.ErrorCode(err); code != chirper.EUNAVAILABLE {
			t.Fatalf("code = %q (%v), want unavailable", code, err)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Fatalf("error %q leaks the password", err)
		}
	})
	t.Run("NoJIT", func(t *testing.T) {
		// Every pooled connection, not just one.
		db := pgtest.MustOpenDB(t)
		conns := make([]*sql.Conn, 3)
		for i := range conns {
			c, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			conns[i] = c
		}
		for i, c := range conns {
			var jit string
			if err := c.QueryRowContext(ctx, `SHOW jit`).Scan(&jit); err != nil || jit != "off" {
				t.Fatalf("connection %d: jit = %q, %v; want off", i, jit, err)
			}
		}
	})
}

// TestServiceRoles checks the least privilege of each service's role: what
// its group needs, and nothing else.
func TestServiceRoles(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	tests := []struct {
		role, table, privilege string
		want                   bool
	}{
		{"chirper_users", "users", "INSERT", true},
		{"chirper_users", "refresh_tokens", "UPDATE", true},
		{"chirper_users", "refresh_tokens", "DELETE", true},
		{"chirper_users", "refresh_token_families", "UPDATE", true},
		{"chirper_users", "refresh_token_families", "DELETE", true},
		{"chirper_list_chirps", "refresh_token_families", "SELECT", false},
		{"chirper_create_chirp", "refresh_token_families", "SELECT", false},
		{"chirper_users", "chirps", "INSERT", false},
		{"chirper_list_chirps", "chirps", "SELECT", true},
		{"chirper_list_chirps", "chirps", "INSERT", false},
		{"chirper_list_chirps", "users", "UPDATE", false},
		{"chirper_list_chirps", "refresh_tokens", "SELECT", false},
		{"chirper_get_chirp", "chirps", "DELETE", false},
		{"chirper_create_chirp", "chirps", "INSERT", true},
		{"chirper_create_chirp", "chirp_tags", "DELETE", true},
		{"chirper_create_chirp", "users", "DELETE", false},
		{"chirper_create_chirp", "refresh_tokens", "SELECT", false},
	}
	for _, tc := range tests {
		var got bool
		if err := db.QueryRowContext(ctx, `SELECT has_table_privilege($1, $2, $3)`, tc.role, tc.table, tc.privilege).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("%s %s on %s = %v, want %v", tc.role, tc.privilege, tc.table, got, tc.want)
		}
	}
}

// TestPurgeOneProcessAtATime holds the purge's advisory lock as another
// process purging would: the purge then deletes nothing, and once the lock
// is free it deletes the expired token.
func TestPurgeOneProcessAtATime(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	users, tokens := postgres.NewUserStore(db), postgres.NewRefreshTokenStore(db)
	u := storetest.MustCreateUser(t, users, "alice")
	hash := sha256.Sum256([]byte("expired"))
	if err := tokens.CreateRefreshToken(ctx, &chirper.RefreshToken{Hash: hash[:], FamilyID: "f1", UserID: u.ID, ExpiresAt: time.Now().Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	other, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, postgres.PurgeLockID); err != nil {
		t.Fatal(err)
	}
	if n, err := tokens.PurgeRefreshTokens(ctx, time.Now(), 100); err != nil || n != 0 {
		t.Fatalf("purge while another process purges = %d, %v; want 0, nil", n, err)
	}
	if _, err := other.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, postgres.PurgeLockID); err != nil {
		t.Fatal(err)
	}
	if n, err := tokens.PurgeRefreshTokens(ctx, time.Now(), 100); err != nil || n == 0 {
		t.Fatalf("purge with the lock free = %d, %v; want rows deleted", n, err)
	}
}

// TestServiceRolesCanWork runs each write of the create-chirp and users
// services, and the stream service's reads, signed in as that service's
// own role, as they run in AWS.
func TestServiceRolesCanWork(t *testing.T) {
	admin := pgtest.MustOpenDB(t)
	ctx := context.Background()
	var dbName string
	if err := admin.QueryRowContext(ctx, `SELECT current_database()`).Scan(&dbName); err != nil {
		t.Fatal(err)
	}
	as := func(role string) *postgres.DB {
		t.Helper()
		u, err := url.Parse(pgtest.URL(t))
		if err != nil {
			t.Fatal(err)
		}
		u.User, u.Path = url.User(role), "/"+dbName
		db, err := postgres.Open(ctx, u.String(), postgres.Options{MaxOpenConns: 2})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	author := storetest.MustCreateUser(t, postgres.NewUserStore(admin), "alice")

	chirps := postgres.NewChirpStore(as("chirper_create_chirp"))
	ids, err := chirps.ReserveChirpIDs(ctx, 2)
	if err != nil {
		t.Fatalf("create-chirp reserving ids: %v", err)
	}
	batch := []*chirper.Chirp{
		{ID: ids[0], AuthorID: author.ID, Message: "reserved", Tags: []string{"a"}},
		{AuthorID: author.ID, Message: "drawn", Tags: []string{"b"}},
	}
	if _, err := chirps.CreateChirps(ctx, batch, 2); err != nil {
		t.Fatalf("create-chirp writing a batch and reserving ids ahead: %v", err)
	}

	for _, role := range []string{"chirper_create_chirp", "chirper_users"} {
		keys := postgres.NewIdempotencyStore(as(role))
		if _, err := keys.ClaimIdempotencyKey(ctx, role, "k", []byte("fingerprint")); err != nil {
			t.Fatalf("%s claiming an idempotency key: %v", role, err)
		}
		if err := keys.FinishIdempotencyKey(ctx, role, "k", chirper.StoredResponse{Status: 201, Body: []byte("{}")}); err != nil {
			t.Fatalf("%s keeping an answer: %v", role, err)
		}
		if _, err := keys.PurgeIdempotencyKeys(ctx, time.Now(), 10); err != nil {
			t.Fatalf("%s purging keys: %v", role, err)
		}
	}

	bob := storetest.MustCreateUser(t, postgres.NewUserStore(admin), "bob")
	follows := postgres.NewFollowStore(as("chirper_users"))
	if err := follows.Follow(ctx, bob.ID, "alice"); err != nil {
		t.Fatalf("users following: %v", err)
	}
	if _, err := follows.CountUsers(ctx, []int64{author.ID, bob.ID}); err != nil {
		t.Fatalf("users counting: %v", err)
	}
	home := chirper.ChirpFilter{HomeOf: bob.ID}
	home.Normalize()
	if page, err := postgres.NewChirpStore(as("chirper_list_chirps")).ListChirps(ctx, home); err != nil || len(page.Chirps) != 2 {
		t.Fatalf("list-chirps reading a home timeline: %v, %v", page, err)
	}
	if found, err := postgres.NewChirpStore(as("chirper_get_chirp")).FindChirpsByIDs(ctx, []int64{batch[0].ID, batch[1].ID}); err != nil || len(found) != 2 {
		t.Fatalf("get-chirp reading a batch of chirps: %v, %v", found, err)
	}
	streamDB := as("chirper_stream")
	if found, err := postgres.NewChirpStore(streamDB).FindChirpsByIDs(ctx, []int64{batch[0].ID, batch[1].ID}); err != nil || len(found) != 2 {
		t.Fatalf("stream reading new chirps: %v, %v", found, err)
	}
	if page, err := postgres.NewChirpStore(streamDB).ListChirps(ctx, home); err != nil || len(page.Chirps) != 2 {
		t.Fatalf("stream replaying a home timeline: %v, %v", page, err)
	}
	if ids, err := postgres.NewFollowStore(streamDB).FollowingIDs(ctx, bob.ID); err != nil || len(ids) != 1 || ids[0] != author.ID {
		t.Fatalf("stream reading whom a reader follows: %v, %v", ids, err)
	}

	tokens := postgres.NewRefreshTokenStore(as("chirper_users"))
	hash := sha256.Sum256([]byte("t1"))
	next := sha256.Sum256([]byte("t2"))
	if err := tokens.CreateRefreshToken(ctx, &chirper.RefreshToken{Hash: hash[:], FamilyID: "f1", UserID: author.ID, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatalf("users starting a session: %v", err)
	}
	if err := tokens.RotateRefreshToken(ctx, hash[:], &chirper.RefreshToken{Hash: next[:], ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatalf("users rotating: %v", err)
	}
	if err := tokens.RevokeUserRefreshTokens(ctx, author.ID); err != nil {
		t.Fatalf("users revoking: %v", err)
	}
	if _, err := tokens.PurgeRefreshTokens(ctx, time.Now().Add(time.Hour), 10); err != nil {
		t.Fatalf("users purging: %v", err)
	}
}
