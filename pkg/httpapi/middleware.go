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

	"github.com/gorilla/mux"

	"github.com/chirper/chirper/pkg/chirper"
)

type ctxKey int

const infoKey ctxKey = iota

// requestInfo is what the middleware learns about a request as it goes
// down the chain, for the log line and the metrics written on the way back.
type requestInfo struct {
	id       string
	route    string
	client   string
	claims   *chirper.AccessClaims // a valid bearer token's
	tokenErr error                 // why the bearer token is refused
	user     *chirper.User         // the token's user, once a handler asked
	users    chirper.UserStore     // where requireUser finds it
	log      *slog.Logger
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

// observe gives the request an id, logs one line per request and records
// its metrics, and turns a panic into a 500.
func observe(log *slog.Logger, m *Metrics, clientIP func(*http.Request) string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &requestInfo{id: incomingRequestID(r), route: "unmatched", client: clientIP(r)}
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
			m.observe(ri.route, r.Method, sw.status, elapsed)
			attrs := []any{
				"request_id", ri.id, "method", r.Method, "route", ri.route,
				"status", sw.status, "bytes", sw.bytes, "duration_ms", float64(elapsed.Microseconds()) / 1000,
				"client", ri.client,
			}
			if ri.claims != nil {
				attrs = append(attrs, "user_id", ri.claims.UserID)
			}
			log.InfoContext(r.Context(), "request", attrs...)
		}()
		next.ServeHTTP(sw, r)
	})
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

// routeName records the matched route template for the log and metrics; it
// runs inside the router, where the match is known.
func routeName(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if route := mux.CurrentRoute(r); route != nil {
			if tpl, err := route.GetPathTemplate(); err == nil {
				info(r.Context()).route = PlainTemplate(tpl)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// identify checks the bearer token's signature and claims, with no
// database work, so that the rate limit can count the request against its
// user. The verdict waits in the request info for authenticate, which runs
// after the limit: a flood of bad tokens is limited per address like any
// anonymous traffic.
func identify(verifier chirper.TokenVerifier, next http.Handler) http.Handler {
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
func authenticate(log *slog.Logger, users chirper.UserStore, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := info(r.Context())
		if ri.tokenErr != nil {
			writeError(w, r, log, ri.tokenErr)
			return
		}
		ri.users, ri.log = users, log
		next.ServeHTTP(w, r)
	})
}

// requireUser returns the authenticated user, or answers and returns nil:
// 401 without a token or when the token's user no longer exists, the
// store's error otherwise. The stored user counts, not the token's claims,
// so that a role change or a deletion takes effect at once.
func requireUser(w http.ResponseWriter, r *http.Request) *chirper.User {
	ri := info(r.Context())
	switch {
	case ri.user != nil:
		return ri.user
	case ri.claims == nil:
		writeProblem(w, r, http.StatusUnauthorized, "this needs an access token: Authorization: Bearer <token>", nil)
		return nil
	}
	u, err := ri.users.FindUserByID(r.Context(), ri.claims.UserID)
	switch {
	case chirper.ErrorCode(err) == chirper.ENOTFOUND:
		writeProblem(w, r, http.StatusUnauthorized, "the access token's user no longer exists", nil)
		return nil
	case err != nil:
		writeError(w, r, ri.log, err)
		return nil
	}
	ri.user = u
	return u
}

// requireAdmin returns the authenticated admin, or answers 401 or 403 and
// returns nil.
func requireAdmin(w http.ResponseWriter, r *http.Request) *chirper.User {
	u := requireUser(w, r)
	if u != nil && u.Role != chirper.RoleAdmin {
		writeProblem(w, r, http.StatusForbidden, "this needs the admin role", nil)
		return nil
	}
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
