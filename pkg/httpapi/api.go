// Package httpapi is Chirper's HTTP API: the routing table, one file of
// handlers per resource, JSON and problem details, and the middleware every
// binary shares.
package httpapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"github.com/chirper/chirper/pkg/chirper"
)

// Group is an endpoint group, deployable on its own: its name and a handler
// for each of its routes, keyed "METHOD /path" as in Routes.
type Group struct {
	Name     string
	Handlers map[string]http.Handler
}

// Options are what every API handler needs, whatever groups it serves.
type Options struct {
	Logger    *slog.Logger
	Metrics   *Metrics
	Verifier  chirper.TokenVerifier // checks access tokens
	RateLimit *Limiter              // per client (user, else address); nil for none
	ClientIP  *ClientIP
	AccessLog AccessLog
	// DBTimeout bounds the database work of each request; 0 for no bound
	// (the work of a client that went away still ends after a grace).
	DBTimeout time.Duration
}

// NewHandler returns the API serving the groups, every one of their routes
// from the routing table and nothing else (see NewRouter), behind the
// middleware pipeline.
func NewHandler(o Options, groups ...Group) (http.Handler, error) {
	r, err := NewRouter(groups...)
	if err != nil {
		return nil, err
	}
	clientIP := o.ClientIP
	if clientIP == nil {
		clientIP = NewClientIP(nil)
	}
	// Outermost first: every request gets an id, metrics, a log line as
	// configured and panic recovery; a malformed query is refused; the
	// bearer token is verified (no database) so that the limit can count
	// its user; the client's limit is applied; a bad token is refused only
	// then, so that a flood of them is limited too; the database work gets
	// its deadline; and the router calls the handler.
	return pipeline(r,
		observe(o.Logger, o.Metrics, clientIP.Of, o.AccessLog),
		wellFormedQuery,
		identify(o.Verifier),
		rateLimit(o.RateLimit),
		authenticate(o.Logger),
		deadline(o.DBTimeout),
	), nil
}

// NewRouter routes the groups' routes of the routing table to their
// handlers. Other paths answer 404; a method that the table gives to a group
// not mounted here also answers 404 (this binary does not own it), and any
// other method 405 with Allow; all as problem details.
func NewRouter(groups ...Group) (*mux.Router, error) {
	r := mux.NewRouter()
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		writeProblem(w, req, http.StatusNotFound, "no such resource", nil)
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var match mux.RouteMatch
		if fullTable().Match(req, &match) && match.MatchErr == nil {
			writeProblem(w, req, http.StatusNotFound, "no such resource here: another service serves it", nil)
			return
		}
		w.Header().Set("Allow", strings.Join(allowedMethods(r, req), ", "))
		writeProblem(w, req, http.StatusMethodNotAllowed, fmt.Sprintf("%s is not allowed here", req.Method), nil)
	})
	for _, g := range groups {
		if err := mount(r, g); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// fullTable matches requests against every route of the table.
var fullTable = sync.OnceValue(func() *mux.Router {
	r := mux.NewRouter()
	for _, route := range Routes {
		r.Handle(route.Path, http.NotFoundHandler()).Methods(route.methods()...)
	}
	return r
})

// mount registers the group's handlers on r in routing-table order, and
// fails unless they are exactly the group's routes in the table.
func mount(r *mux.Router, g Group) error {
	seen := 0
	for _, route := range Routes {
		if route.Group != g.Name {
			continue
		}
		key := route.Method + " " + route.Path
		h, ok := g.Handlers[key]
		if !ok {
			return fmt.Errorf("httpapi: group %s has no handler for %s", g.Name, key)
		}
		seen++
		r.Handle(route.Path, named(PlainTemplate(route.Path), h)).Methods(route.methods()...)
	}
	if seen != len(g.Handlers) {
		var extra []string
		for key := range g.Handlers {
			if !slices.ContainsFunc(Routes, func(rt Route) bool { return rt.Group == g.Name && rt.Method+" "+rt.Path == key }) {
				extra = append(extra, key)
			}
		}
		return fmt.Errorf("httpapi: group %s has handlers for routes not in the routing table: %v", g.Name, extra)
	}
	return nil
}

// allowedMethods lists the methods that some route serves at req's path.
func allowedMethods(r *mux.Router, req *http.Request) []string {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := req.Clone(req.Context())
		probe.Method = m
		var match mux.RouteMatch
		if r.Match(probe, &match) && match.MatchErr == nil {
			allowed = append(allowed, m)
		}
	}
	sort.Strings(allowed)
	return allowed
}
