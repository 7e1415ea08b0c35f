// Package postgres implements the chirper stores on PostgreSQL through
// github.com/lib/pq, with its schema migrations embedded.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"time"

	"github.com/lib/pq"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/chirper/chirper/pkg/chirper"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLockID is the advisory lock that serialises migrations run by
// several processes at once ("chirper" in ASCII).
const migrationLockID = 0x636869727065

// DB is a pool of connections to one PostgreSQL database.
type DB struct {
	*sql.DB
	log *slog.Logger
}

// Options tune the connection pool; zero values take the defaults.
type Options struct {
	MaxOpenConns    int           // default 25
	MaxIdleConns    int           // default MaxOpenConns
	ConnMaxIdleTime time.Duration // default 5 minutes
	ConnMaxLifetime time.Duration // default 30 minutes
	// Log takes what the stores cannot return to their caller: new chirps
	// stored whose announcement to other processes failed. Default: none.
	Log *slog.Logger
}

// Open opens a pool on the database at dsn (a postgres:// URL or a key=value
// connection string) and checks that it answers.
func Open(ctx context.Context, dsn string, opts Options) (*DB, error) {
	connector, err := NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return OpenConnector(ctx, connector, opts)
}

// NewConnector returns a lib/pq connector for dsn that sends each
// parameterised statement in one round trip: with binary_parameters,
// Parse, Bind, Describe, Execute and Sync of an unnamed statement go out
// together, where lib/pq otherwise waits for the Parse's answer first. An
// unnamed statement leaves no prepared statement on the server, so RDS
// Proxy can still share the connection (named ones pin it).
func NewConnector(dsn string) (*pq.Connector, error) {
	cfg, err := pq.NewConfig(dsn)
	if err != nil {
		// The parser's message may quote the string, password included.
		return nil, errors.New("postgres: the connection string is not valid")
	}
	cfg.BinaryParameters = true
	// No JIT compilation: it pays off for long analytical queries, and it
	// kicked in for the two-plan pages of searches and timelines (whose
	// unrun branch has a large estimated cost), adding 30 to 120 ms of
	// compiling to a query that runs in 4.
	if cfg.Runtime == nil {
		cfg.Runtime = map[string]string{}
	}
	cfg.Runtime["jit"] = "off"
	return pq.NewConnectorConfig(cfg)
}

// OpenConnector is Open for a connector that makes the connections itself
// (for example one that signs in with a fresh IAM token each time).
func OpenConnector(ctx context.Context, connector driver.Connector, opts Options) (*DB, error) {
	db := sql.OpenDB(connector)
	if opts.MaxOpenConns == 0 {
		opts.MaxOpenConns = 25
	}
	if opts.MaxIdleConns == 0 {
		opts.MaxIdleConns = opts.MaxOpenConns
	}
	if opts.ConnMaxIdleTime == 0 {
		opts.ConnMaxIdleTime = 5 * time.Minute
	}
	if opts.ConnMaxLifetime == 0 {
		opts.ConnMaxLifetime = 30 * time.Minute
	}
	db.SetMaxOpenConns(opts.MaxOpenConns)
	db.SetMaxIdleConns(opts.MaxIdleConns)
	db.SetConnMaxIdleTime(opts.ConnMaxIdleTime)
	db.SetConnMaxLifetime(opts.ConnMaxLifetime)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: cannot reach the database: %w", translate(err))
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &DB{DB: db, log: opts.Log}, nil
}

func (db *DB) provider() (*goose.Provider, error) {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(migrationLockID),
		lock.WithLockTimeout(1, 300), // retry every second for five minutes
	)
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectPostgres, db.DB, fsys, goose.WithSessionLocker(locker))
}

// Migrate brings the schema up to date. Several processes may run it at once:
// an advisory lock lets one migrate while the others wait.
func (db *DB) Migrate(ctx context.Context) error {
	p, err := db.provider()
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("postgres: migrate: %w", translate(err))
	}
	return nil
}

// CheckSchema returns an error that says what to do when the database schema
// is behind (or ahead of) the migrations this binary carries.
func (db *DB) CheckSchema(ctx context.Context) error {
	p, err := db.provider()
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	current, target, err := p.GetVersions(ctx)
	if err != nil {
		return fmt.Errorf("postgres: reading the schema version: %w", translate(err))
	}
	return chirper.SchemaVersionError(current, target)
}

// translate turns driver errors into domain errors where the cause is known:
// SQLSTATE codes, never message text.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		switch pqErr.Code {
		case "23505": // unique_violation
			return &chirper.Error{Code: chirper.ECONFLICT, Message: "already exists"}
		case "23503": // foreign_key_violation
			return &chirper.Error{Code: chirper.ENOTFOUND, Message: "a referenced record does not exist"}
		case "23514", "22001": // check_violation, string_data_right_truncation
			return &chirper.Error{Code: chirper.EINVALID, Message: "the input is not valid"}
		}
		switch pqErr.Code.Class() {
		// connection exception, invalid authorization (a rotated password),
		// invalid catalog name (the database is gone), insufficient
		// resources, operator intervention: the database cannot serve.
		case "08", "28", "3D", "53", "57":
			return unavailable(err)
		}
		return err
	}
	var netErr net.Error
	if errors.Is(err, driver.ErrBadConn) || errors.As(err, &netErr) {
		return unavailable(err)
	}
	return err
}

func unavailable(cause error) error {
	return &chirper.Error{Code: chirper.EUNAVAILABLE, Message: "the database is unavailable", Cause: cause}
}
