package postgres_test

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"testing"

	"github.com/lib/pq"

	"github.com/chirper/chirper/pkg/chirper"
	"github.com/chirper/chirper/pkg/postgres"
	"github.com/chirper/chirper/pkg/postgres/pgtest"
)

// BenchmarkListChirps measures the newest page of each list shape at two
// sizes; keyset paging over the right indexes keeps the large figures close
// to the small ones. Compare runs with benchstat (make bench).
func BenchmarkListChirps(b *testing.B) {
	shapes := []struct {
		name string
		f    chirper.ChirpFilter
	}{
		{"All", chirper.ChirpFilter{}},
		{"Author", chirper.ChirpFilter{Author: "user_42"}},
		{"OneTag", chirper.ChirpFilter{Tags: []string{"tag7"}}},
		{"AnyOfThreeTags", chirper.ChirpFilter{Tags: []string{"tag7", "tag42", "tag123"}}},
	}
	for _, size := range []int{10_000, 1_000_000} {
		b.Run(fmt.Sprintf("chirps=%d", size), func(b *testing.B) {
			store := postgres.NewChirpStore(seededDB(b, size))
			for _, shape := range shapes {
				b.Run(shape.name, func(b *testing.B) {
					f := shape.f
					f.Normalize()
					ctx := context.Background()
					for b.Loop() {
						page, err := store.ListChirps(ctx, f)
						if err != nil {
							b.Fatal(err)
						}
						if len(page.Chirps) != chirper.DefaultPageLimit {
							b.Fatalf("page of %d chirps, want %d", len(page.Chirps), chirper.DefaultPageLimit)
						}
					}
				})
			}
		})
	}
}

var seeded sync.Map // size → *postgres.DB, shared by -count repetitions

// seededDB returns a database with size chirps by 100 authors, each chirp
// carrying two of 200 tags, seeded once with set-based SQL and kept on the
// server (as chirper_bench_SIZE) for the next run.
func seededDB(b *testing.B, size int) *postgres.DB {
	if db, ok := seeded.Load(size); ok {
		return db.(*postgres.DB)
	}
	ctx := context.Background()
	base := pgtest.URL(b)
	name := fmt.Sprintf("chirper_bench_%d", size)
	admin, err := postgres.Open(ctx, base, postgres.Options{MaxOpenConns: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close()
	var exists bool
	if err := admin.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		b.Fatal(err)
	}
	if !exists {
		if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name)); err != nil {
			b.Fatal(err)
		}
	}
	u, err := url.Parse(base)
	if err != nil {
		b.Fatal(err)
	}
	u.Path = "/" + name
	db, err := postgres.Open(ctx, u.String(), postgres.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	var have int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM chirps`).Scan(&have); err != nil {
		b.Fatal(err)
	}
	if have != size {
		b.Logf("seeding %d chirps into %s", size, name)
		steps := []struct {
			sql  string
			args []any
		}{
			{`TRUNCATE users, chirps, chirp_tags, refresh_tokens RESTART IDENTITY`, nil},
			{`INSERT INTO users (username, password_hash)
			  SELECT 'user_' || i, 'x' FROM generate_series(1, 100) AS i`, nil},
			{`INSERT INTO chirps (author_id, message, tags, created_at)
			  SELECT 1 + i % 100, 'chirp number ' || i,
			         ARRAY['tag' || (i % 100), 'tag' || (100 + (i / 7) % 100)],
			         now() - make_interval(secs => $1 - i)
			  FROM generate_series(1, $1::int) AS i ORDER BY i`, []any{size}},
			{`INSERT INTO chirp_tags (tag, chirp_id) SELECT unnest(tags), id FROM chirps`, nil},
			{`VACUUM ANALYZE`, nil},
		}
		for _, step := range steps {
			if _, err := db.ExecContext(ctx, step.sql, step.args...); err != nil {
				b.Fatalf("seeding: %v", err)
			}
		}
	}
	seeded.Store(size, db)
	return db
}
