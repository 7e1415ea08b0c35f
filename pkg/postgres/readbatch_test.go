package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/chirper/chirper/pkg/chirper"
	"github.com/chirper/chirper/pkg/postgres"
	"github.com/chirper/chirper/pkg/postgres/pgtest"
	"github.com/chirper/chirper/pkg/storetest"
)

// TestReadBatcherUnderLoad: many readers at once through a batcher of two
// readers on PostgreSQL each get their own chirp, or not found for an id
// with none, whichever batch their read went in.
func TestReadBatcherUnderLoad(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	chirps := postgres.NewChirpStore(db)
	t.Cleanup(chirps.Close)
	alice := storetest.MustCreateUser(t, postgres.NewUserStore(db), "alice")
	var stored []*chirper.Chirp
	for i := range 50 {
		stored = append(stored, storetest.MustCreateChirp(t, chirps, alice.ID, fmt.Sprintf("chirp %d #t%d", i, i%3)))
	}
	b := chirper.NewChirpReadBatcher(chirps, 2, 8, 10*time.Second)
	var wg sync.WaitGroup
	var mu sync.Mutex
	maxWaiting := 0
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				want := stored[(g*7+i)%len(stored)]
				id := want.ID
				if i%10 == 9 {
					id, want = stored[len(stored)-1].ID+1000+int64(g), nil
				}
				got, err := b.FindChirpByID(context.Background(), id)
				mu.Lock()
				maxWaiting = max(maxWaiting, b.Waiting())
				mu.Unlock()
				switch {
				case want == nil:
					if chirper.ErrorCode(err) != chirper.ENOTFOUND {
						t.Errorf("chirp %d, which does not exist: %v, %v", id, got, err)
					}
				case err != nil || got.ID != want.ID || got.Message != want.Message || got.Author != "alice" || fmt.Sprint(got.Tags) != fmt.Sprint(want.Tags):
					t.Errorf("chirp %d: %+v, %v; want %+v", id, got, err, want)
				}
			}
		}()
	}
	wg.Wait()
	if maxWaiting == 0 {
		t.Fatal("no read ever waited for a reader: nothing was batched")
	}
}
