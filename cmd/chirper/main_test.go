package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chirper/chirper/pkg/client"
	"github.com/chirper/chirper/pkg/server"
)

// build builds a command of this repository into dir as name.
func build(t *testing.T, dir, pkg, name string) string {
	t.Helper()
	bin := filepath.Join(dir, name)
	if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// startStandalone runs the standalone binary on SQLite on a free port, with
// access tokens that live 20 s (so that every command refreshes its token),
// and returns its URL.
func startStandalone(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(build(t, dir, "../standalone", "standalone"), "serve")
	cmd.Env = append(os.Environ(),
		"CHIRPER_HTTP_ADDR=127.0.0.1:0", "CHIRPER_ADMIN_ADDR=", "CHIRPER_DATA_DIR="+dir,
		"CHIRPER_DATABASE_URL=", "CHIRPER_SIGNING_KEY=", "CHIRPER_BCRYPT_COST=4",
		"CHIRPER_REGISTER_LIMIT_PER_ADDRESS=0", "CHIRPER_ACCESS_TOKEN_TTL=20s")
	logs, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	addrs := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(logs)
		for sc.Scan() {
			if addr, _, ok := server.ServingAddrs(sc.Bytes()); ok {
				addrs <- addr
			}
		}
	}()
	select {
	case addr := <-addrs:
		return "http://" + addr
	case <-time.After(30 * time.Second):
		t.Fatal("the standalone did not listen within 30s")
		return ""
	}
}

// runCLI runs one command line in this process and returns its output.
func runCLI(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(stdin), &out, io.Discard)
	return out.String(), err
}

// must runs a command line that must succeed.
func must(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, err := runCLI(t, stdin, args...)
	if err != nil {
		t.Fatalf("chirper %v: %v\n%s", args, err, out)
	}
	return out
}

func TestCLI(t *testing.T) {
	base := startStandalone(t)
	config := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", config)
	t.Setenv("CHIRPER_URL", base)
	sessionFile := filepath.Join(config, "chirper", "session.json")
	readSession := func() session {
		t.Helper()
		b, err := os.ReadFile(sessionFile)
		if err != nil {
			t.Fatal(err)
		}
		var s session
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatal(err)
		}
		return s
	}

	if out := must(t, "correct horse battery\n", "register", "alice"); !strings.Contains(out, "registered alice") {
		t.Fatalf("register: %q", out)
	}
	if _, err := runCLI(t, "", "whoami"); err == nil || !strings.Contains(err.Error(), "not logged in") {
		t.Fatalf("whoami before login: %v", err)
	}
	if _, err := runCLI(t, "wrong password\n", "login", "alice"); err == nil {
		t.Fatal("a wrong password logged in")
	}
	must(t, "correct horse battery\n", "login", "alice")
	st, err := os.Stat(sessionFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the session file: %v, %v; want mode 0600", st, err)
	}
	first := readSession()

	// Every command refreshes the 20 s token (less than 30 s left), and the
	// rotated refresh token is kept.
	if out := must(t, "", "whoami"); !strings.Contains(out, "alice") || !strings.Contains(out, "user") {
		t.Fatalf("whoami: %q", out)
	}
	if readSession().RefreshToken == first.RefreshToken {
		t.Fatal("the refresh token did not rotate into the session file")
	}

	out := must(t, "", "post", "Hello #go", "--tag", "db")
	id := strings.TrimSpace(strings.TrimPrefix(out, "posted "))
	var posted client.Chirp
	if err := json.Unmarshal([]byte(must(t, "", "--json", "post", "--tag", "db", "Second")), &posted); err != nil {
		t.Fatal(err)
	}
	if posted.Message != "Second" || len(posted.Tags) != 1 || posted.Tags[0] != "db" {
		t.Fatalf("post --json: %+v", posted)
	}
	if out := must(t, "", "get", id); !strings.Contains(out, "Hello #go  #db\n") || !strings.Contains(out, "@alice") {
		t.Fatalf("get: %q", out)
	}
	if out := must(t, "", "ls", "--tag", "go"); strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, id+" ") {
		t.Fatalf("ls --tag go: %q", out)
	}
	if out := must(t, "", "ls", "--limit", "1"); !strings.Contains(out, "Second") || !strings.Contains(out, "(more: add --all)") {
		t.Fatalf("ls --limit 1: %q", out)
	}
	var all []client.Chirp
	if err := json.Unmarshal([]byte(must(t, "", "--json", "ls", "--limit", "1", "--all", "--tag", "db")), &all); err != nil || len(all) != 2 {
		t.Fatalf("ls --all --json: %v, %v", all, err)
	}

	must(t, "", "rm", id)
	if _, err := runCLI(t, "", "get", id); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("get after rm: %v", err)
	}
	if _, err := runCLI(t, "", "rm", id); err == nil {
		t.Fatal("a second rm succeeded")
	}

	// An access token the server refuses is refreshed once, transparently.
	s := readSession()
	s.AccessToken, s.Expires = "not-a-token", time.Now().Add(time.Hour)
	b, _ := json.Marshal(s)
	if err := os.WriteFile(sessionFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	must(t, "", "post", "after a refused token")

	// Usage mistakes are exit code 2, everything else 1.
	for _, args := range [][]string{{}, {"dance"}, {"post"}, {"ls", "extra"}, {"ls", "--since", "yesterday"}, {"get"}, {"--bogus", "ls"}} {
		var ue *usageError
		if _, err := runCLI(t, "", args...); !errors.As(err, &ue) {
			t.Errorf("chirper %v: %v, want a usage error", args, err)
		}
	}
	if _, err := runCLI(t, "", "--server", "http://127.0.0.1:1", "ls"); err == nil {
		t.Error("an unreachable server answered")
	}

	must(t, "", "logout")
	if _, err := os.Stat(sessionFile); !os.IsNotExist(err) {
		t.Fatalf("the session file after logout: %v", err)
	}
	if _, err := runCLI(t, "", "post", "logged out"); err == nil || !strings.Contains(err.Error(), "not logged in") {
		t.Fatalf("post after logout: %v", err)
	}
}

// TestExitCodes runs the built binary: 2 for a usage mistake, 1 for an
// error, 0 for help.
func TestExitCodes(t *testing.T) {
	bin := build(t, t.TempDir(), ".", "chirper")
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"help"}, 0},
		{[]string{"frobnicate"}, 2},
		{[]string{"--server", "http://127.0.0.1:1", "get", "1"}, 1},
	} {
		cmd := exec.Command(bin, c.args...)
		cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir())
		err := cmd.Run()
		code := 0
		var exit *exec.ExitError
		switch {
		case errors.As(err, &exit):
			code = exit.ExitCode()
		case err != nil:
			t.Fatal(err)
		}
		if code != c.code {
			t.Errorf("chirper %v: exit %d (%v), want %d", c.args, code, err, c.code)
		}
	}
}
