package server

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/chirper/chirper/pkg/chirper"
	"github.com/chirper/chirper/pkg/config"
	"github.com/chirper/chirper/pkg/postgres"
	"github.com/chirper/chirper/pkg/sqlite"
)

// Stores are the stores of one process on its database, and a read replica's
// chirp store for the read groups (the primary's when there is no replica).
type Stores struct {
	Users      chirper.UserStore
	Chirps     chirper.ChirpStore
	ReadChirps chirper.ChirpStore
	Tokens     chirper.RefreshTokenStore

	pools map[string]*sql.DB // by name, for ping, metrics and close
}

// OpenStores opens the configured database. The standalone may use SQLite
// and migrates at start; a service needs PostgreSQL and refuses to start
// when the schema is not the one its code expects.
func OpenStores(ctx context.Context, cfg *config.Config, standalone bool) (*Stores, error) {
	kind, dsn, err := cfg.Database()
	if err != nil {
		return nil, err
	}
	st := &Stores{pools: map[string]*sql.DB{}}
	switch {
	case kind == config.SQLite && standalone:
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("data directory: %w", err)
		}
		db, err := sqlite.Open(ctx, dsn)
		if err != nil {
			return nil, err
		}
		st.pools["primary"] = db.DB
		if err := db.Migrate(ctx); err != nil {
			st.Close()
			return nil, err
		}
		st.Users, st.Chirps, st.Tokens = sqlite.NewUserStore(db), sqlite.NewChirpStore(db), sqlite.NewRefreshTokenStore(db)
		st.ReadChirps = st.Chirps
	case kind == config.SQLite:
		return nil, errors.New("the services need PostgreSQL: set CHIRPER_DATABASE_URL=postgres://...")
	default:
		db, err := openPostgres(ctx, cfg, dsn)
		if err != nil {
			return nil, err
		}
		st.pools["primary"] = db.DB
		if standalone {
			err = db.Migrate(ctx)
		} else {
			err = db.CheckSchema(ctx)
		}
		if err != nil {
			st.Close()
			return nil, err
		}
		st.Users, st.Chirps, st.Tokens = postgres.NewUserStore(db), postgres.NewChirpStore(db), postgres.NewRefreshTokenStore(db)
		st.ReadChirps = st.Chirps
		if cfg.DatabaseReadURL != "" {
			replica, err := openPostgres(ctx, cfg, cfg.DatabaseReadURL)
			if err != nil {
				st.Close()
				return nil, fmt.Errorf("read replica: %w", err)
			}
			st.pools["replica"] = replica.DB
			st.ReadChirps = postgres.NewChirpStore(replica)
		}
	}
	return st, nil
}

// openPostgres opens a pool on dsn, signing in with IAM tokens when the
// configuration asks for it.
func openPostgres(ctx context.Context, cfg *config.Config, dsn string) (*postgres.DB, error) {
	opts := postgres.Options{MaxOpenConns: cfg.DBMaxOpenConns}
	if !cfg.DatabaseIAMAuth {
		return postgres.Open(ctx, dsn, opts)
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration for IAM database authentication: %w", err)
	}
	connector, err := postgres.NewIAMConnector(dsn, awsCfg.Region, awsCfg.Credentials)
	if err != nil {
		return nil, err
	}
	return postgres.OpenConnector(ctx, connector, opts)
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

// Close closes every pool.
func (st *Stores) Close() error {
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
}
