package postgres_test

import (
	"context"
	"fmt"
	"net/url"
	"runtime"
	"sync"
	"testing"

	"github.com/lib/pq"

	"github.com/chirper/chirper/pkg/chirper"
	"github.com/chirper/chirper/pkg/postgres"
	"github.com/chirper/chirper/pkg/postgres/pgtest"
	"github.com/chirper/chirper/pkg/storetest"
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
		{"AnyOfThreeTags", chirper.ChirpFilter{Tags: []string{"tag7", "tag42", "tag93"}}},
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
// carrying two of 100 tags, seeded once (pgtest.Seed) and kept on the
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
		if err := pgtest.Seed(ctx, db, 100, size, "x"); err != nil {
			b.Fatal(err)
		}
	}
	seeded.Store(size, db)
	return db
}

// BenchmarkCreateChirps writes single chirps from 16 goroutines at once,
// announced as the store announces them, after the commit (notify=after),
// and with migration 00009's trigger put back, which notified inside the
// insert's transaction too (notify=inside): what PostgreSQL's NOTIFY lock,
// held until the commit is flushed, costs concurrent writers. make bench
// runs it on a durable PostgreSQL (PG_DURABLE=1), as production is.
func BenchmarkCreateChirps(b *testing.B) {
	db := pgtest.MustOpenDB(b)
	ctx := context.Background()
	author := storetest.MustCreateUser(b, postgres.NewUserStore(db), "writer")
	store := postgres.NewChirpStore(db)
	for _, variant := range []struct{ name, sql string }{
		{"after", ""},
		{"inside", `
			CREATE OR REPLACE FUNCTION chirper_notify_new_chirps() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				PERFORM pg_notify('chirper_changes', 'new_chirps:' || (SELECT string_agg(id::text, ',') FROM added));
				RETURN NULL;
			END
			$$;
			CREATE OR REPLACE TRIGGER chirps_notify_new AFTER INSERT ON chirps
				REFERENCING NEW TABLE AS added
				FOR EACH STATEMENT EXECUTE FUNCTION chirper_notify_new_chirps();`},
	} {
		b.Run("notify="+variant.name, func(b *testing.B) {
			if variant.sql != "" {
				if _, err := db.ExecContext(ctx, variant.sql); err != nil {
					b.Fatal(err)
				}
			}
			b.SetParallelism(16 / runtime.GOMAXPROCS(0))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					c := &chirper.Chirp{AuthorID: author.ID, Message: "a chirp #go", Tags: []string{"go", "db"}}
					if err := store.CreateChirp(ctx, c); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
