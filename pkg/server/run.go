package server

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/chirper/chirper/pkg/auth"
	"github.com/chirper/chirper/pkg/chirper"
	"github.com/chirper/chirper/pkg/config"
	"github.com/chirper/chirper/pkg/httpapi"
)

// Binary describes one Chirper executable.
type Binary struct {
	Name       string       // the command name, for -h
	Groups     []string     // the endpoint groups it serves (httpapi.Group*)
	Standalone bool         // migrates at start, makes its own signing key
	OpenSQLite SQLiteOpener // lets it run on SQLite (the standalone's)
}

// Run is the whole life of a serving binary: flags, configuration, stores,
// keys, the API of its groups, and the server until ctx ends.
func Run(ctx context.Context, b Binary, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(b.Name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	healthcheck := fs.Bool("healthcheck", false, "probe this binary's /healthz on CHIRPER_HTTP_ADDR and exit 0 if it answers 200 (for container health checks)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s [flags]\n\nServes the endpoint groups %v.\n\nFlags:\n", b.Name, b.Groups)
		fs.PrintDefaults()
		fmt.Fprintln(stderr)
		config.Usage(stderr)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *healthcheck {
		cfg, err := config.LoadEnv()
		if err != nil {
			return err
		}
		return probeHealth(ctx, cfg)
	}
	cfg, err := config.Load(ctx)
	if err != nil {
		return err
	}
	logs := newBufferedLog(stdout)
	defer logs.Close()
	log := NewLogger(logs, cfg.LogLevel)
	srv, err := Build(ctx, b, cfg, log)
	if err != nil {
		return err
	}
	if err := srv.Open(); err != nil {
		srv.app.Close()
		return err
	}
	return srv.Serve(ctx)
}

// Main is the whole main function of a binary: it runs b until SIGTERM or
// SIGINT and exits 1 with the error, if any.
func Main(b Binary) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := Run(ctx, b, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", b.Name, err)
		os.Exit(1)
	}
}

// probeHealth asks the local public listener for /healthz, so that a
// container health check needs no shell or curl.
func probeHealth(ctx context.Context, cfg *config.Config) error {
	_, port, err := net.SplitHostPort(cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("healthcheck: CHIRPER_HTTP_ADDR: %w", err)
	}
	scheme := "http"
	client := &http.Client{Timeout: 3 * time.Second}
	if cfg.TLSCertFile != "" {
		scheme = "https"
		// The probe checks this process on loopback, not its certificate.
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://127.0.0.1:"+port+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: /healthz answered %d", resp.StatusCode)
	}
	return nil
}

// NewLogger returns the JSON logger every binary writes with.
func NewLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// Build opens the stores and assembles the server of the binary's groups
// without listening yet.
func Build(ctx context.Context, b Binary, cfg *config.Config, log *slog.Logger) (*Server, error) {
	st, err := OpenStores(ctx, cfg, b, log)
	if err != nil {
		return nil, err
	}
	if slices.Contains(b.Groups, httpapi.GroupCreateChirp) && cfg.WriteBatch > 1 {
		st.BatchChirpWrites(cfg.WriteWriters, cfg.WriteBatch, cfg.WriteBatchTimeout)
	}
	if slices.Contains(b.Groups, httpapi.GroupGetChirp) && cfg.ReadBatch > 1 {
		st.BatchChirpReads(cfg.ReadReaders, cfg.ReadBatch, cfg.DBTimeout)
	}
	bg := startJobs()
	api, err := buildAPI(b, cfg, log, st, bg)
	if err != nil {
		bg.stop()
		st.Close()
		return nil, err
	}
	closeApp := func() error {
		api.endStreams()
		bg.stop()
		return st.Close()
	}
	return New(cfg, log, api.reg, App{Handler: api.handler, Ready: st.Ping, Shutdown: api.endStreams, Close: closeApp}), nil
}

// jobs are a process's background loops (limiter sweeps, the refresh-token
// purge): they run until the app closes, and end before its stores do.
type jobs struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func startJobs() *jobs {
	ctx, cancel := context.WithCancel(context.Background())
	return &jobs{ctx: ctx, cancel: cancel}
}

// run runs fn in its own goroutine until the jobs stop.
func (j *jobs) run(fn func(context.Context)) {
	j.wg.Add(1)
	go func() {
		defer j.wg.Done()
		fn(j.ctx)
	}()
}

// stop ends every job and waits for them.
func (j *jobs) stop() {
	j.cancel()
	j.wg.Wait()
}

// every runs fn every interval until the jobs stop.
func (j *jobs) every(interval time.Duration, fn func(context.Context)) {
	j.run(func(ctx context.Context) {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				fn(ctx)
			}
		}
	})
}

// limiter returns a Limiter whose ended windows the jobs sweep once a
// window, with a gauge of the keys it counts.
func (j *jobs) limiter(cfg *config.Config, reg prometheus.Registerer, name string, requests int) *httpapi.Limiter {
	l := httpapi.NewLimiter(httpapi.RateLimit{Requests: requests, Window: cfg.RateLimitWindow}, cfg.RateLimitMaxKeys)
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace:   "chirper",
		Name:        "rate_limit_keys",
		Help:        "Clients a rate limit counts now (at most CHIRPER_RATE_LIMIT_MAX_KEYS).",
		ConstLabels: prometheus.Labels{"limit": name},
	}, func() float64 { return float64(l.Keys()) }))
	if requests > 0 {
		j.every(l.Window(), func(context.Context) { l.Sweep() })
	}
	return l
}

// purgeBatch is how many rows one purge statement deletes at most, so that
// no purge holds locks for long.
const purgeBatch = 1000

// purge runs one purge batch after batch, until one deletes nothing, and
// logs how many rows went.
func purge(ctx context.Context, log *slog.Logger, what string, batch func(context.Context) (int64, error)) {
	var total int64
	for {
		n, err := batch(ctx)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("purging "+what, "err", err)
			}
			break
		}
		if total += n; n == 0 {
			break
		}
	}
	if total > 0 {
		log.Info("purged "+what, "rows", total)
	}
}

// api is a binary's API and what it needs from the process.
type api struct {
	handler http.Handler
	reg     *prometheus.Registry
	hubs    []*chirper.Hub
}

// endStreams ends the live streams, which would otherwise outlast any
// grace period: each asks its client to reconnect (to another instance).
func (a *api) endStreams() {
	for _, h := range a.hubs {
		h.Close()
	}
}

func buildAPI(b Binary, cfg *config.Config, log *slog.Logger, st *Stores, bg *jobs) (*api, error) {
	signingKey, publicKeys, err := loadKeys(b, cfg)
	if err != nil {
		return nil, err
	}
	keys, err := auth.NewVerifier(publicKeys, cfg.Issuer, cfg.Audience)
	if err != nil {
		return nil, err
	}
	budget := cacheBudget(cfg.CacheMB)
	verifier := chirper.NewCachedVerifier(keys, budget.tokens(), func() int64 { return time.Now().UnixNano() })
	proxies, err := cfg.TrustedProxyPrefixes()
	if err != nil {
		return nil, err
	}
	caches := st.listenForChanges(cfg, log, bg)
	chirpCache := httpapi.NewChirpCache(caches, budget.chirps())
	pageCache := httpapi.NewPageCache(caches, budget.pages())
	st.caches = append(st.caches, namedCache{"tokens", verifier.Cache().Stats}, namedCache{"chirps", chirpCache.Stats},
		namedCache{"pages", pageCache.Stats})
	// How many users a reader follows plans their timeline's read on
	// PostgreSQL; SQLite has one plan, and a count would cost it a query.
	var followCounts *chirper.FollowCounts
	if st.primaryDSN != nil {
		followCounts = chirper.NewFollowCounts(st.Follows, caches, budget.followCounts())
		st.caches = append(st.caches, namedCache{"follow_counts", followCounts.Stats})
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	st.registerMetrics(reg)
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "chirper", Name: "changes_heard",
		Help: "1 while the process hears the database's changes, so that its caches answer and its live streams open; 0 while it does not (on PostgreSQL, until its listening connection is up).",
	}, func() float64 {
		if caches.Live() {
			return 1
		}
		return 0
	}))

	if slices.Contains(b.Groups, httpapi.GroupUsers) || slices.Contains(b.Groups, httpapi.GroupCreateChirp) {
		bg.every(cfg.TokenPurgeEvery, func(ctx context.Context) {
			purge(ctx, log, "idempotency keys", func(ctx context.Context) (int64, error) {
				return st.Keys.PurgeIdempotencyKeys(ctx, time.Now().Add(-chirper.IdempotencyTTL), purgeBatch)
			})
		})
	}
	a := &api{reg: reg}
	var groups []httpapi.Group
	for _, name := range b.Groups {
		switch name {
		case httpapi.GroupUsers:
			passwords, err := auth.NewPasswords(cfg.BcryptCost)
			if err != nil {
				return nil, err
			}
			signer := auth.NewSigner(signingKey, cfg.Issuer, cfg.Audience, cfg.AccessTokenTTL)
			sessions := auth.NewSessions(st.Tokens, cfg.RefreshTokenTTL)
			limits := httpapi.AuthLimits{
				LoginPerUsername:   bg.limiter(cfg, reg, "login_per_username", cfg.LoginLimitPerUser),
				LoginPerAddress:    bg.limiter(cfg, reg, "login_per_address", cfg.LoginLimitPerAddress),
				RegisterPerAddress: bg.limiter(cfg, reg, "register_per_address", cfg.RegisterLimitPerAddress),
			}
			groups = append(groups, httpapi.UsersGroup(log, st.Users, st.Follows, passwords, signer, sessions, limits, st.Keys))
			bg.every(cfg.TokenPurgeEvery, func(ctx context.Context) {
				purge(ctx, log, "refresh tokens", func(ctx context.Context) (int64, error) {
					return st.Tokens.PurgeRefreshTokens(ctx, time.Now().Add(-cfg.RevokedTokenTTL), purgeBatch)
				})
			})
		case httpapi.GroupListChirps:
			groups = append(groups, httpapi.ListChirpsGroup(log, st.ReadChirps, st.Users, pageCache, followCounts))
		case httpapi.GroupGetChirp:
			groups = append(groups, httpapi.GetChirpGroup(log, st.ReadChirps, chirpCache))
		case httpapi.GroupCreateChirp:
			groups = append(groups, httpapi.CreateChirpGroup(log, st.Chirps, st.Users, st.Keys, caches))
		case httpapi.GroupStream:
			// New chirps are read from the primary, which announced them:
			// a replica may not have them yet.
			hub := chirper.NewHub(st.Chirps, st.Follows, caches, chirper.HubOptions{
				MaxStreams: cfg.StreamMaxConnections, Buffer: cfg.StreamBuffer, Timeout: dbTimeout(cfg),
			}, log)
			a.hubs = append(a.hubs, hub)
			registerHubMetrics(reg, hub)
			if cfg.StreamMetricInterval > 0 {
				bg.every(cfg.StreamMetricInterval, func(context.Context) { logStreamMetric(log, b.Name, hub) })
			}
			groups = append(groups, httpapi.StreamGroup(log, hub, st.Chirps, st.Users, httpapi.StreamOptions{
				Heartbeat: cfg.StreamHeartbeat, Replay: cfg.StreamReplay, Retry: 2 * time.Second,
				WriteTimeout: cfg.WriteTimeout, DBTimeout: dbTimeout(cfg),
			}))
		default:
			a.endStreams()
			return nil, fmt.Errorf("server: unknown endpoint group %q", name)
		}
	}
	h, err := httpapi.NewHandler(httpapi.Options{
		Logger:    log,
		Metrics:   httpapi.NewMetrics(reg),
		Verifier:  verifier,
		RateLimit: bg.limiter(cfg, reg, "general", cfg.RateLimit),
		ClientIP:  httpapi.NewClientIP(proxies),
		AccessLog: httpapi.AccessLog{Every: cfg.AccessLog, Slow: cfg.SlowRequest},
		DBTimeout: cfg.DBTimeout,
	}, groups...)
	if err != nil {
		a.endStreams()
		return nil, err
	}
	a.handler = h
	return a, nil
}

// dbTimeout bounds the database reads that no request deadline covers.
func dbTimeout(cfg *config.Config) time.Duration {
	if cfg.DBTimeout > 0 {
		return cfg.DBTimeout
	}
	return 5 * time.Second
}

// logStreamMetric logs the open streams as a CloudWatch embedded metric
// (namespace Chirper, metric OpenStreams, dimension Service), which the
// stream service's auto scaling tracks: a live stream is one request
// however long it lasts, so no request count says how loaded its process
// is, and an idle stream costs no CPU.
func logStreamMetric(log *slog.Logger, service string, hub *chirper.Hub) {
	type metric struct{ Name, Unit string }
	type directive struct {
		Namespace  string
		Dimensions [][]string
		Metrics    []metric
	}
	log.Info("open streams",
		slog.Group("_aws",
			slog.Int64("Timestamp", time.Now().UnixMilli()),
			slog.Any("CloudWatchMetrics", []directive{{"Chirper", [][]string{{"Service"}}, []metric{{"OpenStreams", "Count"}}}}),
		),
		slog.String("Service", service),
		slog.Int("OpenStreams", hub.Stats().Streams))
}

func registerHubMetrics(reg prometheus.Registerer, hub *chirper.Hub) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "chirper", Name: "streams", Help: "Live streams open now (at most CHIRPER_STREAM_MAX_CONNECTIONS).",
	}, func() float64 { return float64(hub.Stats().Streams) }))
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: "chirper", Name: "streams_slow_total", Help: "Live streams closed because their reader fell CHIRPER_STREAM_BUFFER events behind.",
	}, func() float64 { return float64(hub.Stats().Slow) }))
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: "chirper", Name: "stream_changes_total", Help: "Changes the live streams' hub has handled (new chirps, deletions, follows), whether or not a stream wanted them.",
	}, func() float64 { return float64(hub.Stats().Changes) }))
}

// loadKeys loads the signing key (only a binary serving the users group
// holds one) and the public keys that verify access tokens.
func loadKeys(b Binary, cfg *config.Config) (ed25519.PrivateKey, []ed25519.PublicKey, error) {
	var signingKey ed25519.PrivateKey
	if slices.Contains(b.Groups, httpapi.GroupUsers) {
		var err error
		switch {
		case cfg.SigningKey != "":
			signingKey, err = auth.ParsePrivateKeyPEM([]byte(cfg.SigningKey))
		case cfg.SigningKeyFile != "":
			var data []byte
			if data, err = os.ReadFile(cfg.SigningKeyFile); err == nil {
				signingKey, err = auth.ParsePrivateKeyPEM(data)
			}
		case b.Standalone:
			signingKey, err = auth.LoadOrCreatePrivateKey(filepath.Join(cfg.DataDir, "signing-key.pem"))
		default:
			err = errors.New("the users group needs CHIRPER_SIGNING_KEY or CHIRPER_SIGNING_KEY_FILE")
		}
		if err != nil {
			return nil, nil, fmt.Errorf("signing key: %w", err)
		}
	}
	publicPEM := []byte(cfg.PublicKeys)
	if len(publicPEM) == 0 && cfg.PublicKeysFile != "" {
		var err error
		if publicPEM, err = os.ReadFile(cfg.PublicKeysFile); err != nil {
			return nil, nil, fmt.Errorf("CHIRPER_PUBLIC_KEYS_FILE: %w", err)
		}
	}
	switch {
	case len(publicPEM) > 0:
		pubs, err := auth.ParsePublicKeysPEM(publicPEM)
		if err != nil {
			return nil, nil, fmt.Errorf("public keys: %w", err)
		}
		return signingKey, pubs, nil
	case signingKey != nil:
		return signingKey, []ed25519.PublicKey{signingKey.Public().(ed25519.PublicKey)}, nil
	}
	return nil, nil, errors.New("CHIRPER_PUBLIC_KEYS is needed to verify access tokens")
}
