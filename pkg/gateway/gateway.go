// Package gateway is a path-and-method router in front of the services,
// built from the API's routing table (httpapi.Routes): what the AWS load
// balancer's listener rules do, for local runs and docker compose.
package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/chirper/chirper/pkg/httpapi"
)

// Upstreams are the instances of each endpoint group's service, by group
// name.
type Upstreams map[string][]*url.URL

// New returns a handler that sends each request of the routing table to an
// instance of the service that owns it, in turn. Requests the table does not
// know are answered here: 404, or 405 with Allow. Every request gets an
// X-Request-Id, which the services keep. Live streams pass through as they
// come (ReverseProxy flushes text/event-stream at once), outliving the
// server's timeouts: each of their writes gets writeTimeout instead.
func New(upstreams Upstreams, log *slog.Logger, writeTimeout time.Duration) (http.Handler, error) {
	proxies := make(map[string]http.Handler)
	groups := make(map[string]httpapi.Group)
	for _, route := range httpapi.Routes {
		g, ok := groups[route.Group]
		if !ok {
			targets := upstreams[route.Group]
			if len(targets) == 0 {
				return nil, fmt.Errorf("gateway: no upstream for the %s group", route.Group)
			}
			g = httpapi.Group{Name: route.Group, Handlers: map[string]http.Handler{}}
			groups[route.Group] = g
			proxies[route.Group] = newProxy(targets, log)
		}
		h := proxies[route.Group]
		if route.LongLived() {
			h = longLived(h, writeTimeout)
		}
		g.Handlers[route.Method+" "+route.Path] = h
	}
	list := make([]httpapi.Group, 0, len(groups))
	for _, g := range groups {
		list = append(list, g)
	}
	r, err := httpapi.NewRouter(list...)
	if err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Header.Get("X-Request-Id") == "" {
			var b [12]byte
			_, _ = rand.Read(b[:])
			req.Header.Set("X-Request-Id", hex.EncodeToString(b[:]))
		}
		r.ServeHTTP(&requestIDWriter{ResponseWriter: w, id: req.Header.Get("X-Request-Id")}, req)
	}), nil
}

// newProxy returns a reverse proxy that spreads requests over targets round
// robin and answers 503 when the chosen instance cannot be reached.
func newProxy(targets []*url.URL, log *slog.Logger) http.Handler {
	var next atomic.Uint64
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			target := targets[next.Add(1)%uint64(len(targets))]
			pr.SetURL(target)
			// As the AWS load balancer does, pass the query on as it came:
			// ReverseProxy drops the pairs it cannot parse, and the
			// service must see them to refuse the request.
			pr.Out.URL.RawQuery = pr.In.URL.RawQuery
			pr.SetXForwarded()
			pr.Out.Host = pr.In.Host
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.Is(err, http.ErrAbortHandler) {
				panic(err)
			}
			log.Warn("upstream unavailable", "request_id", r.Header.Get("X-Request-Id"), "host", r.URL.Host, "err", err)
			httpapi.WriteProblem(w, r, http.StatusServiceUnavailable, "the service behind this route is unavailable")
		},
	}
}

// longLived lifts the server's read and write deadlines off a request that
// lasts as long as its client reads, and bounds each write instead, so that
// a client that stops reading is still let go.
func longLived(next http.Handler, writeTimeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Time{})
		next.ServeHTTP(&deadlineWriter{ResponseWriter: w, rc: rc, timeout: writeTimeout}, r)
	})
}

// deadlineWriter sets a write deadline before each write.
type deadlineWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

func (d *deadlineWriter) Write(b []byte) (int, error) {
	if err := d.rc.SetWriteDeadline(time.Now().Add(d.timeout)); err != nil {
		return 0, err
	}
	return d.ResponseWriter.Write(b)
}

func (d *deadlineWriter) Unwrap() http.ResponseWriter { return d.ResponseWriter }

// requestIDWriter gives the answers the gateway makes itself (404, 405,
// 503) the request's X-Request-Id, as the services give theirs.
type requestIDWriter struct {
	http.ResponseWriter
	id          string
	wroteHeader bool
}

func (w *requestIDWriter) WriteHeader(code int) {
	if !w.wroteHeader && w.Header().Get("X-Request-Id") == "" {
		w.Header().Set("X-Request-Id", w.id)
	}
	w.wroteHeader = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *requestIDWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *requestIDWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
