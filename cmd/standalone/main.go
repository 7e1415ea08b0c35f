// Command standalone serves every endpoint of Chirper in one process. With
// no configuration it keeps its data in ./data (a SQLite file and a
// generated signing key); with CHIRPER_DATABASE_URL=postgres://... it runs
// on PostgreSQL.
//
//	standalone [serve]                 serve the API (the default)
//	standalone migrate                 bring the database schema up to date
//	standalone admin grant USERNAME    make the user an admin
//	standalone admin revoke USERNAME   make the admin a plain user again
//	standalone keygen DIR              make a signing key pair for the services
package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/chirper/chirper/pkg/auth"
	"github.com/chirper/chirper/pkg/chirper"
	"github.com/chirper/chirper/pkg/config"
	"github.com/chirper/chirper/pkg/httpapi"
	"github.com/chirper/chirper/pkg/server"
	"github.com/chirper/chirper/pkg/sqlite"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "standalone:", err)
		os.Exit(1)
	}
}

// The router tries the groups' routes in this order, one pattern at a
// time, so the reads, by far the most frequent requests, come first: a chirp
// by id matched its route after twenty others had failed to. No two groups'
// routes match the same request, so the order changes nothing else.
var binary = server.Binary{
	Name:       "standalone",
	Groups:     []string{httpapi.GroupGetChirp, httpapi.GroupListChirps, httpapi.GroupCreateChirp, httpapi.GroupUsers, httpapi.GroupStream},
	Standalone: true,
	OpenSQLite: openSQLite,
}

// openSQLite opens and migrates the SQLite file at path.
func openSQLite(ctx context.Context, path string) (*server.Stores, error) {
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return server.NewStores(db.DB, sqlite.NewUserStore(db), sqlite.NewChirpStore(db), sqlite.NewRefreshTokenStore(db), sqlite.NewIdempotencyStore(db), sqlite.NewFollowStore(db)), nil
}

const usage = `Usage:
  standalone [serve] [-h]            serve every endpoint (the default)
  standalone migrate                 bring the database schema up to date
  standalone admin grant USERNAME    give the user the admin role
  standalone admin revoke USERNAME   take the admin role away
  standalone keygen DIR              write DIR/signing-key.pem (if missing) and
                                     DIR/public-key.pem, for the services
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return server.Run(ctx, binary, args, stdout, stderr)
	case "migrate":
		return withStores(ctx, stderr, func(*server.Stores) error {
			fmt.Fprintln(stdout, "the database schema is up to date")
			return nil
		})
	case "admin":
		if len(args) != 2 || (args[0] != "grant" && args[0] != "revoke") {
			fmt.Fprint(stderr, usage)
			return errors.New("admin takes: grant|revoke USERNAME")
		}
		role := chirper.RoleAdmin
		if args[0] == "revoke" {
			role = chirper.RoleUser
		}
		return withStores(ctx, stderr, func(st *server.Stores) error {
			u, err := st.Users.SetUserRole(ctx, args[1], role)
			if err != nil {
				return fmt.Errorf("%s: %s", args[1], chirper.ErrorMessage(err))
			}
			fmt.Fprintf(stdout, "%s is now %s\n", u.Username, u.Role)
			return nil
		})
	case "keygen":
		if len(args) != 1 {
			fmt.Fprint(stderr, usage)
			return errors.New("keygen takes: DIR")
		}
		return keygen(args[0], stdout)
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// withStores opens (and so migrates) the configured database for a one-off
// command, which logs to stderr.
func withStores(ctx context.Context, stderr io.Writer, fn func(*server.Stores) error) error {
	cfg, err := config.Load(ctx)
	if err != nil {
		return err
	}
	st, err := server.OpenStores(ctx, cfg, binary, server.NewLogger(stderr, cfg.LogLevel))
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(st)
}

// keygen makes (or keeps) the signing key in dir and writes its public key
// beside it: the users service gets the first, every service the second.
func keygen(dir string, stdout io.Writer) error {
	priv, err := auth.LoadOrCreatePrivateKey(filepath.Join(dir, "signing-key.pem"))
	if err != nil {
		return err
	}
	pub, err := auth.MarshalPublicKeyPEM(priv.Public().(ed25519.PublicKey))
	if err != nil {
		return err
	}
	path := filepath.Join(dir, "public-key.pem")
	if err := os.WriteFile(path, pub, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "signing key: %s\npublic key:  %s\n", filepath.Join(dir, "signing-key.pem"), path)
	return nil
}
