package postgres_test

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chirper/chirper/pkg/chirper"
	"github.com/chirper/chirper/pkg/postgres"
	"github.com/chirper/chirper/pkg/postgres/pgtest"
	"github.com/chirper/chirper/pkg/storetest"
)

// countingDialer counts what lib/pq writes to PostgreSQL: each write is
// followed by a wait for the answer, so writes are round trips.
type countingDialer struct{ writes *atomic.Int64 }

func (d countingDialer) Dial(network, address string) (net.Conn, error) {
	return d.DialTimeout(network, address, 0)
}

func (d countingDialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	c, err := net.DialTimeout(network, address, timeout)
	if err != nil {
		return nil, err
	}
	return countingConn{Conn: c, writes: d.writes}, nil
}

type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

// TestOneRoundTripPerStoreCall: every store call of the hot paths is one
// round trip to PostgreSQL. CreateChirps is one for its caller and one
// more, by design, for the announcement of its chirps that the store's
// announcer sends meanwhile (sent in the insert's transaction, it
// serialised every writer's commit).
func TestOneRoundTripPerStoreCall(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	connector, err := postgres.NewConnector(dsn)
	if err != nil {
		t.Fatal(err)
	}
	var writes atomic.Int64
	connector.Dialer(countingDialer{&writes})
	db, err := postgres.OpenConnector(ctx, connector, postgres.Options{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	users, chirps := postgres.NewUserStore(db), postgres.NewChirpStore(db)
	alice := storetest.MustCreateUser(t, users, "alice")
	c := storetest.MustCreateChirp(t, chirps, alice.ID, "hello #a #b")
	chirps.Close() // its announcement is sent before the counting starts
	list := func(f chirper.ChirpFilter) func() error {
		f.Normalize()
		return func() error { _, err := chirps.ListChirps(ctx, f); return err }
	}
	// Round trips where not 1.
	roundTrips := map[string]int64{"CreateChirps": 2}
	for _, call := range []struct {
		name string
		do   func() error
	}{
		{"FindChirpByID", func() error { _, err := chirps.FindChirpByID(ctx, c.ID); return err }},
		{"FindChirpsByIDs", func() error { _, err := chirps.FindChirpsByIDs(ctx, []int64{c.ID, c.ID + 1, c.ID + 2}); return err }},
		{"ListChirps/All", list(chirper.ChirpFilter{})},
		{"ListChirps/Author", list(chirper.ChirpFilter{Author: "alice"})},
		{"ListChirps/OneTag", list(chirper.ChirpFilter{Tags: []string{"a"}})},
		{"ListChirps/AnyOfThreeTags", list(chirper.ChirpFilter{Tags: []string{"a", "b", "c"}})},
		{"ListChirps/AllOfTwoTags", list(chirper.ChirpFilter{Tags: []string{"a", "b"}, MatchAll: true})},
		{"ListChirps/Page2", list(chirper.ChirpFilter{BeforeID: c.ID, Since: time.Now().Add(-time.Hour)})},
		{"CountChirps", func() error { _, err := chirps.CountChirps(ctx, chirper.ChirpFilter{Tags: []string{"a"}}); return err }},
		{"CreateChirps", func() error {
			writer := postgres.NewChirpStore(db)
			defer writer.Close() // and the announcement, sent meanwhile
			_, err := writer.CreateChirps(ctx, []*chirper.Chirp{
				{AuthorID: alice.ID, Message: "one", Tags: []string{"x"}},
				{AuthorID: alice.ID, Message: "two", Tags: []string{}},
			}, 4) // and ids reserved ahead
			return err
		}},
		{"ReserveChirpIDs", func() error { _, err := chirps.ReserveChirpIDs(ctx, 3); return err }},
		{"FindUserByID", func() error { _, err := users.FindUserByID(ctx, alice.ID); return err }},
		{"FindUserByUsername", func() error { _, err := users.FindUserByUsername(ctx, "alice"); return err }},
	} {
		t.Run(call.name, func(t *testing.T) {
			before := writes.Load()
			if err := call.do(); err != nil {
				t.Fatal(err)
			}
			if got, want := writes.Load()-before, max(roundTrips[call.name], 1); got != want {
				t.Fatalf("%d round trips, want %d", got, want)
			}
		})
	}
}
