package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/chirper/chirper/pkg/chirper"
	"github.com/chirper/chirper/pkg/sqlite"
	"github.com/chirper/chirper/pkg/storetest"
)

// BenchmarkCreateChirp prices a durable commit: chirps written alone (one
// commit each) and through the write batcher as the standalone runs it,
// with synchronous=FULL (what Open uses) and NORMAL (what it used before).
//
//	go test -run '^$' -bench CreateChirp -count 6 ./pkg/sqlite/ | benchstat -col /sync -
func BenchmarkCreateChirp(b *testing.B) {
	for _, sync := range []string{"FULL", "NORMAL"} {
		for _, batched := range []bool{false, true} {
			name := fmt.Sprintf("sync=%s/batched=%v", sync, batched)
			b.Run(name, func(b *testing.B) {
				ctx := context.Background()
				db, err := sqlite.OpenSynchronous(ctx, filepath.Join(b.TempDir(), "bench.db"), sync)
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				if err := db.Migrate(ctx); err != nil {
					b.Fatal(err)
				}
				var chirps chirper.ChirpStore = sqlite.NewChirpStore(db)
				if batched {
					batcher := chirper.NewChirpBatcher(chirps, 4, 64, 10*time.Second)
					defer batcher.Close()
					chirps = batcher
				}
				author := storetest.MustCreateUser(b, sqlite.NewUserStore(db), "bencher")
				b.SetParallelism(16) // 16 × GOMAXPROCS clients
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						c := &chirper.Chirp{AuthorID: author.ID, Message: "a benchmark chirp #bench", Tags: []string{"bench"}}
						if err := chirps.CreateChirp(ctx, c); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}

// BenchmarkFindChirpByID reads chirps by id from 16 goroutines, as GET
// /v1/chirps/{id} does on a cache miss.
//
//	go test -run '^$' -bench FindChirpByID -count 6 ./pkg/sqlite/ | benchstat -
func BenchmarkFindChirpByID(b *testing.B) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	chirps := sqlite.NewChirpStore(db)
	author := storetest.MustCreateUser(b, sqlite.NewUserStore(db), "bencher")
	const n = 1000
	batch := make([]*chirper.Chirp, n)
	for i := range batch {
		batch[i] = &chirper.Chirp{AuthorID: author.ID, Message: fmt.Sprint("chirp ", i), Tags: []string{"go"}}
	}
	if _, err := chirps.CreateChirps(ctx, batch, 0); err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			if _, err := chirps.FindChirpByID(ctx, batch[i%n].ID); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
