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

	"github.com/chirper/chirper/pkg/httpapi"
)

// Upstreams are the instances of each endpoint group's service, by group
// name.
type Upstreams map[string][]*url.URL

// New returns a handler that sends each request of the routing table to an
// instance of the service that owns it, in turn. Requests the table does not
// know are answered here: 404, or 405 with Allow. Every request gets an
// X-Request-Id, which the services keep.
func New(upstreams Upstreams, log *slog.Logger) (http.Handler, error) {
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
		g.Handlers[route.Method+" "+route.Path] = proxies[route.Group]
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
		r.ServeHTTP(w, req)
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
