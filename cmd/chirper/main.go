// Command chirper is a command-line client of the Chirper API, on top of
// pkg/client:
//
//	chirper [--server URL] [--json] COMMAND [ARGS]
//
// The server comes from --server, else CHIRPER_URL, else
// http://localhost:8080. `chirper login` keeps the session's refresh token
// in the user's configuration folder (mode 0600) and every later command
// refreshes the access token when it has expired. Exit codes: 0 success, 1
// an error, 2 a usage mistake.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// usageError is a mistake in the command line: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

const usage = `Usage: chirper [--server URL] [--json] COMMAND [ARGS]

Commands:
  register USERNAME           create an account (the password is read as for login)
  login USERNAME              log in: the password is read from the terminal
                              without echo, or from standard input
  logout                      end the session here and on the server
  whoami                      the logged-in user
  post MESSAGE [--tag T]...   post a chirp (#hashtags in the message are tags too)
  ls [filters] [--all]        list chirps, newest first: --tag T (repeatable),
                              --match all, --author U, --since/--until RFC 3339,
                              --q WORDS, --limit N; --all follows every page
  get ID                      one chirp
  rm ID                       delete one of your chirps

Global flags:
  --server URL   the API (default: $CHIRPER_URL, else http://localhost:8080)
  --json         print JSON, for scripts
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	var ue *usageError
	switch {
	case err == nil:
	case errors.As(err, &ue):
		fmt.Fprintf(os.Stderr, "chirper: %v\n\n%s", err, usage)
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "chirper: %v\n", err)
		os.Exit(1)
	}
}

// run runs one command line.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("chirper", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	server := fs.String("server", "", "")
	asJSON := fs.Bool("json", false, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return nil
		}
		return usagef("%v", err)
	}
	if fs.NArg() == 0 {
		return usagef("a command is needed")
	}
	base := *server
	if base == "" {
		base = os.Getenv("CHIRPER_URL")
	}
	if base == "" {
		base = "http://localhost:8080"
	}
	cli, err := newCLI(base, stdin, stdout, *asJSON)
	if err != nil {
		return err
	}
	cmd, rest := fs.Arg(0), fs.Args()[1:]
	switch cmd {
	case "register":
		return cli.register(ctx, rest)
	case "login":
		return cli.login(ctx, rest)
	case "logout":
		return cli.logout(ctx, rest)
	case "whoami":
		return cli.whoami(ctx, rest)
	case "post":
		return cli.post(ctx, rest)
	case "ls":
		return cli.list(ctx, rest)
	case "get":
		return cli.get(ctx, rest)
	case "rm":
		return cli.remove(ctx, rest)
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return usagef("unknown command %q", cmd)
}

// oneArg checks that args is exactly one value, named what.
func oneArg(args []string, what string) (string, error) {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		return "", usagef("%s is needed, and nothing else", what)
	}
	return args[0], nil
}
