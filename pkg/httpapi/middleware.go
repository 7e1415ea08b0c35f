package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/chirper/chirper/pkg/chirper"
)

type ctxKey int

const infoKey ctxKey = iota

// requestInfo is what the middleware learns about a request as it goes
// down the pipeline, for the log line and the metrics written on the way
// back.
type requestInfo struct {
	id       string
	route    string
	client   string
	claims   *chirper.AccessClaims // a valid bearer token's
	tokenErr error                 // why the bearer token is refused
	user     *chirper.User         // the token's user, once a handler asked
	left     <-chan struct{}       // closed when the client goes away
}

// clientLeft reports whether the client went away. The database work of
// its request may go on for a while after (dbContext); work that only the
// client would use, such as a bcrypt hash, need not.
func (ri *requestInfo) clientLeft() bool {
	select {
	case <-ri.left:
		return true
	default:
		return false
	}
}

func info(ctx context.Context) *requestInfo {
	if i, ok := ctx.Value(infoKey).(*requestInfo); ok {
		return i
	}
	return &requestInfo{}
}

func requestID(ctx context.Context) string { return info(ctx).id }

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// middleware is one stage of the pipeline.
type middleware func(http.Handler) http.Handler

// pipeline runs h behind the stages, the first outermost.
func pipeline(h http.Handler, stages ...middleware) http.Handler {
	for i := len(stages) - 1; i >= 0; i-- {
		h = stages[i](h)
	}
	return h
}

// AccessLog says what observe logs of a request that went well.
type AccessLog struct {
	Every bool          // a line for every request
	Slow  time.Duration // a line (at WARN) for any slower than this; 0 for none
}

// observe gives the request an id, records its metrics and logs it as
// access says, and turns a panic into a 500. Errors are logged where they
// are answered (writeError).
func observe(log *slog.Logger, m *Metrics, clientIP func(*http.Request) string, access AccessLog) middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ri := &requestInfo{id: incomingRequestID(r), route: "unmatched", client: clientIP(r), left: r.Context().Done()}
			r = r.WithContext(context.WithValue(r.Context(), infoKey, ri))
			w.Header().Set("X-Request-Id", ri.id)
			sw := &statusWriter{ResponseWriter: w}
			m.inFlight.Inc()
			defer func() {
				if p := recover(); p != nil {
					if p == http.ErrAbortHandler {
						panic(p)
					}
					log.ErrorContext(r.Context(), "panic", "request_id", ri.id, "panic", p, "stack", string(debug.Stack()))
					if sw.status == 0 {
						writeProblem(sw, r, http.StatusInternalServerError, "an internal error occurred; quote the request id when reporting it", nil)
					}
				}
				m.inFlight.Dec()
				elapsed := time.Since(start)
				m.observer(ri.route, r.Method, sw.status).Observe(elapsed.Seconds())
				level := slog.LevelInfo
				switch {
				case access.Slow > 0 && elapsed > access.Slow && !longLived(ri.route):
					level = slog.LevelWarn
				case !access.Every:
					return
				}
				if !log.Enabled(r.Context(), level) {
					return
				}
				// The record goes to the handler as it is: with no caller
				// (the line would always name this one), and the duration
				// in whole microseconds, as slog's JSON formats an integer
				// in place but a float through encoding/json.
				rec := slog.NewRecord(start.Add(elapsed), level, "request", 0)
				rec.AddAttrs(
					slog.String("request_id", ri.id), slog.String("method", r.Method), slog.String("route", ri.route),
					slog.Int("status", sw.status), slog.Int("bytes", sw.bytes),
					slog.Int64("duration_us", elapsed.Microseconds()), slog.String("client", ri.client),
				)
				if ri.claims != nil {
					rec.AddAttrs(slog.Int64("user_id", ri.claims.UserID))
				}
				_ = log.Handler().Handle(r.Context(), rec)
			}()
			next.ServeHTTP(sw, r)
			if ri.clientLeft() && sw.status != 0 && !longLived(ri.route) {
				// The client went away before the answer was made: it
				// read none of it, whatever the handler wrote.
				sw.status = StatusClientClosedRequest
			}
		})
	}
}

// incomingRequestID keeps a well-formed X-Request-Id from the load balancer
// and makes one otherwise.
func incomingRequestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); len(id) >= 8 && len(id) <= 64 && isToken(id) {
		return id
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func isToken(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// wellFormedQuery answers 400 to a request whose query string does not
// parse, which url.Values would otherwise serve as if the broken pairs were
// not there (a limit=%zz read as the default limit).
func wellFormedQuery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
			badRequest(w, r, "the query string is malformed: each pair must be name=value, %-escapes must be complete and ';' is not a separator")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// deadline gives the database work of a request its context (dbContext):
// bounded by d, if d > 0, past which the request is a 503 (writeError), and
// by the grace after its client went away.
func deadline(d time.Duration) middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if longLived(r.URL.Path) { // lasts while its client reads; it bounds its own reads
				next.ServeHTTP(w, r)
				return
			}
			ctx, cancel := dbContext(r.Context(), d)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// clientGoneGrace is how long the database work of a request may go on
// after its client went away.
//
// Cancelling a query in flight costs more than letting it end: lib/pq sends
// PostgreSQL a cancel request on a new connection and closes the one it
// cancelled, so that the pool dials a cold backend in its place. When a
// load balancer or a load generator drops many requests at once, on a busy
// machine that is dozens of new backends, and the requests that wait for
// them take seconds. A query that ends within the grace keeps its
// connection; one that does not is cancelled, so a slow query still cannot
// hold the connection for long after no one waits for it.
const clientGoneGrace = 100 * time.Millisecond

// dbContext returns the context for the database work of a request with
// context parent: it ends at timeout d (none if d <= 0), or clientGoneGrace
// after parent is cancelled (the client went away), whichever comes first,
// and keeps parent's values.
func dbContext(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	var (
		ctx    context.Context
		cancel context.CancelFunc
	)
	if d > 0 {
		ctx, cancel = context.WithTimeout(context.WithoutCancel(parent), d)
	} else {
		ctx, cancel = context.WithCancel(context.WithoutCancel(parent))
	}
	stop := context.AfterFunc(parent, func() { time.AfterFunc(clientGoneGrace, cancel) })
	return ctx, func() {
		stop()
		cancel()
	}
}

// named records the template of the route that matched, for the log and
// metrics. mount wraps each handler in it, with the template made plain
// once rather than on every request.
func named(template string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info(r.Context()).route = template
		next.ServeHTTP(w, r)
	})
}

// identify checks the bearer token's signature and claims, with no
// database work, so that the rate limit can count the request against its
// user. The verdict waits in the request info for authenticate, which runs
// after the limit: a flood of bad tokens is limited per address like any
// anonymous traffic.
func identify(verifier chirper.TokenVerifier) middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ri := info(r.Context())
			if h := r.Header.Get("Authorization"); h != "" {
				token, err := bearerToken(h)
				if err == nil {
					ri.claims, err = verifier.Verify(token)
				}
				ri.tokenErr = err
			}
			next.ServeHTTP(w, r)
		})
	}
}

// bearerToken returns the token of an Authorization header's Bearer
// credentials (RFC 6750). EUNAUTHORIZED for any other header.
func bearerToken(header string) (string, error) {
	scheme, token, ok := strings.Cut(header, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || strings.ContainsAny(token, " \t") {
		return "", chirper.Errorf(chirper.EUNAUTHORIZED, "the Authorization header must be: Bearer <access token>")
	}
	return token, nil
}

// authenticate refuses a request whose bearer token is bad with 401. A
// valid token's user is looked up only when a handler asks for it
// (requireUser), so that public reads cost no query for the token.
func authenticate(log *slog.Logger) middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := info(r.Context()).tokenErr; err != nil {
				writeError(w, r, log, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// requireUser returns the authenticated user, or answers and returns nil:
// 401 without a token or when the token's user no longer exists, the
// store's error otherwise. The stored user counts, not the token's claims,
// so that a deletion takes effect at once.
func requireUser(w http.ResponseWriter, r *http.Request, log *slog.Logger, users chirper.UserStore) *chirper.User {
	ri := info(r.Context())
	if ri.user != nil {
		return ri.user
	}
	return findTokenUser(w, r, log, users, false)
}

// requireAdmin returns the authenticated admin, or answers 401, or 403 with
// refusal, and returns nil. The role is read past the caches, so that a
// role just changed by another process counts at once.
func requireAdmin(w http.ResponseWriter, r *http.Request, log *slog.Logger, users chirper.UserStore, refusal string) *chirper.User {
	u := findTokenUser(w, r, log, users, true)
	if u != nil && u.Role != chirper.RoleAdmin {
		writeProblem(w, r, http.StatusForbidden, refusal, nil)
		return nil
	}
	return u
}

// findTokenUser looks up the user of the request's token, past the caches
// when fresh.
func findTokenUser(w http.ResponseWriter, r *http.Request, log *slog.Logger, users chirper.UserStore, fresh bool) *chirper.User {
	ri := info(r.Context())
	ctx := r.Context()
	if fresh {
		ctx = chirper.Fresh(ctx)
	}
	if ri.claims == nil {
		writeProblem(w, r, http.StatusUnauthorized, "this needs an access token: Authorization: Bearer <token>", nil)
		return nil
	}
	u, err := users.FindUserByID(ctx, ri.claims.UserID)
	switch {
	case chirper.ErrorCode(err) == chirper.ENOTFOUND:
		writeProblem(w, r, http.StatusUnauthorized, "the access token's user no longer exists", nil)
		return nil
	case err != nil:
		writeError(w, r, log, err)
		return nil
	}
	ri.user = u
	return u
}

// ClientIP finds the address of the client: the peer, or, when the peer is
// a trusted proxy, the nearest address in X-Forwarded-For that is not.
type ClientIP struct {
	trusted []netip.Prefix
}

// NewClientIP returns a ClientIP that trusts X-Forwarded-For from the
// proxies in the CIDR prefixes.
func NewClientIP(trustedProxies []netip.Prefix) *ClientIP {
	return &ClientIP{trusted: trustedProxies}
}

func (c *ClientIP) isTrusted(a netip.Addr) bool {
	for _, p := range c.trusted {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// Of returns the client address of r.
func (c *ClientIP) Of(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	switch {
	case err != nil:
		return host
	case !c.isTrusted(peer):
		return peer.Unmap().String() // one spelling of an address, one key
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if !c.isTrusted(a) {
			return a.Unmap().String()
		}
	}
	return peer.Unmap().String()
}

// PlainTemplate drops the patterns from a route template's variables:
// "/v1/chirps/{id:[0-9]+}" becomes "/v1/chirps/{id}".
func PlainTemplate(tpl string) string {
	var b strings.Builder
	for {
		open := strings.IndexByte(tpl, '{')
		if open < 0 {
			b.WriteString(tpl)
			return b.String()
		}
		end := strings.IndexByte(tpl[open:], '}')
		if end < 0 {
			b.WriteString(tpl)
			return b.String()
		}
		name, _, _ := strings.Cut(tpl[open+1:open+end], ":")
		b.WriteString(tpl[:open] + "{" + name + "}")
		tpl = tpl[open+end+1:]
	}
}
