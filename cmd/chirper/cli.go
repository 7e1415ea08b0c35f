package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/chirper/chirper/pkg/chirper"
	"github.com/chirper/chirper/pkg/client"
)

// cli runs the commands against one server.
type cli struct {
	base    string
	api     *client.Client
	stdin   io.Reader
	out     io.Writer
	json    bool
	session string // the session file
}

// session is what a login leaves in the session file.
type session struct {
	Server       string    `json:"server"`
	Username     string    `json:"username"`
	RefreshToken string    `json:"refresh_token"`
	AccessToken  string    `json:"access_token"`
	Expires      time.Time `json:"access_token_expires"`
}

func newCLI(base string, stdin io.Reader, stdout io.Writer, asJSON bool) (*cli, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return nil, fmt.Errorf("no configuration folder for the session: %w", err)
	}
	return &cli{
		base: base, api: client.New(base, &http.Client{Timeout: 30 * time.Second}),
		stdin: stdin, out: stdout, json: asJSON,
		session: filepath.Join(dir, "chirper", "session.json"),
	}, nil
}

// parse parses a command's flags, which may come before, between or after
// its arguments, and returns the arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// password reads a password: from the terminal without echo, or the first
// line of standard input.
func (c *cli) password() (string, error) {
	if f, ok := c.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(os.Stderr, "Password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(os.Stderr)
		return string(b), err
	}
	line, err := bufio.NewReader(c.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input")
	}
	return line, nil
}

func (c *cli) register(ctx context.Context, args []string) error {
	name, err := oneArg(args, "a username")
	if err != nil {
		return err
	}
	pw, err := c.password()
	if err != nil {
		return err
	}
	u, err := c.api.Register(ctx, client.Registration{Username: name, Password: pw})
	if err != nil {
		return err
	}
	return c.print(u, "registered %s: now `chirper login %s`\n", u.Username, u.Username)
}

func (c *cli) login(ctx context.Context, args []string) error {
	name, err := oneArg(args, "a username")
	if err != nil {
		return err
	}
	pw, err := c.password()
	if err != nil {
		return err
	}
	tok, err := c.api.Login(ctx, name, pw)
	if err != nil {
		return err
	}
	s := &session{Server: c.base, Username: name}
	s.keep(tok)
	if err := c.save(s); err != nil {
		return err
	}
	return c.print(map[string]string{"username": name, "server": c.base}, "logged in to %s as %s\n", c.base, name)
}

func (c *cli) logout(ctx context.Context, args []string) error {
	if len(args) > 0 {
		return usagef("logout takes no arguments")
	}
	s, err := c.load()
	if err != nil {
		return err
	}
	err = c.api.Logout(ctx, s.RefreshToken)
	var p *client.Problem
	if err != nil && !(errors.As(err, &p) && p.Status == http.StatusUnauthorized) {
		return err // the session lives on: keep the token to try again
	}
	if err := os.Remove(c.session); err != nil {
		return err
	}
	return c.print(map[string]string{"username": s.Username}, "logged out\n")
}

func (c *cli) whoami(ctx context.Context, args []string) error {
	if len(args) > 0 {
		return usagef("whoami takes no arguments")
	}
	var u *client.User
	err := c.authed(ctx, func(api *client.Client, s *session) error {
		var err error
		u, err = api.GetUser(ctx, s.Username)
		return err
	})
	if err != nil {
		return err
	}
	return c.print(u, "%s (%s) on %s: %s, %d chirps, %d followers, following %d\n",
		u.Username, u.DisplayName, c.base, u.Role, u.ChirpsCount, u.FollowersCount, u.FollowingCount)
}

func (c *cli) post(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("post", flag.ContinueOnError)
	var tags listFlag
	fs.Var(&tags, "tag", "")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	msg, err := oneArg(pos, "the message (quoted)")
	if err != nil {
		return err
	}
	var ch *client.Chirp
	err = c.authed(ctx, func(api *client.Client, _ *session) error {
		ch, err = api.CreateChirp(ctx, client.NewChirp{Message: msg, Tags: tags})
		return err
	})
	if err != nil {
		return err
	}
	return c.print(ch, "posted %s\n", ch.ID)
}

func (c *cli) list(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("ls", flag.ContinueOnError)
	var (
		f    client.Filter
		tags listFlag
	)
	fs.Var(&tags, "tag", "")
	match := fs.String("match", "any", "")
	fs.StringVar(&f.Author, "author", "", "")
	since := fs.String("since", "", "")
	until := fs.String("until", "", "")
	fs.StringVar(&f.Search, "q", "", "")
	fs.IntVar(&f.Limit, "limit", 0, "")
	all := fs.Bool("all", false, "")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("ls takes flags only, not %q", pos[0])
	}
	f.Tags, f.MatchAll = tags, *match == "all"
	for _, t := range []struct {
		name, value string
		dst         *time.Time
	}{{"since", *since, &f.Since}, {"until", *until, &f.Until}} {
		if t.value == "" {
			continue
		}
		if *t.dst, err = time.Parse(time.RFC3339, t.value); err != nil {
			return usagef("--%s must be an RFC 3339 time, such as 2026-01-02T15:04:05Z", t.name)
		}
	}
	collected := []client.Chirp{}
	for {
		page, err := c.api.ListChirps(ctx, f)
		if err != nil {
			return err
		}
		if c.json {
			collected = append(collected, page.Chirps...)
		} else {
			for _, ch := range page.Chirps {
				c.line(&ch)
			}
		}
		if page.NextCursor == "" {
			break
		}
		if !*all {
			if !c.json {
				fmt.Fprintln(c.out, "(more: add --all)")
			}
			break
		}
		f.Cursor = page.NextCursor
	}
	if c.json {
		return c.print(collected, "")
	}
	return nil
}

func (c *cli) get(ctx context.Context, args []string) error {
	id, err := oneArg(args, "a chirp id")
	if err != nil {
		return err
	}
	ch, err := c.api.GetChirp(ctx, id)
	if err != nil {
		return err
	}
	if c.json {
		return c.print(ch, "")
	}
	c.line(ch)
	return nil
}

func (c *cli) remove(ctx context.Context, args []string) error {
	id, err := oneArg(args, "a chirp id")
	if err != nil {
		return err
	}
	if err := c.authed(ctx, func(api *client.Client, _ *session) error { return api.DeleteChirp(ctx, id) }); err != nil {
		return err
	}
	return c.print(map[string]string{"deleted": id}, "deleted %s\n", id)
}

// line prints a chirp on one line, with the tags that its message does not
// show as #hashtags.
func (c *cli) line(ch *client.Chirp) {
	tags := ""
	shown := chirper.Hashtags(ch.Message)
	for _, t := range ch.Tags {
		if !slices.Contains(shown, t) {
			tags += "  #" + t
		}
	}
	fmt.Fprintf(c.out, "%s  @%s  %s  %s%s\n", ch.ID, ch.Author, ch.CreatedAt.Local().Format("2006-01-02 15:04"), ch.Message, tags)
}

// print writes v as JSON with --json, else the human line.
func (c *cli) print(v any, format string, args ...any) error {
	if c.json {
		enc := json.NewEncoder(c.out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	_, err := fmt.Fprintf(c.out, format, args...)
	return err
}

// authed calls fn with a client holding a live access token: the session's,
// or a fresh one (the refresh token rotates, and the file keeps the new
// one). A token refused as expired or revoked is refreshed once.
func (c *cli) authed(ctx context.Context, fn func(*client.Client, *session) error) error {
	s, err := c.load()
	if err != nil {
		return err
	}
	fresh := false
	if time.Until(s.Expires) < 30*time.Second {
		if err := c.refresh(ctx, s); err != nil {
			return err
		}
		fresh = true
	}
	err = fn(c.api.WithToken(s.AccessToken), s)
	var p *client.Problem
	if fresh || !errors.As(err, &p) || p.Status != http.StatusUnauthorized {
		return err
	}
	if err := c.refresh(ctx, s); err != nil {
		return err
	}
	return fn(c.api.WithToken(s.AccessToken), s)
}

// refresh trades the session's refresh token for new tokens and keeps them.
func (c *cli) refresh(ctx context.Context, s *session) error {
	tok, err := c.api.Refresh(ctx, s.RefreshToken)
	var p *client.Problem
	if errors.As(err, &p) && p.Status == http.StatusUnauthorized {
		os.Remove(c.session)
		return errors.New("the session has ended: chirper login USERNAME")
	}
	if err != nil {
		return err
	}
	s.keep(tok)
	return c.save(s)
}

func (s *session) keep(tok *client.Tokens) {
	s.AccessToken, s.RefreshToken = tok.AccessToken, tok.RefreshToken
	s.Expires = time.Now().Add(time.Duration(tok.ExpiresIn) * time.Second)
}

// load reads the session of this server.
func (c *cli) load() (*session, error) {
	b, err := os.ReadFile(c.session)
	if errors.Is(err, os.ErrNotExist) {
		return nil, errors.New("not logged in: chirper login USERNAME")
	}
	if err != nil {
		return nil, err
	}
	var s session
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", c.session, err)
	}
	if s.Server != c.base {
		return nil, fmt.Errorf("logged in to %s, not %s: chirper --server %s login USERNAME", s.Server, c.base, c.base)
	}
	return &s, nil
}

// save writes the session where only its user may read it.
func (c *cli) save(s *session) error {
	if err := os.MkdirAll(filepath.Dir(c.session), 0o700); err != nil {
		return err
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	tmp := c.session + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, c.session)
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }
