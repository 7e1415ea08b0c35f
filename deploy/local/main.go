// Command local runs Chirper as its four services on one machine, the way
// AWS runs them: two instances of each read service, one of each write
// service, all on PostgreSQL, behind a path-and-method gateway built from
// the routing table, on one port (CHIRPER_HTTP_ADDR, default :8080).
// Ctrl-C stops them all.
//
//	go run ./deploy/local [-bin DIR]     (make run-services)
//	go run ./deploy/local -gateway-only  (the gateway alone, for compose)
package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chirper/chirper/pkg/auth"
	"github.com/chirper/chirper/pkg/config"
	"github.com/chirper/chirper/pkg/gateway"
	"github.com/chirper/chirper/pkg/httpapi"
	"github.com/chirper/chirper/pkg/postgres"
	"github.com/chirper/chirper/pkg/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "local:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("local", flag.ContinueOnError)
	fs.SetOutput(stderr)
	binDir := fs.String("bin", "bin", "folder holding the service binaries (make build)")
	gatewayOnly := fs.Bool("gateway-only", false, "run only the gateway, to the CHIRPER_UPSTREAMS")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	cfg, err := config.Load(ctx)
	if err != nil {
		return err
	}
	local, err := config.LoadLocal()
	if err != nil {
		return err
	}
	log := server.NewLogger(stdout, cfg.LogLevel)

	var (
		upstreams gateway.Upstreams
		ready     = func(context.Context) error { return nil }
		stopAll   = func() error { return nil }
	)
	if *gatewayOnly {
		if upstreams, err = parseUpstreams(local.Upstreams); err != nil {
			return err
		}
	} else {
		c, err := startCluster(ctx, cfg, local, *binDir, stdout)
		if err != nil {
			return err
		}
		upstreams, ready, stopAll = c.upstreams, c.ready, c.stop
	}
	gw, err := gateway.New(upstreams, log, cfg.WriteTimeout)
	if err != nil {
		stopAll()
		return err
	}
	srv := server.New(cfg, log, prometheus.NewRegistry(), server.App{Handler: gw, Ready: ready, Close: stopAll})
	if err := srv.Open(); err != nil {
		stopAll()
		return err
	}
	return srv.Serve(ctx)
}

// parseUpstreams reads CHIRPER_UPSTREAMS (group:URL pairs).
func parseUpstreams(m map[string]string) (gateway.Upstreams, error) {
	up := gateway.Upstreams{}
	for group, urls := range m {
		for _, raw := range strings.Fields(urls) {
			u, err := url.Parse(raw)
			if err != nil || u.Host == "" {
				return nil, fmt.Errorf("CHIRPER_UPSTREAMS: %q is not a URL", raw)
			}
			up[group] = append(up[group], u)
		}
	}
	return up, nil
}

// instance is one running service process.
type instance struct {
	name    string
	group   string
	url     *url.URL    // known once it listens
	serving chan string // its address, from its "serving" log line
	cmd     *exec.Cmd
	exited  chan error
}

// cluster is the four services on one database.
type cluster struct {
	upstreams gateway.Upstreams
	instances []*instance
	key       ed25519.PrivateKey
	grace     time.Duration
}

// startCluster migrates the database, makes a signing key, and starts every
// service instance, waiting until each is ready.
func startCluster(ctx context.Context, cfg *config.Config, local *config.Local, binDir string, logs io.Writer) (*cluster, error) {
	kind, dsn, err := cfg.Database()
	if err != nil || kind != config.Postgres {
		return nil, errors.New("the services need PostgreSQL: set CHIRPER_DATABASE_URL=postgres://... (make run-services starts one)")
	}
	db, err := postgres.Open(ctx, dsn, postgres.Options{MaxOpenConns: 2})
	if err != nil {
		return nil, err
	}
	err = db.Migrate(ctx) // the one-off migration task that precedes a deploy
	db.Close()
	if err != nil {
		return nil, err
	}

	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	privPEM, err := auth.MarshalPrivateKeyPEM(key)
	if err != nil {
		return nil, err
	}
	pubPEM, err := auth.MarshalPublicKeyPEM(key.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, err
	}

	c := &cluster{upstreams: gateway.Upstreams{}, key: key, grace: cfg.ShutdownGrace}
	logs = &lockedWriter{w: logs}
	counts := map[string]int{
		httpapi.GroupUsers: 1, httpapi.GroupCreateChirp: 1,
		httpapi.GroupListChirps: local.ReadInstances, httpapi.GroupGetChirp: local.ReadInstances,
		httpapi.GroupStream: local.ReadInstances,
	}
	for _, group := range []string{httpapi.GroupUsers, httpapi.GroupCreateChirp, httpapi.GroupListChirps, httpapi.GroupGetChirp, httpapi.GroupStream} {
		for i := range counts[group] {
			env := []string{
				"CHIRPER_LOG_LEVEL=" + childLogLevel(cfg.LogLevel),
				"CHIRPER_DATABASE_URL=" + dsn,
				"CHIRPER_PUBLIC_KEYS=" + string(pubPEM),
				"CHIRPER_ADMIN_ADDR=",
				"CHIRPER_TRUSTED_PROXIES=127.0.0.1/32,::1/128",
			}
			if group == httpapi.GroupUsers {
				env = append(env, "CHIRPER_SIGNING_KEY="+string(privPEM))
			}
			if err := c.start(filepath.Join(binDir, group), group, fmt.Sprintf("%s#%d", group, i+1), env, logs); err != nil {
				c.stop()
				return nil, err
			}
		}
	}
	for _, inst := range c.instances {
		if err := waitReady(ctx, inst); err != nil {
			c.stop()
			return nil, err
		}
		c.upstreams[inst.group] = append(c.upstreams[inst.group], inst.url)
	}
	return c, nil
}

// childLogLevel keeps the instances' "serving" lines, which say where they
// listen: at least info.
func childLogLevel(level string) string {
	if level == "debug" {
		return level
	}
	return "info"
}

// start runs one instance on a loopback port the system picks (its log
// says which), its log lines prefixed with its name.
func (c *cluster) start(bin, group, name string, env []string, logs io.Writer) error {
	cmd := exec.Command(bin)
	cmd.Env = append(append(os.Environ(), env...), "CHIRPER_HTTP_ADDR=127.0.0.1:0")
	inst := &instance{name: name, group: group, cmd: cmd, serving: make(chan string, 1), exited: make(chan error, 1)}
	out := prefixWriter(logs, name, inst.serving)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w (run make build first)", name, err)
	}
	go func() { inst.exited <- cmd.Wait() }()
	c.instances = append(c.instances, inst)
	return nil
}

// waitReady waits until the instance listens (its "serving" line gives the
// address) and answers /readyz.
func waitReady(ctx context.Context, inst *instance) error {
	deadline := time.After(30 * time.Second)
	for {
		select {
		case addr := <-inst.serving:
			inst.url = &url.URL{Scheme: "http", Host: addr}
		case err := <-inst.exited:
			inst.exited <- err
			return fmt.Errorf("%s exited before it was ready: %v", inst.name, err)
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			return fmt.Errorf("%s was not ready within 30s", inst.name)
		case <-time.After(25 * time.Millisecond):
		}
		if inst.url == nil {
			continue
		}
		resp, err := http.Get(inst.url.String() + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
}

// ready reports whether every instance is ready.
func (c *cluster) ready(ctx context.Context) error {
	for _, inst := range c.instances {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, inst.url.String()+"/readyz", nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("%s: %w", inst.name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s is not ready (%d)", inst.name, resp.StatusCode)
		}
	}
	return nil
}

// stop sends every instance SIGTERM and waits for it, killing any that
// outlives its grace period.
func (c *cluster) stop() error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, inst := range c.instances {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = inst.cmd.Process.Signal(syscall.SIGTERM)
			var err error
			select {
			case err = <-inst.exited:
			case <-time.After(c.grace + 5*time.Second):
				_ = inst.cmd.Process.Kill()
				err = fmt.Errorf("killed after %v", c.grace+5*time.Second)
			}
			if err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", inst.name, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// lockedWriter serialises the writes of several instances' log copiers.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// prefixWriter writes each line to w with "[name] " before it, and sends
// the address of the process's "serving" line on serving.
func prefixWriter(w io.Writer, name string, serving chan<- string) io.Writer {
	pr, pw := io.Pipe()
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if addr, _, ok := server.ServingAddrs(sc.Bytes()); ok {
				select {
				case serving <- addr:
				default:
				}
			}
			fmt.Fprintf(w, "[%s] %s\n", name, sc.Text())
		}
	}()
	return pw
}
