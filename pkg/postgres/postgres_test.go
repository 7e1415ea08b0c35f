package postgres_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/chirper/chirper/pkg/chirper"
	"github.com/chirper/chirper/pkg/postgres"
	"github.com/chirper/chirper/pkg/postgres/pgtest"
	"github.com/chirper/chirper/pkg/storetest"
)

func TestStores(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Stores {
		db := pgtest.MustOpenDB(t)
		return storetest.Stores{
			Users:  postgres.NewUserStore(db),
			Chirps: postgres.NewChirpStore(db),
			Tokens: postgres.NewRefreshTokenStore(db),
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
