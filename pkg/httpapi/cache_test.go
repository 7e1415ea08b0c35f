package httpapi

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chirper/chirper/pkg/chirper"
	"github.com/chirper/chirper/pkg/sqlite"
	"github.com/chirper/chirper/pkg/sqlite/sqlitetest"
	"github.com/chirper/chirper/pkg/storetest"
)

// TestChirpCacheRefusesAChirpDeletedOnThePrimary: once the primary's
// notification of a deletion arrived, a chirp that the store (a lagging
// replica) still returns is answered 404 and not cached, whatever the
// cache's budget, none included.
func TestChirpCacheRefusesAChirpDeletedOnThePrimary(t *testing.T) {
	for _, bytes := range []int64{1 << 20, 0} {
		t.Run(fmt.Sprint("bytes=", bytes), func(t *testing.T) {
			db := sqlitetest.MustOpenDB(t)
			chirps := sqlite.NewChirpStore(db)
			author := storetest.MustCreateUser(t, sqlite.NewUserStore(db), "author")
			c := &chirper.Chirp{AuthorID: author.ID, Message: "soon gone"}
			if err := chirps.CreateChirp(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			caches := chirper.NewCaches(true)
			log := slog.New(slog.NewJSONHandler(io.Discard, nil))
			h, err := NewHandler(Options{Logger: log, Metrics: NewMetrics(prometheus.NewRegistry())},
				GetChirpGroup(log, chirps, NewChirpCache(caches, bytes)))
			if err != nil {
				t.Fatal(err)
			}
			get := func() int {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, fmt.Sprintf("/v1/chirps/%d", c.ID), nil))
				return rec.Code
			}
			if code := get(); code != http.StatusOK {
				t.Fatalf("before the deletion: %d", code)
			}
			// Deleted on the primary; the replica this store stands for
			// still has it.
			caches.Changed(chirper.Change{Table: chirper.ChangedChirps, ID: c.ID})
			for range 2 {
				if code := get(); code != http.StatusNotFound {
					t.Fatalf("after the primary's notification: %d, want 404", code)
				}
			}
		})
	}
}
