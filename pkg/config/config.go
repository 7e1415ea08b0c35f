// Package config reads Chirper's configuration from CHIRPER_* environment
// variables into typed structs (github.com/kelseyhightower/envconfig). It is
// the only package that reads the environment.
package config

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kelseyhightower/envconfig"
)

// Prefix starts every variable's name.
const Prefix = "CHIRPER"

// Config is the configuration of every Chirper binary; each uses what its
// endpoint groups need.
type Config struct {
	HTTPAddr  string `envconfig:"HTTP_ADDR" default:":8080" desc:"public listener address"`
	AdminAddr string `envconfig:"ADMIN_ADDR" default:"127.0.0.1:9090" desc:"admin listener (metrics, pprof, health); empty to turn it off"`

	DatabaseURL     string `envconfig:"DATABASE_URL" desc:"postgres://... for PostgreSQL, sqlite:PATH for SQLite; the standalone defaults to SQLite in DATA_DIR"`
	DatabaseReadURL string `envconfig:"DATABASE_READ_URL" desc:"optional read-only replica (postgres://...) for the read groups"`
	DBMaxOpenConns  int    `envconfig:"DB_MAX_OPEN_CONNS" default:"25" desc:"PostgreSQL pool size per process: a few per database core is all a database runs at once; more only queue inside it (one more connection listens for changes)"`
	DataDir         string `envconfig:"DATA_DIR" default:"./data" desc:"standalone: folder of the SQLite file and the generated signing key"`

	TLSCertFile string `envconfig:"TLS_CERT_FILE" desc:"PEM certificate: with TLS_KEY_FILE the public listener serves HTTPS (HTTP/2)"`
	TLSKeyFile  string `envconfig:"TLS_KEY_FILE" desc:"PEM private key of TLS_CERT_FILE"`

	SigningKey     string `envconfig:"SIGNING_KEY" desc:"Ed25519 private key (PKCS #8 PEM) that signs access tokens; users group only"`
	SigningKeyFile string `envconfig:"SIGNING_KEY_FILE" desc:"file holding SIGNING_KEY; the standalone creates DATA_DIR/signing-key.pem when neither is set"`
	PublicKeys     string `envconfig:"PUBLIC_KEYS" desc:"Ed25519 public keys (PEM, several during a rotation) that verify access tokens; default: the signing key's"`
	PublicKeysFile string `envconfig:"PUBLIC_KEYS_FILE" desc:"file holding PUBLIC_KEYS"`
	Issuer         string `envconfig:"TOKEN_ISSUER" default:"chirper" desc:"iss of access tokens"`
	Audience       string `envconfig:"TOKEN_AUDIENCE" default:"chirper-api" desc:"aud of access tokens"`

	AccessTokenTTL  time.Duration `envconfig:"ACCESS_TOKEN_TTL" default:"15m" desc:"lifetime of access tokens"`
	RefreshTokenTTL time.Duration `envconfig:"REFRESH_TOKEN_TTL" default:"720h" desc:"lifetime of refresh tokens (30 days)"`
	BcryptCost      int           `envconfig:"BCRYPT_COST" default:"12" desc:"bcrypt cost of password hashes (4 to 31)"`
	TokenPurgeEvery time.Duration `envconfig:"TOKEN_PURGE_INTERVAL" default:"1h" desc:"users group: how often expired refresh tokens and long-revoked sessions are deleted (one process at a time)"`
	RevokedTokenTTL time.Duration `envconfig:"REVOKED_TOKEN_RETENTION" default:"168h" desc:"how long a revoked session's tokens are kept before the purge deletes them"`

	RateLimit               int           `envconfig:"RATE_LIMIT" default:"600" desc:"requests per RATE_LIMIT_WINDOW per client (user, else address); 0 turns it off"`
	RateLimitWindow         time.Duration `envconfig:"RATE_LIMIT_WINDOW" default:"1m" desc:"window of RATE_LIMIT and the login limits"`
	LoginLimitPerUser       int           `envconfig:"LOGIN_LIMIT_PER_USERNAME" default:"10" desc:"login attempts per window per username from one client address"`
	LoginLimitPerAddress    int           `envconfig:"LOGIN_LIMIT_PER_ADDRESS" default:"30" desc:"login attempts per window per client address"`
	RegisterLimitPerAddress int           `envconfig:"REGISTER_LIMIT_PER_ADDRESS" default:"5" desc:"registrations per window per client address (each costs a bcrypt hash)"`
	RateLimitMaxKeys        int           `envconfig:"RATE_LIMIT_MAX_KEYS" default:"50000" desc:"clients each rate limit counts at most; when full, the one counted longest ago is forgotten (bounds memory, about 200 bytes a key)"`
	WriteBatch              int           `envconfig:"WRITE_BATCH" default:"64" desc:"new chirps written together at most, when many arrive at once (one statement and one commit); 1 writes each alone"`
	// One writer: while it waits for a commit the next batch gathers in the
	// queue, so each batch takes every chirp that arrived meanwhile. More
	// writers split those chirps into smaller batches, each with its
	// statement and commit. With the standalone on the durable PostgreSQL
	// of make bench-load, wrk posting for 6 s, four rounds alternating
	// CHIRPER_WRITE_WRITERS=1 and 2: at 16 clients one writer posted
	// 2,439-3,412 chirps a second against 2,222-2,650, at a
	// PostgreSQL CPU cost of 205-255 µs a chirp against 349-394; at 64
	// clients 4,493-6,034 against 4,236-5,391, at 96-155 µs against
	// 149-201. (Two writers did better while a writer also sent the
	// announcement of new chirps, which a goroutine of its own now sends.)
	// Again once a batch reserved the next batches' ids in its own call,
	// two rounds of make bench-load BENCH_LOAD_FLAGS="-d 8s -sizes 10000
	// -sqlite=false -only POST": at 16 clients one writer posted
	// 3,337-3,601 chirps a second against 2,379-2,788; at 64, 4,745-6,113
	// against 3,706-4,835.
	WriteWriters      int           `envconfig:"WRITE_WRITERS" default:"1" desc:"goroutines writing batches of new chirps concurrently (on SQLite always 1: it takes one writer at a time)"`
	WriteBatchTimeout time.Duration `envconfig:"WRITE_BATCH_TIMEOUT" default:"5s" desc:"time one batch of new chirps (and each retry of its chirps) gets to be written; shutdown waits for the last batch"`
	ReadBatch         int           `envconfig:"READ_BATCH" default:"32" desc:"chirps read by id together at most, when more reads arrive than READ_READERS serve at once (one statement); 1 reads each alone; PostgreSQL only"`
	// Two readers: make bench-load at 1,000,000 chirps, wrk reading random
	// ids that the cache cannot hold, runs of each in turn: one reader
	// 0.31-0.35× the bare handler, two 0.26-0.34×, four 0.23-0.26×, eight
	// 0.17×; each read alone 0.08-0.09×. One did about as well as two,
	// but a batch reads its rows one after another: where they are not in
	// memory each is a disk read, and a second reader keeps one slow batch
	// from holding up every read.
	ReadReaders    int      `envconfig:"READ_READERS" default:"2" desc:"reads of chirps by id sent to the database at once; more wait and go together in the next batch"`
	TrustedProxies []string `envconfig:"TRUSTED_PROXIES" desc:"comma-separated CIDRs whose X-Forwarded-For is believed (the load balancer's subnets)"`

	ReadHeaderTimeout time.Duration `envconfig:"READ_HEADER_TIMEOUT" default:"5s" desc:"time to read request headers"`
	ReadTimeout       time.Duration `envconfig:"READ_TIMEOUT" default:"15s" desc:"time to read a whole request"`
	WriteTimeout      time.Duration `envconfig:"WRITE_TIMEOUT" default:"30s" desc:"time to write a response"`
	IdleTimeout       time.Duration `envconfig:"IDLE_TIMEOUT" default:"120s" desc:"keep-alive idle time"`
	ShutdownGrace     time.Duration `envconfig:"SHUTDOWN_GRACE" default:"20s" desc:"time in-flight requests get to finish on SIGTERM; then their contexts are cancelled, and the database closes once the last has returned"`
	ShutdownDelay     time.Duration `envconfig:"SHUTDOWN_DELAY" default:"0s" desc:"time between failing readiness and closing the listener, so a load balancer stops routing here first"`

	LogLevel    string        `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
	AccessLog   bool          `envconfig:"ACCESS_LOG" default:"true" desc:"a log line for every request (the AWS services set false: the load balancer logs access); errors and slow requests are logged either way"`
	SlowRequest time.Duration `envconfig:"SLOW_REQUEST" default:"1s" desc:"requests slower than this are logged at WARN even without ACCESS_LOG; 0 turns it off"`
	CacheMB     int           `envconfig:"CACHE_MB" default:"20" desc:"memory for the caches, in MiB: 10/16 for encoded chirps, 2/16 each for first pages and verified tokens, 1/16 each for users and follow counts (0 caches nothing); each MiB may cost up to 2 MiB of peak RSS, as the heap grows to twice what is live between collections"`
	DBTimeout   time.Duration `envconfig:"DB_TIMEOUT" default:"5s" desc:"deadline of each request's database work (then 503); the work of a client that went away ends at most 100 ms after it, so that a slow query cannot hold a pool connection after its client is gone; 0 for no deadline (the 100 ms still holds)"`

	StreamMaxConnections int           `envconfig:"STREAM_MAX_CONNECTIONS" default:"1000" desc:"live streams one process holds at once; more are answered 503 (each holds a goroutine and its buffer, some 20 KiB)"`
	StreamBuffer         int           `envconfig:"STREAM_BUFFER" default:"256" desc:"events queued for one live stream; a reader further behind is disconnected (it reconnects with Last-Event-ID)"`
	StreamHeartbeat      time.Duration `envconfig:"STREAM_HEARTBEAT" default:"15s" desc:"a comment on every idle live stream this often, well inside the load balancer's idle timeout (60 s)"`
	StreamReplay         int           `envconfig:"STREAM_REPLAY" default:"100" desc:"chirps a reconnecting stream replays at most after its Last-Event-ID (1 to 100)"`
	StreamMetricInterval time.Duration `envconfig:"STREAM_METRIC_INTERVAL" default:"0s" desc:"how often the open live streams are logged as a CloudWatch embedded metric (Chirper/OpenStreams by Service), which the stream service's auto scaling tracks; 0 for never"`

	SSMPath         string `envconfig:"SSM_PATH" desc:"SSM Parameter Store path (such as /chirper/prod/users) whose parameters, decrypted, fill the variables the environment does not set"`
	DatabaseIAMAuth bool   `envconfig:"DATABASE_IAM_AUTH" default:"false" desc:"sign in to PostgreSQL (RDS Proxy) with a fresh IAM token per connection instead of a password; region from AWS_REGION"`
}

// Local is the configuration of the local multi-service run
// (deploy/local) and of its gateway in docker compose.
type Local struct {
	ReadInstances int       `envconfig:"READ_INSTANCES" default:"2" desc:"local run: instances of each read service (list-chirps, get-chirp)"`
	Upstreams     Upstreams `envconfig:"UPSTREAMS" desc:"gateway only: group:URL pairs, comma-separated, several URLs of one group separated by spaces"`
}

// Upstreams are the URLs of each group's instances, by group, each value
// the URLs separated by spaces.
type Upstreams map[string]string

// Decode reads CHIRPER_UPSTREAMS (an envconfig.Decoder): comma-separated
// pairs whose group ends at the first ":", so that the URL keeps its own.
func (u *Upstreams) Decode(value string) error {
	m := Upstreams{}
	for _, pair := range strings.Split(value, ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		group, urls, ok := strings.Cut(pair, ":")
		if !ok || group == "" || strings.TrimSpace(urls) == "" {
			return fmt.Errorf("%q is not group:URL", pair)
		}
		m[group] = strings.TrimSpace(m[group] + " " + urls)
	}
	*u = m
	return nil
}

// LoadLocal reads the local run's configuration from the environment.
func LoadLocal() (*Local, error) {
	var l Local
	if err := envconfig.Process(Prefix, &l); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if l.ReadInstances < 1 {
		return nil, errors.New("CHIRPER_READ_INSTANCES must be 1 or more")
	}
	return &l, nil
}

// Load reads the configuration from the environment, after filling it from
// SSM Parameter Store when CHIRPER_SSM_PATH is set, and checks it.
func Load(ctx context.Context) (*Config, error) {
	if err := applySSM(ctx); err != nil {
		return nil, err
	}
	return LoadEnv()
}

// LoadEnv reads the configuration from the environment alone, with no call
// to SSM (for a container health check, which runs every few seconds).
func LoadEnv() (*Config, error) {
	var c Config
	if err := envconfig.Process(Prefix, &c); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return &c, c.Validate()
}

// Validate reports every setting that cannot work.
func (c *Config) Validate() error {
	var errs []error
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		errs = append(errs, errors.New("CHIRPER_TLS_CERT_FILE and CHIRPER_TLS_KEY_FILE go together"))
	}
	if c.BcryptCost < 4 || c.BcryptCost > 31 {
		errs = append(errs, errors.New("CHIRPER_BCRYPT_COST must be 4 to 31"))
	}
	if c.AccessTokenTTL <= 0 || c.RefreshTokenTTL <= 0 || c.TokenPurgeEvery <= 0 || c.RevokedTokenTTL < 0 {
		errs = append(errs, errors.New("token lifetimes and the purge interval must be positive"))
	}
	if c.RateLimit < 0 || c.RateLimitWindow <= 0 {
		errs = append(errs, errors.New("CHIRPER_RATE_LIMIT must be 0 or more and CHIRPER_RATE_LIMIT_WINDOW positive"))
	}
	if c.WriteBatch < 1 || c.WriteWriters < 1 || c.ReadBatch < 1 || c.ReadReaders < 1 {
		errs = append(errs, errors.New("CHIRPER_WRITE_BATCH, CHIRPER_WRITE_WRITERS, CHIRPER_READ_BATCH and CHIRPER_READ_READERS must be 1 or more"))
	}
	if c.CacheMB < 0 {
		errs = append(errs, errors.New("CHIRPER_CACHE_MB must be 0 or more"))
	}
	if c.WriteBatchTimeout <= 0 {
		errs = append(errs, errors.New("CHIRPER_WRITE_BATCH_TIMEOUT must be positive"))
	}
	if c.StreamMaxConnections < 0 || c.StreamBuffer < 1 || c.StreamHeartbeat <= 0 || c.StreamReplay < 1 || c.StreamReplay > 100 || c.StreamMetricInterval < 0 {
		errs = append(errs, errors.New("CHIRPER_STREAM_MAX_CONNECTIONS must be 0 or more, CHIRPER_STREAM_BUFFER 1 or more, CHIRPER_STREAM_HEARTBEAT positive, CHIRPER_STREAM_REPLAY 1 to 100 and CHIRPER_STREAM_METRIC_INTERVAL 0 or more"))
	}
	if _, err := c.TrustedProxyPrefixes(); err != nil {
		errs = append(errs, err)
	}
	if _, _, err := c.Database(); err != nil {
		errs = append(errs, err)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, errors.New("CHIRPER_LOG_LEVEL must be debug, info, warn or error"))
	}
	return errors.Join(errs...)
}

// TrustedProxyPrefixes parses TrustedProxies.
func (c *Config) TrustedProxyPrefixes() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range c.TrustedProxies {
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("CHIRPER_TRUSTED_PROXIES: %q is not a CIDR prefix", s)
		}
		out = append(out, p)
	}
	return out, nil
}

// Database kinds.
const (
	Postgres = "postgres"
	SQLite   = "sqlite"
)

// Database returns the kind of database DatabaseURL names and the string to
// open it with: a PostgreSQL URL, or a SQLite file path (DATA_DIR/chirper.db
// when DatabaseURL is empty).
func (c *Config) Database() (kind, dsn string, err error) {
	switch u := c.DatabaseURL; {
	case u == "":
		return SQLite, filepath.Join(c.DataDir, "chirper.db"), nil
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		return Postgres, u, nil
	case strings.HasPrefix(u, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(u, "sqlite:"), "//")
		if path == "" {
			return "", "", errors.New("CHIRPER_DATABASE_URL: sqlite: needs a file path")
		}
		return SQLite, path, nil
	}
	return "", "", errors.New("CHIRPER_DATABASE_URL must start with postgres:// or sqlite:")
}

// Usage writes every variable with its default and meaning.
func Usage(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	const format = "Environment variables:\n  VARIABLE\tDEFAULT\tMEANING\n" +
		"{{range .}}  {{usage_key .}}\t{{usage_default .}}\t{{usage_description .}}\n{{end}}"
	if err := envconfig.Usagef(Prefix, &Config{}, tw, format); err != nil {
		return err
	}
	return tw.Flush()
}
