// Command benchload measures Chirper against this machine's own limits in
// one pass and prints one table (make bench-load): a bare net/http JSON
// handler, pgbench -S and a pgbench single-row INSERT, and SQLite's own
// insert and point-select loops are the limits; the standalone on
// PostgreSQL at 10,000 and 1,000,000 chirps and on SQLite is measured with
// wrk against them. Every load goes to 127.0.0.1 and lasts -d.
//
// It runs through deploy/scripts/with-postgres.sh with PG_DURABLE=1, so
// that PostgreSQL syncs its commits as in production.
package main

import (
	"bufio"
	"context"
	"database/sql"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/chirper/chirper/pkg/client"
	"github.com/chirper/chirper/pkg/postgres"
	"github.com/chirper/chirper/pkg/postgres/pgtest"
	"github.com/chirper/chirper/pkg/server"
	"github.com/chirper/chirper/pkg/sqlite"
)

func main() {
	bare := flag.String("bare", "", "serve the bare net/http JSON handler on this address (the benchmark starts itself so)")
	duration := flag.Duration("d", 10*time.Second, "length of each measurement")
	sizes := flag.String("sizes", "10000,1000000", "chirps in the PostgreSQL runs")
	profiles := flag.String("profile", "", "folder for a CPU profile of the server in each Chirper run, and its heap at the end of the run")
	withSQLite := flag.Bool("sqlite", true, "measure the standalone on SQLite")
	only := flag.String("only", "", "measure only the Chirper runs whose row name matches this regular expression, and the limits they are compared with")
	flag.Parse()
	if *bare != "" {
		serveBare(*bare)
		return
	}
	runs, err := regexp.Compile(*only)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchload: -only:", err)
		os.Exit(2)
	}
	if *profiles != "" {
		if err := os.MkdirAll(*profiles, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "benchload: -profile:", err)
			os.Exit(2)
		}
	}
	b := &bench{duration: *duration, profiles: *profiles, sqlite: *withSQLite, only: runs}
	if err := b.run(strings.Split(*sizes, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "benchload:", err)
		os.Exit(1)
	}
}

// serveBare is the machine's HTTP limit: a handler that answers a small
// JSON document, as GET /v1/chirps/{id} does, with nothing behind it.
func serveBare(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().String())
	body := []byte(`{"id":"1","author_id":"1","author":"user_1","message":"chirp number 1","tags":["tag1","tag2"],"created_at":"2026-01-01T00:00:00Z"}` + "\n")
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	})
	http.Serve(ln, h)
}

type bench struct {
	duration time.Duration
	profiles string
	sqlite   bool
	only     *regexp.Regexp // the Chirper runs measured, by row name
	work     string
	base     string // the PostgreSQL server's URL
	pgbench  string // the URL of pgbench's database, once made
	rows     []row
	limits   map[string]float64 // per second, by name: the latest measure
	notes    []string           // printed under the table
}

// row is one line of the table.
type row struct {
	name     string
	rate     float64 // requests (or transactions) per second
	p50, p99 time.Duration
	errors   int64
	cost     // CPU per request, and how busy the machine was
	peakRSS  int64
	limit    string  // the name of the limit it is compared with
	limitIs  float64 // that limit's rate, as measured last before this run
}

func (b *bench) run(sizes []string) error {
	var err error
	if b.work, err = os.MkdirTemp("", "benchload"); err != nil {
		return err
	}
	defer os.RemoveAll(b.work)
	b.limits = map[string]float64{}
	b.base = os.Getenv("TEST_DATABASE_URL")
	if b.base == "" {
		return errors.New("TEST_DATABASE_URL is not set: run through deploy/scripts/with-postgres.sh (make bench-load does)")
	}
	standalone := filepath.Join(b.work, "standalone")
	build := exec.Command("go", "build", "-trimpath", "-o", standalone, "./cmd/standalone")
	build.Env = append(os.Environ(), "CGO_ENABLED=0") // as the images build it
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}

	for _, s := range sizes {
		if strings.TrimSpace(s) == "" { // -sizes '': the timelines alone
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("-sizes: %w", err)
		}
		if err := b.chirperOnPostgres(standalone, n); err != nil {
			return err
		}
	}
	if err := b.timelines(standalone); err != nil {
		return err
	}
	if b.sqlite {
		if err := b.chirperOnSQLite(standalone); err != nil {
			return err
		}
	}
	b.print(os.Stdout)
	return nil
}

// wants reports whether any of the named Chirper runs is to be measured.
func (b *bench) wants(names ...string) bool {
	return slices.ContainsFunc(names, b.only.MatchString)
}

func step(msg string) { fmt.Fprintf(os.Stderr, "benchload: %s\n", msg) }

// measureLimit measures the named limit for the runs it names (in its
// row's name). The machine drifts within minutes, and a pass takes a
// quarter of an hour: so each limit is measured again just before the runs
// compared with it, and a run's ratio is to that measure.
func (b *bench) measureLimit(limit, runs string) error {
	switch limit {
	case "bare":
		return b.bareLimit(runs)
	case "pgbench-S", "insert16", "insert64":
		return b.pgbenchLimit(limit, runs)
	case "sqlite-insert":
		return b.sqliteLimit(runs)
	}
	return fmt.Errorf("no limit %q", limit)
}

// bareLimit measures the bare handler with wrk at 64 connections.
func (b *bench) bareLimit(runs string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, "-bare", "127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return err
	}
	p := &proc{cmd: cmd}
	r, err := b.wrk(p, "bare net/http JSON handler, 64 conns, for "+runs, "", 64, "http://"+strings.TrimSpace(addr)+"/", "")
	if err != nil {
		return err
	}
	b.limits["bare"] = r.rate
	return nil
}

var (
	tpsRE          = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)
	transactionsRE = regexp.MustCompile(`number of transactions actually processed: (\d+)`)
)

// pgbenchLimit measures one of pgbench -S (16 clients) and a single-row
// INSERT script at 16 and 64 clients, on a database of their own, made at
// the first.
func (b *bench) pgbenchLimit(limit, runs string) error {
	script := filepath.Join(b.work, "insert.sql")
	if b.pgbench == "" {
		dsn, err := database(b.base, "chirper_pgbench", true)
		if err != nil {
			return err
		}
		if out, err := exec.Command("pgbench", "-i", "-q", "-s", "10", dsn).CombinedOutput(); err != nil {
			return fmt.Errorf("pgbench -i: %v\n%s", err, out)
		}
		db, err := sql.Open("postgres", dsn)
		if err != nil {
			return err
		}
		defer db.Close()
		if _, err := db.Exec(`DROP TABLE IF EXISTS single_row; CREATE TABLE single_row (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v int, t text)`); err != nil {
			return err
		}
		if err := os.WriteFile(script, []byte("\\set r random(1, 1000000)\nINSERT INTO single_row (v, t) VALUES (:r, 'a row of about the size of a chirp');\n"), 0o644); err != nil {
			return err
		}
		b.pgbench = dsn
	}
	run := map[string]struct {
		name string
		args []string
	}{
		"pgbench-S": {"pgbench -S, 16 clients", []string{"-S", "-c", "16", "-j", "2"}},
		"insert16":  {"pgbench single-row INSERT, 16 clients", []string{"-f", script, "-c", "16", "-j", "2"}},
		"insert64":  {"pgbench single-row INSERT, 64 clients", []string{"-f", script, "-c", "64", "-j", "2"}},
	}[limit]
	tps, err := b.runPgbench(run.name+", for "+runs, "", b.pgbench, run.args...)
	if err != nil {
		return err
	}
	b.limits[limit] = tps
	return nil
}

// runPgbench runs pgbench with args on dsn for the run's length, adds its row
// (compared with limit, when set) and returns its transactions per second.
func (b *bench) runPgbench(name, limit, dsn string, args ...string) (float64, error) {
	step(name)
	secs := strconv.Itoa(int(b.duration.Seconds()))
	m0 := startMeter(nil)
	cmd := exec.Command("pgbench", append(append([]string{"-n", "-T", secs}, args...), dsn)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("pgbench: %v\n%s", err, out)
	}
	m := tpsRE.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("pgbench printed no tps:\n%s", out)
	}
	tps, _ := strconv.ParseFloat(string(m[1]), 64)
	done := transactionsRE.FindSubmatch(out)
	if done == nil {
		return 0, fmt.Errorf("pgbench printed no count of transactions:\n%s", out)
	}
	n, _ := strconv.ParseInt(string(done[1]), 10, 64)
	b.rows = append(b.rows, row{name: name, rate: tps, cost: m0.stop(n, childCPU(cmd)), limit: limit, limitIs: b.limits[limit]})
	return tps, nil
}

// timelineStatements are the statements of the tag page and of the
// timelines, as pgbench scripts.
//
//go:embed pgbench/*.sql
var timelineStatements embed.FS

// statements measures the database's side of the timeline runs alone:
// pgbench sends each statement as Chirper does (16 clients, parameters
// bound, no prepared statements), and its cost is compared with the tag
// page's.
func (b *bench) statements(dsn string) error {
	run := func(file, name, limit string) (float64, error) {
		text, err := timelineStatements.ReadFile("pgbench/" + file)
		if err != nil {
			return 0, err
		}
		script := filepath.Join(b.work, file)
		if err := os.WriteFile(script, text, 0o644); err != nil {
			return 0, err
		}
		return b.runPgbench("pgbench 1M, 10k users: "+name+"'s statement, 16 clients", limit, dsn,
			"-M", "extended", "-f", script, "-c", "16", "-j", "2")
	}
	tag, err := run("tag-page.sql", "the tag page", "")
	if err != nil {
		return err
	}
	b.limits["tag statement"] = tag
	for _, t := range []struct{ file, name string }{
		{"timeline-many.sql", "timeline, following 1,000"},
		{"timeline-few.sql", "timeline, following 10"},
		{"timeline-probe.sql", "timeline, following 1,000, with the former probe"},
	} {
		tps, err := run(t.file, t.name, "tag statement")
		if err != nil {
			return err
		}
		b.notes = append(b.notes, fmt.Sprintf("%s: its statement costs %.2f× the tag page's", t.name, tag/tps))
	}
	return nil
}

// sqliteLimit measures SQLite itself, through the same Open (and so the
// same pragmas) the standalone uses: 16 goroutines of single-row INSERT
// transactions, then of point SELECTs.
func (b *bench) sqliteLimit(runs string) error {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.work, "limit.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE single_row (id INTEGER PRIMARY KEY, v INTEGER, t TEXT)`); err != nil {
		return err
	}
	var inserted atomic.Int64
	loop := func(name, limit string, op func(r *rand.Rand) error) error {
		step(name)
		var n atomic.Int64
		var firstErr error
		var once sync.Once
		m0 := startMeter(selfCPU) // the loop is the server: SQLite runs in this process
		deadline := time.Now().Add(b.duration)
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(i), 1))
				for time.Now().Before(deadline) {
					if err := op(r); err != nil {
						once.Do(func() { firstErr = err })
						return
					}
					n.Add(1)
				}
			}()
		}
		wg.Wait()
		if firstErr != nil {
			return firstErr
		}
		rate := float64(n.Load()) / b.duration.Seconds()
		b.limits[limit] = rate
		b.rows = append(b.rows, row{name: name, rate: rate, cost: m0.stop(n.Load(), -1)})
		return nil
	}
	err = loop("SQLite single-row INSERT transactions, 16 goroutines, for "+runs, "sqlite-insert", func(r *rand.Rand) error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, `INSERT INTO single_row (v, t) VALUES (?, 'a row of about the size of a chirp')`, r.IntN(1e6)); err != nil {
			return err
		}
		inserted.Add(1)
		return tx.Commit()
	})
	if err != nil {
		return err
	}
	rows := max(inserted.Load(), 1)
	return loop("SQLite point SELECT, 16 goroutines, for "+runs, "sqlite-select", func(r *rand.Rand) error {
		var t string
		err := db.QueryRowContext(ctx, `SELECT t FROM single_row WHERE id = ?`, 1+r.Int64N(rows)).Scan(&t)
		return err
	})
}

// pgRun is one wrk run against the standalone on PostgreSQL.
type pgRun struct {
	name, path string
	script     func() string // wrk's Lua script, made once the tokens are known
	limit      string
	conns      int
	warm       int // ids read once before the run
}

// noScript is a run's script when it only GETs its path.
func noScript() string { return "" }

// chirperOnPostgres seeds a database with n chirps by 100 users and
// measures the standalone on it.
func (b *bench) chirperOnPostgres(standalone string, n int) error {
	size := fmt.Sprintf("%dk", n/1000)
	if n >= 1_000_000 {
		size = fmt.Sprintf("%dM", n/1_000_000)
	}
	tokens := make([]string, 100) // filled once the server is up
	runs := []pgRun{
		{"GET /v1/chirps/{id} (random)", "/", func() string { return randomIDScript(n) }, "bare", 64, 0},
		{"GET /v1/chirps/{id} (5,000 hot ids, cache warmed)", "/", func() string { return randomIDScript(hotIDs) }, "bare", 64, hotIDs},
		{"newest page: all", "/v1/chirps?limit=20", noScript, "pgbench-S", 64, 0},
		{"newest page: one tag", "/v1/chirps?tag=tag7&limit=20", noScript, "pgbench-S", 64, 0},
		{"newest page: any of 3 tags", "/v1/chirps?tag=tag7&tag=tag42&tag=tag93&limit=20", noScript, "pgbench-S", 64, 0},
		{"newest page: one author", "/v1/chirps?author=user_42&limit=20", noScript, "pgbench-S", 64, 0},
		{"search, a common word (cached first page)", "/v1/chirps?q=chirp&limit=20", noScript, "pgbench-S", 64, 0},
		{"search, a common word (uncached: a cursor)", "/v1/chirps?q=chirp&limit=20&cursor=" + cursor(int64(n)+1), noScript, "pgbench-S", 64, 0},
		{"search, a rare word (uncached: a cursor)", "/v1/chirps?q=4242&limit=20&cursor=" + cursor(int64(n)+1), noScript, "pgbench-S", 64, 0},
		{"POST /v1/chirps, 16 conns", "/v1/chirps", func() string { return postScript(tokens) }, "insert16", 16, 0},
		{"POST /v1/chirps, 64 conns", "/v1/chirps", func() string { return postScript(tokens) }, "insert64", 64, 0},
	}
	rowName := func(run string) string { return fmt.Sprintf("PostgreSQL %s: %s", size, run) }
	runs = slices.DeleteFunc(runs, func(run pgRun) bool { return !b.wants(rowName(run.name)) })
	if len(runs) == 0 {
		return nil
	}
	step(fmt.Sprintf("seeding PostgreSQL with %d chirps", n))
	db, dsn, err := seeded(b.base, fmt.Sprintf("chirper_load_%d", n), 100, n)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx := context.Background()
	p, err := b.start(standalone, map[string]string{"CHIRPER_DATABASE_URL": dsn})
	if err != nil {
		return err
	}
	defer p.stop()
	if tokens, err = login(p.url, len(tokens), password); err != nil {
		return err
	}
	measured := ""
	for _, run := range runs {
		if run.limit != measured {
			if err := b.measureLimit(run.limit, fmt.Sprintf("PostgreSQL %s", size)); err != nil {
				return err
			}
			measured = run.limit
		}
		if err := warm(p.url, firstIDs(run.warm)); err != nil {
			return err
		}
		// Two seconds of the same load first, unmeasured: the first
		// seconds after the seed filled PostgreSQL's buffers and its
		// connections' caches (GET by random id ran at half the rate of
		// the seconds after).
		script := run.script()
		if err := load(b.work, p.url+run.path, script); err != nil {
			return err
		}
		if _, err := b.wrk(p, rowName(run.name), run.limit, run.conns, p.url+run.path, script); err != nil {
			return err
		}
	}
	var deadlocks int64
	if err := db.QueryRowContext(ctx, `SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()`).Scan(&deadlocks); err != nil {
		return err
	}
	b.notes = append(b.notes, fmt.Sprintf("PostgreSQL %s: %d deadlocks", size, deadlocks))
	return nil
}

// timelines measures home timelines on 1,000,000 chirps by 10,000 users,
// against a tag page read from the database (a cursor keeps it out of the
// page cache), as their cost ratio: of a reader who follows 1,000 users
// spread over all (every tenth), of one who follows 10, and of one who
// follows a block of 1,000 consecutive users, whom the round-robin seed
// makes silent for the newest 9,000 chirps (the worst case of a walk).
// Each is compared with a tag page measured just before it.
func (b *bench) timelines(standalone string) error {
	if !b.wants("PostgreSQL 1M, 10k users: timeline") {
		return nil
	}
	step("seeding PostgreSQL with 1,000,000 chirps by 10,000 users, and follows")
	db, dsn, err := seeded(b.base, "chirper_load_timeline", 10_000, 1_000_000)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `
		INSERT INTO follows (follower_id, followee_id)
		SELECT 1, 10 * i FROM generate_series(1, 1000) AS i
		UNION ALL SELECT 2, i FROM generate_series(3, 12) AS i
		UNION ALL SELECT 3, i FROM generate_series(4, 1003) AS i`); err != nil {
		return err
	}
	// As autovacuum would have left them: read fresh from a bulk insert, the
	// follows' one heap page made 16 concurrent readers of one timeline
	// queue (pgbench: half the pages per second, until autovacuum ran in
	// the middle of the runs). And no flush of the seed's pages during them.
	for _, stmt := range []string{`VACUUM ANALYZE follows`, `CHECKPOINT`} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	if err := b.statements(dsn); err != nil {
		return err
	}
	p, err := b.start(standalone, map[string]string{"CHIRPER_DATABASE_URL": dsn})
	if err != nil {
		return err
	}
	defer p.stop()
	tokens, err := login(p.url, 3, password)
	if err != nil {
		return err
	}
	// This machine drifts within a minute, so each timeline is measured
	// right after a tag page, in pairs, in rounds: its ratio is to that
	// tag page, and the note gives each round's and their median.
	names := []string{"following 1,000", "following 10", "following a silent block of 1,000"}
	tagURL := p.url + "/v1/chirps?tag=tag7&limit=20&cursor=" + cursor(1_000_001)
	authorization := func(i int) string {
		return fmt.Sprintf("wrk.headers[\"Authorization\"] = \"Bearer %s\"\n", tokens[i])
	}
	// The first seconds of each are slower (the first round's ratios were
	// the worst in every pass): each is warmed first, unmeasured.
	step("warming the tag page and the timelines")
	if err := load(b.work, tagURL, ""); err != nil {
		return err
	}
	for i := range names {
		if err := load(b.work, p.url+"/v1/timeline?limit=20", authorization(i)); err != nil {
			return err
		}
	}
	ratios := make([][]float64, len(names))
	for round := 1; round <= timelineRounds; round++ {
		for i, name := range names {
			limit := fmt.Sprintf("tag page %d.%d", round, i+1)
			tag, err := b.wrk(p, fmt.Sprintf("PostgreSQL 1M, 10k users, %d.%d: tag page (uncached: a cursor)", round, i+1), "", 64, tagURL, "")
			if err != nil {
				return err
			}
			b.limits[limit] = tag.rate
			r, err := b.wrk(p, fmt.Sprintf("PostgreSQL 1M, 10k users, %d.%d: timeline, %s", round, i+1, name), limit, 64,
				p.url+"/v1/timeline?limit=20", authorization(i))
			if err != nil {
				return err
			}
			ratios[i] = append(ratios[i], tag.rate/r.rate)
		}
	}
	for i, name := range names {
		each := make([]string, len(ratios[i]))
		for j, r := range ratios[i] {
			each[j] = fmt.Sprintf("%.2f×", r)
		}
		slices.Sort(ratios[i])
		b.notes = append(b.notes, fmt.Sprintf("timeline, %s: costs %s a tag page (median %.2f×)",
			name, strings.Join(each, ", "), ratios[i][len(ratios[i])/2]))
	}
	return nil
}

// timelineRounds is how many times each timeline is measured.
const timelineRounds = 3

// load sends target load for two seconds, unmeasured; script is wrk's
// Lua script, as for the measured run.
func load(work, target, script string) error {
	path := filepath.Join(work, "warm.lua")
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		return err
	}
	if out, err := exec.Command("wrk", "-t2", "-c64", "-d2s", "-s", path, target).CombinedOutput(); err != nil {
		return fmt.Errorf("wrk: %v\n%s", err, out)
	}
	return nil
}

// chirperOnSQLite measures the zero-configuration standalone: POST first,
// which makes the chirps that GET then reads.
func (b *bench) chirperOnSQLite(standalone string) error {
	if !b.wants(sqlitePOST, sqliteGET) {
		return nil
	}
	step("the standalone on SQLite")
	// Its 100 users register through the API: at the cheapest bcrypt cost,
	// so that they take a second rather than half a minute. (The seeded
	// users of the PostgreSQL runs have cost-4 hashes, which logins check
	// at that cost whatever the server's: those runs keep the default.)
	p, err := b.start(standalone, map[string]string{"CHIRPER_DATA_DIR": filepath.Join(b.work, "sqlite-data"), "CHIRPER_BCRYPT_COST": "4"})
	if err != nil {
		return err
	}
	defer p.stop()
	c := client.New(p.url, nil)
	ctx := context.Background()
	var tokens []string
	for i := range 100 {
		name := fmt.Sprint("user_", i+1)
		if _, err := c.Register(ctx, client.Registration{Username: name, Password: password}); err != nil {
			return err
		}
	}
	if tokens, err = login(p.url, 100, password); err != nil {
		return err
	}
	post := postScript(tokens)
	if err := b.measureLimit("sqlite-insert", "SQLite"); err != nil {
		return err
	}
	if err := load(b.work, p.url+"/v1/chirps", post); err != nil { // unmeasured, as on PostgreSQL
		return err
	}
	if _, err := b.wrk(p, sqlitePOST, "sqlite-insert", 64, p.url+"/v1/chirps", post); err != nil {
		return err
	}
	// The GET run reads the oldest sqliteReadSet chirps, by the ids the
	// API lists: ids have gaps (ids reserved ahead that expired unused).
	ids, err := chirpIDs(p.url, 0)
	if err != nil {
		return err
	}
	b.notes = append(b.notes, fmt.Sprintf("standalone on SQLite, after its POST run: %d chirps, under ids 1 to %d", len(ids), ids[len(ids)-1]))
	read := ids[:min(sqliteReadSet, len(ids))]
	step("filling every cache of the standalone on SQLite")
	if err := fillCaches(p, read); err != nil {
		return err
	}
	filled, err := readCaches(p.admin)
	if err != nil {
		return err
	}
	b.notes = append(b.notes, fmt.Sprintf("standalone on SQLite, before its GET run: the token and page caches full (%s); "+
		"the chirp cache holds all %d chirps the GET run reads (%s)", filled.describe("tokens", "pages"), len(read), filled.describe("chirps")))
	get := idListScript(read)
	if err := b.measureLimit("bare", "SQLite"); err != nil {
		return err
	}
	if err := load(b.work, p.url+"/", get); err != nil {
		return err
	}
	if _, err = b.wrk(p, sqliteGET, "bare", 64, p.url+"/", get); err != nil {
		return err
	}
	step("filling the chirp cache of the standalone on SQLite too")
	for last := ids[len(ids)-1]; ; {
		full, err := readCaches(p.admin)
		if err != nil {
			return err
		}
		if full["chirps"].evictions > 0 {
			b.notes = append(b.notes, fmt.Sprintf("standalone on SQLite with every cache full, the chirp cache too (%s): peak RSS %d MB",
				full.describe("chirps"), p.peakRSS()>>20))
			return nil
		}
		if err := load(b.work, p.url+"/v1/chirps", post); err != nil {
			return err
		}
		since, err := chirpIDs(p.url, last)
		if err != nil {
			return err
		}
		if err := warm(p.url, since); err != nil {
			return err
		}
		last = since[len(since)-1]
	}
}

// The rows of the SQLite pass; its GET reads the chirps its POST made, so
// either runs both.
const (
	sqlitePOST = "SQLite: POST /v1/chirps, 64 conns"
	sqliteGET  = "SQLite: GET /v1/chirps/{id} (random)"
)

// sqliteReadSet is how many chirps the GET run on SQLite reads: those a
// POST run of 10 s makes at 2,500-3,300 a second, and that the default
// chirp cache (some 38,000 chirps) holds. It was as many as the POST run
// made, until that run posted 52,905 (4,327 a second) and the GET run's
// reads no longer fitted.
const sqliteReadSet = 30_000

// hotIDs is how many chirps the warm GET by id reads: well within the
// default chirp cache (some 38,000 chirps), as a chirp read again is.
const hotIDs = 5000

// firstIDs are the ids 1 to n, those of the first chirps seeded.
func firstIDs(n int) []int {
	ids := make([]int, n)
	for i := range ids {
		ids[i] = i + 1
	}
	return ids
}

// warm reads the chirps with the ids once each, 16 at a time, so that a
// run measures the caches' steady state rather than their filling.
func warm(base string, ids []int) error {
	return inParallel(len(ids), func(i int) error { return getOK(fmt.Sprintf("%s/v1/chirps/%d", base, ids[i-1]), "") })
}

// fillCaches fills the caches of the standalone p: the chirps by id,
// then verified access tokens (logins of the users user_1 to user_100,
// each token then used once) and first pages (a tag and an author each)
// until those two caches evict, so that the next run's peak RSS is that of
// full caches.
func fillCaches(p *proc, ids []int) error {
	if err := warm(p.url, ids); err != nil {
		return err
	}
	c := client.New(p.url, nil)
	fills := map[string]func(i int) error{
		"tokens": func(i int) error {
			tok, err := c.Login(context.Background(), fmt.Sprint("user_", i%100+1), password)
			if err != nil {
				return err
			}
			return getOK(p.url+"/v1/chirps/1", tok.AccessToken)
		},
		"pages": func(i int) error {
			return getOK(fmt.Sprintf("%s/v1/chirps?tag=tag%d&author=user_%d", p.url, i%100, i/100%100+1), "")
		},
	}
	for name, fill := range fills {
		for round := 0; ; round++ {
			stats, err := readCaches(p.admin)
			if err != nil {
				return err
			}
			if stats[name].evictions > 0 {
				break
			}
			if round == 100 {
				return fmt.Errorf("the %s cache was not full after %d entries", name, round*1000)
			}
			if err := inParallel(1000, func(i int) error { return fill(round*1000 + i) }); err != nil {
				return err
			}
		}
	}
	return nil
}

// cacheStats are a server's caches as its metrics show them, by name.
type cacheStats map[string]struct{ entries, bytes, evictions float64 }

// readCaches reads the caches' metrics from the admin listener at admin.
func readCaches(admin string) (cacheStats, error) {
	resp, err := http.Get(admin + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	stats := cacheStats{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		m := cacheMetricRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		v, _ := strconv.ParseFloat(m[3], 64)
		s := stats[m[2]]
		switch m[1] {
		case "entries":
			s.entries = v
		case "bytes":
			s.bytes = v
		case "evictions_total":
			s.evictions = v
		}
		stats[m[2]] = s
	}
	return stats, sc.Err()
}

var cacheMetricRE = regexp.MustCompile(`^chirper_cache_(entries|bytes|evictions_total)\{cache="(\w+)"\} (\S+)$`)

// describe says how full the named caches are.
func (s cacheStats) describe(names ...string) string {
	var each []string
	for _, name := range names {
		c := s[name]
		each = append(each, fmt.Sprintf("%s: %.0f entries, %.1f MiB, %.0f evicted", name, c.entries, c.bytes/(1<<20), c.evictions))
	}
	return strings.Join(each, "; ")
}

// chirpIDs returns the ids of the chirps on the server at base above
// after, oldest first, read from the newest pages down.
func chirpIDs(base string, after int) ([]int, error) {
	c := client.New(base, nil)
	var ids []int
	for cursor := ""; ; {
		page, err := c.ListChirps(context.Background(), client.Filter{Limit: 100, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		for _, chirp := range page.Chirps {
			id, err := strconv.Atoi(chirp.ID)
			if err != nil {
				return nil, err
			}
			if id <= after {
				page.NextCursor = ""
				break
			}
			ids = append(ids, id)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("no chirps above %d", after)
	}
	slices.Reverse(ids)
	return ids, nil
}

// getOK GETs url, with the bearer token if any, and wants a 200.
func getOK(url, token string) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s answered %d", url, resp.StatusCode)
	}
	return nil
}

// inParallel calls do with 1 to n, 16 at a time, and returns the first
// error.
func inParallel(n int, do func(int) error) error {
	next := make(chan int)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := range next {
				if err := do(i); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	for i := 1; i <= n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// cursor is the API's cursor of the page before the chirp id (its format
// is the server's: base64url of "v1:" and the id); a page asked for with a
// cursor is never answered from the page cache.
func cursor(beforeID int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("v1:" + strconv.FormatInt(beforeID, 10)))
}

// password is every seeded user's.
const password = "load test password"

// seeded returns the database name on the server, migrated and seeded with
// chirps by users (pgtest.Seed), and its URL.
func seeded(base, name string, users, chirps int) (*postgres.DB, string, error) {
	dsn, err := database(base, name, false)
	if err != nil {
		return nil, "", err
	}
	ctx := context.Background()
	db, err := postgres.Open(ctx, dsn, postgres.Options{MaxOpenConns: 2})
	if err != nil {
		return nil, "", err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), 4)
	if err == nil {
		err = db.Migrate(ctx)
	}
	if err == nil {
		err = pgtest.Seed(ctx, db, users, chirps, string(hash))
	}
	if err == nil {
		// The seed's dirty pages are written now rather than by a
		// checkpoint in the middle of a run, whose fsyncs stalled reads.
		_, err = db.ExecContext(ctx, `CHECKPOINT`)
	}
	if err != nil {
		db.Close()
		return nil, "", err
	}
	return db, dsn, nil
}

// login logs user_1 … user_n in and returns their access tokens.
func login(base string, n int, password string) ([]string, error) {
	c := client.New(base, nil)
	tokens := make([]string, n)
	for i := range tokens {
		tok, err := c.Login(context.Background(), fmt.Sprint("user_", i+1), password)
		if err != nil {
			return nil, err
		}
		tokens[i] = tok.AccessToken
	}
	return tokens, nil
}

// database creates (again, when fresh) a database on the server and
// returns its URL.
func database(base, name string, fresh bool) (string, error) {
	admin, err := sql.Open("postgres", base)
	if err != nil {
		return "", err
	}
	defer admin.Close()
	if fresh {
		if _, err := admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`); err != nil {
			return "", err
		}
	}
	var exists bool
	if err := admin.QueryRow(`SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return "", err
	}
	if !exists {
		if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
			return "", err
		}
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

// proc is a server under measurement.
type proc struct {
	cmd        *exec.Cmd
	url, admin string
}

// start runs the standalone with rate limits off and waits until it is
// ready: how long that took is in the notes.
func (b *bench) start(standalone string, env map[string]string) (*proc, error) {
	cmd := exec.Command(standalone, "serve")
	cmd.Env = append(os.Environ(),
		"CHIRPER_HTTP_ADDR=127.0.0.1:0", "CHIRPER_ADMIN_ADDR=127.0.0.1:0", "CHIRPER_RATE_LIMIT=0",
		"CHIRPER_LOGIN_LIMIT_PER_USERNAME=0", "CHIRPER_LOGIN_LIMIT_PER_ADDRESS=0", "CHIRPER_REGISTER_LIMIT_PER_ADDRESS=0")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	logPath := filepath.Join(b.work, "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	waited := settle()
	machine0 := machineCPU()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd}
	started := time.Now()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			p.stop()
			return nil, errors.New("the standalone did not become ready within 60s")
		}
		if p.url == "" {
			f, err := os.Open(logPath)
			if err != nil {
				return nil, err
			}
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				if addr, admin, ok := server.ServingAddrs(sc.Bytes()); ok {
					p.url, p.admin = "http://"+addr, "http://"+admin
				}
			}
			f.Close()
			continue
		}
		if resp, err := http.Get(p.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				kind := "SQLite"
				if env["CHIRPER_DATABASE_URL"] != "" {
					kind = "PostgreSQL"
				}
				b.notes = append(b.notes, fmt.Sprintf("standalone on %s: ready %v after start (its CPU %v; the machine meanwhile %s; it started once the machine had settled, after %v), %d MB resident when idle (%d MB of it file-backed: the binary's own pages)",
					kind, time.Since(started).Round(time.Millisecond), p.cpu(), machineCPU().sub(machine0), waited.Round(100*time.Millisecond), p.peakRSS()>>20, p.status("RssFile:")>>20))
				return p, nil
			}
		}
	}
}

func (p *proc) stop() {
	p.cmd.Process.Signal(os.Interrupt)
	p.cmd.Wait()
}

// cpu is the process's user and system CPU time so far.
func (p *proc) cpu() time.Duration {
	cpu, _ := statCPU(strconv.Itoa(p.cmd.Process.Pid), false)
	return cpu
}

// statCPU reads the user and system CPU time of process pid from
// /proc/pid/stat, with its exited children's when children is set, and
// the process's command name.
func statCPU(pid string, children bool) (time.Duration, string) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, ""
	}
	// pid (comm) state ...: the command may hold spaces and parentheses.
	open, end := strings.IndexByte(string(b), '('), strings.LastIndexByte(string(b), ')')
	if open < 0 || end < open {
		return 0, ""
	}
	f := strings.Fields(string(b[end+1:]))
	fields := []int{11, 12} // utime, stime, counted from the state
	if children {
		fields = append(fields, 13, 14) // cutime, cstime
	}
	var ticks int64
	for _, i := range fields {
		if i < len(f) {
			v, _ := strconv.ParseInt(f[i], 10, 64)
			ticks += v
		}
	}
	return time.Duration(ticks) * 10 * time.Millisecond, string(b[open+1 : end]) // USER_HZ is 100 on Linux
}

// cost is what a run's requests cost the machine: CPU per request of the
// server, of PostgreSQL's processes and of the client (wrk or pgbench), -1
// where there is none, and the machine's CPU times meanwhile. Together
// they say whether a run was bound by the machine's CPU or by waiting, and
// whose CPU it was.
type cost struct {
	server, postgres, client time.Duration
	machine                  cpuTimes
}

// meter holds the counters a cost is measured from, read before a run.
type meter struct {
	server        func() time.Duration // the server's CPU so far; nil when the run has none
	serverCPU, pg time.Duration
	machine       cpuTimes
}

func startMeter(server func() time.Duration) meter {
	m := meter{server: server, pg: postgresCPU(), machine: machineCPU()}
	if server != nil {
		m.serverCPU = server()
	}
	return m
}

// stop is the cost of the run since m of n requests, the client having
// taken client CPU (-1 if none).
func (m meter) stop(n int64, client time.Duration) cost {
	per := func(d time.Duration) time.Duration {
		if d < 0 {
			return -1
		}
		return d / time.Duration(max(n, 1))
	}
	c := cost{server: -1, postgres: per(postgresCPU() - m.pg), client: per(client), machine: machineCPU().sub(m.machine)}
	if m.server != nil {
		c.server = per(m.server() - m.serverCPU)
	}
	return c
}

// postgresCPU is the CPU time so far of the machine's PostgreSQL
// processes: each live one's own and, through the postmaster's children's
// times, that of the backends that have exited.
func postgresCPU() time.Duration {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	var total time.Duration
	for _, e := range entries {
		if cpu, comm := statCPU(e.Name(), true); comm == "postgres" {
			total += cpu
		}
	}
	return total
}

// selfCPU is this process's CPU time so far.
func selfCPU() time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// childCPU is the CPU time of cmd, which has exited.
func childCPU(cmd *exec.Cmd) time.Duration {
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// settle waits, up to 30 s, until the machine's CPU is at most a quarter
// busy over a quarter of a second, so that a server's start is measured
// rather than the work the runs before left behind (in full passes the
// machine was 62-79 % busy during a start, and the server's own CPU was
// as little as a sixth of that); it returns how long it waited.
func settle() time.Duration {
	start := time.Now()
	for time.Since(start) < 30*time.Second {
		t0 := machineCPU()
		time.Sleep(250 * time.Millisecond)
		if d := machineCPU().sub(t0); d.busy*4 <= d.total() {
			break
		}
	}
	return time.Since(start)
}

// cpuTimes are the machine's CPU times from /proc/stat, in ticks: busy,
// idle, waiting for I/O, and stolen by the hypervisor.
type cpuTimes struct{ busy, idle, iowait, steal int64 }

func machineCPU() cpuTimes {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	fields := strings.Fields(line) // "cpu" user nice system idle iowait irq softirq steal ...
	var v [8]int64
	for i := range v {
		if i+1 < len(fields) {
			v[i], _ = strconv.ParseInt(fields[i+1], 10, 64)
		}
	}
	return cpuTimes{busy: v[0] + v[1] + v[2] + v[5] + v[6], idle: v[3], iowait: v[4], steal: v[7]}
}

// sub is the times from t0 to t.
func (t cpuTimes) sub(t0 cpuTimes) cpuTimes {
	return cpuTimes{t.busy - t0.busy, t.idle - t0.idle, t.iowait - t0.iowait, t.steal - t0.steal}
}

func (t cpuTimes) total() int64 { return t.busy + t.idle + t.iowait + t.steal }

// share is the part of the time that kind of time was.
func (t cpuTimes) share(kind int64) float64 { return float64(kind) / float64(max(t.total(), 1)) }

// String gives the share of each kind of time.
func (t cpuTimes) String() string {
	return fmt.Sprintf("%.0f %% busy, %.0f %% idle, %.0f %% waiting for I/O, %.0f %% stolen",
		100*t.share(t.busy), 100*t.share(t.idle), 100*t.share(t.iowait), 100*t.share(t.steal))
}

// peakRSS is the process's high-water resident memory.
func (p *proc) peakRSS() int64 { return p.status("VmHWM:") }

// status is a memory field of the process's /proc status (VmHWM:,
// RssFile:, ...), in bytes.
func (p *proc) status(field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == field {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

var resultRE = regexp.MustCompile(`RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)`)

// wrk loads target with wrk for the duration and appends the row.
func (b *bench) wrk(p *proc, name, limit string, conns int, target, script string) (row, error) {
	step(name)
	path := filepath.Join(b.work, "run.lua")
	if err := os.WriteFile(path, []byte(script+doneLua), 0o644); err != nil {
		return row{}, err
	}
	m0 := startMeter(p.cpu)
	var profile *http.Response
	var profileErr error
	var profileDone sync.WaitGroup
	if b.profiles != "" && p.admin != "" {
		profileDone.Add(1)
		go func() {
			defer profileDone.Done()
			profile, profileErr = http.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", p.admin, int(b.duration.Seconds())-1))
		}()
	}
	cmd := exec.Command("wrk", "-t2", fmt.Sprintf("-c%d", conns), fmt.Sprintf("-d%ds", int(b.duration.Seconds())),
		"-s", path, target)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return row{}, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	m := resultRE.FindSubmatch(out)
	if m == nil {
		return row{}, fmt.Errorf("wrk printed no result:\n%s", out)
	}
	n := func(i int) int64 { v, _ := strconv.ParseInt(string(m[i]), 10, 64); return v }
	requests, micros, timeouts, non2xx, socket := n(1), n(2), n(5), n(6), n(7)
	r := row{
		name: name, limit: limit, limitIs: b.limits[limit], rate: float64(requests) / (float64(micros) / 1e6), errors: timeouts + non2xx + socket,
		p50: time.Duration(n(3)) * time.Microsecond, p99: time.Duration(n(4)) * time.Microsecond,
		cost: m0.stop(requests, childCPU(cmd)), peakRSS: p.peakRSS(),
	}
	profileDone.Wait()
	if profileErr == nil && profile != nil {
		b.saveProfile(name, ".pprof", profile)
		if heap, err := http.Get(p.admin + "/debug/pprof/heap"); err == nil {
			b.saveProfile(name, ".heap.pprof", heap)
		}
	}
	if r.errors > 0 {
		b.notes = append(b.notes, fmt.Sprintf("%s: %d errors: %d timed out (over wrk's 2 s), %d non-2xx answers, %d socket errors; the machine's CPU meanwhile: %s",
			name, r.errors, timeouts, non2xx, socket, r.machine))
	}
	b.rows = append(b.rows, r)
	return r, nil
}

// saveProfile writes the profile in resp to the profiles folder, named
// after the run, and closes resp.
func (b *bench) saveProfile(run, suffix string, resp *http.Response) {
	defer resp.Body.Close()
	f, err := os.Create(filepath.Join(b.profiles, strings.NewReplacer(" ", "_", "/", "_", ":", "", ",", "", "{", "", "}", "", "(", "", ")", "").Replace(run)+suffix))
	if err == nil {
		_, err = io.Copy(f, resp.Body)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		step(fmt.Sprintf("no profile of %s: %v", run, err))
	}
}

// doneLua prints wrk's summary on one line: requests, µs, p50 and p99 in
// µs, and the errors by kind: timeouts, non-2xx answers, socket errors.
const doneLua = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("\nRESULT %d %d %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.timeout, e.status, e.connect + e.read + e.write))
end
`

// seedLua gives each wrk thread its own random sequence.
const seedLua = `
local threads = 0
setup = function(thread) threads = threads + 1; thread:set("seed", threads) end
init = function(args) math.randomseed(os.time() * 100 + seed) end
`

// idListScript GETs the chirps with the ids, at random.
func idListScript(ids []int) string {
	list := make([]string, len(ids))
	for i, id := range ids {
		list[i] = strconv.Itoa(id)
	}
	return seedLua + fmt.Sprintf(`
local ids = {}
for id in string.gmatch("%s", "%%d+") do ids[#ids + 1] = id end
request = function() return wrk.format("GET", "/v1/chirps/" .. ids[math.random(#ids)]) end
`, strings.Join(list, ","))
}

func randomIDScript(n int) string {
	return seedLua + fmt.Sprintf(`
request = function() return wrk.format("GET", "/v1/chirps/" .. math.random(1, %d)) end
`, n)
}

func postScript(tokens []string) string {
	quoted, _ := json.Marshal(tokens)
	return seedLua + `
local tokens = ` + strings.NewReplacer("[", "{", "]", "}").Replace(string(quoted)) + `
request = function()
  local body = string.format('{"message":"load %d #bench","tags":["tag%d","tag%d"]}',
    math.random(1, 1000000000), math.random(0, 99), math.random(0, 99))
  return wrk.format("POST", "/v1/chirps", {["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. tokens[math.random(#tokens)]}, body)
end
`
}

// print writes the table: each row with its ratio to its limit.
func (b *bench) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\treq/s\tp50\tp99\terrors\tCPU/req: server\tPostgreSQL\tclient\tmachine busy\tpeak RSS\tratio to limit\t")
	ms := func(d time.Duration) string {
		if d == 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	}
	µs := func(d time.Duration) string {
		if d < 0 {
			return "–"
		}
		return fmt.Sprintf("%d µs", d.Microseconds())
	}
	for _, r := range b.rows {
		rss, ratio := "–", "(limit)"
		if r.peakRSS > 0 {
			rss = fmt.Sprintf("%d MB", r.peakRSS>>20)
		}
		if r.limit != "" {
			ratio = fmt.Sprintf("%.2f× %s", r.rate/r.limitIs, r.limit)
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%d\t%s\t%s\t%s\t%.0f %%\t%s\t%s\t\n", r.name, r.rate, ms(r.p50), ms(r.p99), r.errors,
			µs(r.server), µs(r.postgres), µs(r.client), 100*r.machine.share(r.machine.busy), rss, ratio)
	}
	tw.Flush()
	for _, n := range b.notes {
		fmt.Fprintln(w, n)
	}
	// A page's cost at the largest size against the smallest: the time a
	// client waits for it (1 / req/s at the same concurrency); and the
	// same with each cost in units of pgbench -S's, measured just before,
	// so that the machine's drift between the two falls out.
	byName := map[string]row{}
	for _, r := range b.rows {
		byName[r.name] = r
	}
	for _, r := range b.rows {
		small, ok := strings.CutPrefix(r.name, "PostgreSQL 10k: newest page")
		if !ok {
			continue
		}
		if big, ok := byName["PostgreSQL 1M: newest page"+small]; ok {
			fmt.Fprintf(w, "cost at 1M / cost at 10k, newest page%s: %.2f× (in units of pgbench -S measured before each: %.2f×)\n",
				small, r.rate/big.rate, (r.rate/r.limitIs)/(big.rate/big.limitIs))
		}
	}
}
