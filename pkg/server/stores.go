package server

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/chirper/chirper/pkg/chirper"
	"github.com/chirper/chirper/pkg/config"
	"github.com/chirper/chirper/pkg/postgres"
)

// Stores are the stores of one process on its database, and a read replica's
// chirp store for the read groups (the primary's when there is no replica).
type Stores struct {
	Users      chirper.UserStore
	Chirps     chirper.ChirpStore
	ReadChirps chirper.ChirpStore
	Tokens     chirper.RefreshTokenStore
	Keys       chirper.IdempotencyStore
	Follows    chirper.FollowStore

	pools   map[string]*sql.DB // by name, for ping, metrics and close
	batcher *chirper.ChirpBatcher
	reader  *chirper.ChirpReadBatcher
	flush   []func() // what Close runs after the batcher, before the pools close
	// primaryDSN makes connection strings for the primary's change
	// listener; nil where no other process writes (SQLite).
	primaryDSN func(context.Context) (string, error)
	caches     []namedCache
}

// BatchChirpWrites sends CreateChirp through a ChirpBatcher of writers
// goroutines and batches of at most size, each written within timeout;
// Close flushes it before the databases close.
func (st *Stores) BatchChirpWrites(writers, size int, timeout time.Duration) {
	if st.embedded() {
		writers = 1
	}
	st.batcher = chirper.NewChirpBatcher(st.Chirps, writers, size, timeout)
	st.Chirps = st.batcher
}

// BatchChirpReads sends the read group's FindChirpByID through a
// ChirpReadBatcher of readers store calls at once and batches of at most
// size, each read within timeout (none when 0). Not on an embedded
// database, where a read is no round trip.
func (st *Stores) BatchChirpReads(readers, size int, timeout time.Duration) {
	if !st.embedded() {
		st.reader = chirper.NewChirpReadBatcher(st.ReadChirps, readers, size, timeout)
		st.ReadChirps = st.reader
	}
}

// embedded says the database runs inside the process (SQLite), where there
// is no primary to listen to: it takes one writer at a time, so more than
// one batch writer would only queue for its lock, and a read is no round
// trip, so reads are not batched.
func (st *Stores) embedded() bool { return st.primaryDSN == nil }

// SQLiteOpener opens the stores on a SQLite file and migrates it. Only the
// standalone has one, so that the services do not carry SQLite.
type SQLiteOpener func(ctx context.Context, path string) (*Stores, error)

// NewStores returns the stores of one database pool; reads go to it too.
func NewStores(db *sql.DB, users chirper.UserStore, chirps chirper.ChirpStore, tokens chirper.RefreshTokenStore, keys chirper.IdempotencyStore, follows chirper.FollowStore) *Stores {
	return &Stores{Users: users, Chirps: chirps, ReadChirps: chirps, Tokens: tokens, Keys: keys, Follows: follows, pools: map[string]*sql.DB{"primary": db}}
}

// OpenStores opens the database of b. The standalone may use SQLite and
// migrates at start; a service needs PostgreSQL and refuses to start when
// the schema is not the one its code expects.
func OpenStores(ctx context.Context, cfg *config.Config, b Binary, log *slog.Logger) (*Stores, error) {
	kind, dsn, err := cfg.Database()
	if err != nil {
		return nil, err
	}
	switch {
	case kind == config.SQLite && b.OpenSQLite != nil:
		if err := os.MkdirAll(filepath.Dir(dsn), 0o700); err != nil {
			return nil, fmt.Errorf("data directory: %w", err)
		}
		return b.OpenSQLite(ctx, dsn)
	case kind == config.SQLite:
		return nil, errors.New("the services need PostgreSQL: set CHIRPER_DATABASE_URL=postgres://...")
	}
	db, primaryDSN, err := openPostgres(ctx, cfg, dsn, log)
	if err != nil {
		return nil, err
	}
	chirps := postgres.NewChirpStore(db)
	st := NewStores(db.DB, postgres.NewUserStore(db), chirps, postgres.NewRefreshTokenStore(db), postgres.NewIdempotencyStore(db), postgres.NewFollowStore(db))
	st.primaryDSN = primaryDSN
	st.flush = append(st.flush, chirps.Close) // the last new chirps' announcement
	if b.Standalone {
		err = db.Migrate(ctx)
	} else {
		err = db.CheckSchema(ctx)
	}
	if err != nil {
		st.Close()
		return nil, err
	}
	if cfg.DatabaseReadURL != "" {
		replica, _, err := openPostgres(ctx, cfg, cfg.DatabaseReadURL, log)
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("read replica: %w", err)
		}
		st.pools["replica"] = replica.DB
		st.ReadChirps = postgres.NewChirpStore(replica)
	}
	return st, nil
}

// openPostgres opens a pool on dsn, signing in with IAM tokens when the
// configuration asks for it, and returns how to make a connection string
// for one more connection (an IAM token is good for one sign-in).
func openPostgres(ctx context.Context, cfg *config.Config, dsn string, log *slog.Logger) (*postgres.DB, func(context.Context) (string, error), error) {
	opts := postgres.Options{MaxOpenConns: cfg.DBMaxOpenConns, Log: log}
	if !cfg.DatabaseIAMAuth {
		db, err := postgres.Open(ctx, dsn, opts)
		return db, func(context.Context) (string, error) { return dsn, nil }, err
	}
	a, err := config.LoadAWS()
	if err != nil {
		return nil, nil, fmt.Errorf("IAM database authentication: %w", err)
	}
	connector, err := postgres.NewIAMConnector(dsn, a.Region, a.Credentials)
	if err != nil {
		return nil, nil, err
	}
	db, err := postgres.OpenConnector(ctx, connector, opts)
	return db, connector.DSN, err
}

// listenForChanges makes the caches of the process: on PostgreSQL they
// hear every process's changes from the primary, and the users behind the
// access tokens are cached too; on SQLite (one process writes, but the
// admin command is another) users are not, and the caches are live from
// the start.
func (st *Stores) listenForChanges(cfg *config.Config, log *slog.Logger, bg *jobs) *chirper.Caches {
	if st.primaryDSN == nil {
		caches := chirper.NewCaches(true)
		st.Users = chirper.NewCachedUsers(st.Users, caches, 0)
		st.Follows = chirper.NewReportedFollows(st.Follows, caches)
		return caches
	}
	// PostgreSQL's trigger announces each follow to every process, this one
	// included, but later than this process reports its own new chirps:
	// without its own report too, a chirp posted right after an unfollow
	// could reach the unfollower's home stream.
	caches := chirper.NewCaches(false)
	st.Follows = chirper.NewReportedFollows(st.Follows, caches)
	bg.run(func(ctx context.Context) { postgres.ListenForChanges(ctx, st.primaryDSN, caches, log) })
	users := chirper.NewCachedUsers(st.Users, caches, cacheBudget(cfg.CacheMB).users())
	st.Users = users
	st.caches = append(st.caches, namedCache{"users", users.Cache().Stats})
	return caches
}

// cacheBudget is the caches' memory (CHIRPER_CACHE_MB), which they share
// in sixteenths. Most goes to the encoded chirps: GET /v1/chirps/{id} is
// the read a microblog serves most, and a chirp is some 340 bytes cached,
// so the default 20 MiB holds the 36,000 read last. A full first page (20
// chirps) is some 4 KiB, a verified token some 450 bytes.
type cacheBudget int

func (b cacheBudget) share(sixteenths int64) int64 { return int64(b) << 20 * sixteenths / 16 }

func (b cacheBudget) chirps() int64       { return b.share(10) }
func (b cacheBudget) pages() int64        { return b.share(2) }
func (b cacheBudget) tokens() int64       { return b.share(2) }
func (b cacheBudget) users() int64        { return b.share(1) }
func (b cacheBudget) followCounts() int64 { return b.share(1) }

// namedCache is a cache's name and counts, for its metrics.
type namedCache struct {
	name  string
	stats func() chirper.CacheStats
}

// Ping reports whether every database answers.
func (st *Stores) Ping(ctx context.Context) error {
	for name, db := range st.pools {
		if err := db.PingContext(ctx); err != nil {
			return fmt.Errorf("%s database: %w", name, err)
		}
	}
	return nil
}

// Close writes the chirps still queued, then closes every pool.
func (st *Stores) Close() error {
	if st.batcher != nil {
		st.batcher.Close()
	}
	for _, flush := range st.flush {
		flush()
	}
	var errs []error
	for _, db := range st.pools {
		errs = append(errs, db.Close())
	}
	return errors.Join(errs...)
}

func (st *Stores) registerMetrics(reg prometheus.Registerer) {
	for name, db := range st.pools {
		reg.MustRegister(collectors.NewDBStatsCollector(db, name))
	}
	for _, c := range st.caches {
		labels := prometheus.Labels{"cache": c.name}
		for _, m := range []struct {
			name, help string
			counter    bool
			value      func(chirper.CacheStats) float64
		}{
			{"cache_hits_total", "Lookups a cache answered.", true, func(s chirper.CacheStats) float64 { return float64(s.Hits) }},
			{"cache_misses_total", "Lookups a cache could not answer.", true, func(s chirper.CacheStats) float64 { return float64(s.Misses) }},
			{"cache_evictions_total", "Entries a full cache dropped.", true, func(s chirper.CacheStats) float64 { return float64(s.Evictions) }},
			{"cache_entries", "Entries in a cache now.", false, func(s chirper.CacheStats) float64 { return float64(s.Entries) }},
			{"cache_bytes", "Memory a cache's entries take now, as it reckons it (its share of CHIRPER_CACHE_MB).", false, func(s chirper.CacheStats) float64 { return float64(s.Bytes) }},
		} {
			opts := prometheus.Opts{Namespace: "chirper", Name: m.name, Help: m.help, ConstLabels: labels}
			value := func() float64 { return m.value(c.stats()) }
			if m.counter {
				reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts(opts), value))
			} else {
				reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts(opts), value))
			}
		}
	}
	queue := func(name, help string, length func() int) {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "chirper", Name: name, Help: help},
			func() float64 { return float64(length()) }))
	}
	if b := st.batcher; b != nil {
		queue("chirp_write_queue", "New chirps waiting for a batch writer.", b.Queued)
	}
	if r := st.reader; r != nil {
		queue("chirp_read_queue", "Reads of chirps by id waiting for a reader, to go together in its next batch.", r.Waiting)
	}
}
