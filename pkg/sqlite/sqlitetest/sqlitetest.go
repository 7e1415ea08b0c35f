// Package sqlitetest gives tests their own migrated SQLite database in a
// temporary folder.
package sqlitetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/chirper/chirper/pkg/sqlite"
)

// MustOpenDB opens and migrates a new SQLite database in a temporary folder;
// it is closed when the test ends.
func MustOpenDB(tb testing.TB) *sqlite.DB {
	tb.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "chirper.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	return db
}
