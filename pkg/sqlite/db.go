// Package sqlite implements the chirper stores on an embedded SQLite file
// through modernc.org/sqlite (pure Go, no cgo), with its schema migrations
// embedded.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sync"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/chirper/chirper/pkg/chirper"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is a pool of connections to one SQLite file.
type DB struct {
	*sql.DB
	stmts sync.Map // query text → *sql.Stmt, for queryRow
}

// stmt returns the statement of a query whose text never varies, which
// each connection that runs it parses once (database/sql prepares it again
// on each), where a query sent as text is parsed every time: SQLite's
// parser took 14 % of the server's CPU in GET /v1/chirps/{id}. Within a
// transaction, use it through tx.StmtContext, and get it before the
// transaction begins: preparing it may take a connection of its own, and
// while the transaction holds the write lock every other connection may
// be waiting for that lock.
func (db *DB) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := db.stmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	prepared, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if st, loaded := db.stmts.LoadOrStore(query, prepared); loaded {
		prepared.Close() // another goroutine stored it first
		return st.(*sql.Stmt), nil
	}
	return prepared, nil
}

// queryRow runs a query whose text never varies through its statement.
func (db *DB) queryRow(ctx context.Context, query string, args ...any) rowScanner {
	st, err := db.stmt(ctx, query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

// rowScanner is a row to scan: an *sql.Row, or errRow.
type rowScanner interface{ Scan(...any) error }

// errRow is a row whose query could not be prepared.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// maxConns is the size of each pool. Each connection keeps its own page
// cache (up to 2 MiB) and its statements' memory: with every cache full and
// 64 clients reading and posting, the standalone peaked at 103 MB resident
// with 8 connections and at 83 MB with 4, for the same throughput (SQLite
// writes one transaction at a time whatever the pool; reads are CPU-bound).
const maxConns = 4

// Open opens (creating if need be) the SQLite database file at path, in WAL
// mode with foreign keys on and a busy timeout, so that many goroutines may
// write at once: writers queue instead of failing.
//
// Commits are durable (synchronous=FULL): in WAL mode NORMAL would let an
// acknowledged chirp vanish on power loss or an OS crash. The write batcher
// groups concurrent chirps into one commit, so the fsync is paid once a
// batch.
func Open(ctx context.Context, path string) (*DB, error) {
	return open(ctx, path, "FULL")
}

func open(ctx context.Context, path, synchronous string) (*DB, error) {
	q := url.Values{}
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+synchronous+")")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(time.Hour)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return &DB{DB: db}, nil
}

func (db *DB) provider() (*goose.Provider, error) {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectSQLite3, db.DB, fsys)
}

// Migrate brings the schema up to date.
//
// Its commits do not wait for the disk (synchronous=NORMAL): a first start
// applies a dozen migrations, and an fsync each held it up by a quarter of a
// second on a disk busy with other writes. Nothing is lost by it: in WAL
// mode a crash can only drop the newest commits, so a migration and the
// version that records it go together, and whatever was dropped is applied
// again at the next start. The first durable commit after them syncs the
// log, and them with it.
func (db *DB) Migrate(ctx context.Context) error {
	// One connection, so that the pragma holds for every statement of the
	// migrations; the pool is the writers' again when they are done.
	// (Lowering the open limit lowers the idle one too: both come back.)
	db.SetMaxOpenConns(1)
	defer db.SetMaxIdleConns(maxConns)
	defer db.SetMaxOpenConns(maxConns)
	p, err := db.provider()
	if err != nil {
		return fmt.Errorf("sqlite: migrations: %w", err)
	}
	if _, err := db.ExecContext(ctx, "PRAGMA synchronous=NORMAL"); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	_, err = p.Up(ctx)
	// Durable again, or the caller must close the database: a writer must
	// never get this connection as it is.
	if _, serr := db.ExecContext(context.WithoutCancel(ctx), "PRAGMA synchronous=FULL"); err == nil && serr != nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	return nil
}

// CheckSchema returns an error that says what to do when the database schema
// does not match the migrations this binary carries.
func (db *DB) CheckSchema(ctx context.Context) error {
	p, err := db.provider()
	if err != nil {
		return fmt.Errorf("sqlite: migrations: %w", err)
	}
	current, target, err := p.GetVersions(ctx)
	if err != nil {
		return fmt.Errorf("sqlite: reading the schema version: %w", err)
	}
	return chirper.SchemaVersionError(current, target)
}

// now is the time the stores write: UTC, to the microsecond, as PostgreSQL
// keeps it.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// micros is how times are stored: Unix microseconds.
func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// translate turns SQLite errors into domain errors by their extended result
// codes, never by message text.
func translate(err error) error {
	var sqErr *sqlite.Error
	if !errors.As(err, &sqErr) {
		return err
	}
	switch sqErr.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return &chirper.Error{Code: chirper.ECONFLICT, Message: "already exists"}
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return &chirper.Error{Code: chirper.ENOTFOUND, Message: "a referenced record does not exist"}
	case sqlite3.SQLITE_CONSTRAINT_CHECK:
		return &chirper.Error{Code: chirper.EINVALID, Message: "the input is not valid"}
	}
	switch sqErr.Code() & 0xff { // the primary result code
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN:
		return &chirper.Error{Code: chirper.EUNAVAILABLE, Message: "the database is unavailable", Cause: err}
	}
	return err
}
