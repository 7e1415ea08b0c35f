// Package server is the process lifecycle every Chirper binary shares: the
// public listener (optionally TLS with HTTP/2), the admin listener with
// Prometheus metrics and pprof, health and readiness, and graceful
// shutdown.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/chirper/chirper/pkg/config"
)

// App is what a binary serves.
type App struct {
	Handler http.Handler                // the API
	Ready   func(context.Context) error // is the database reachable?
	// Shutdown, when shutdown begins, ends the requests that would never
	// end by themselves (live streams); nil for none.
	Shutdown func()
	Close    func() error // after the last request: flush, close the database
}

// Server runs an App until its context ends.
type Server struct {
	cfg      *config.Config
	log      *slog.Logger
	app      App
	reg      *prometheus.Registry
	public   *http.Server
	admin    *http.Server
	publicLn net.Listener
	adminLn  net.Listener
	draining atomic.Bool
	handlers inFlight
	// cancelRequests ends the contexts of the requests still running when
	// the grace period is over.
	cancelRequests context.CancelFunc
}

// inFlight counts the requests being handled, so that shutdown can wait for
// the last one before it closes what they use.
type inFlight struct {
	mu   sync.Mutex
	n    int
	idle sync.Cond
}

func (f *inFlight) track(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.n++
		f.mu.Unlock()
		defer func() {
			f.mu.Lock()
			if f.n--; f.n == 0 {
				f.idle.Broadcast()
			}
			f.mu.Unlock()
		}()
		next.ServeHTTP(w, r)
	})
}

// wait returns once no request is being handled.
func (f *inFlight) wait() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for f.n > 0 {
		f.idle.Wait()
	}
}

// New returns a Server for the app; metrics registered with reg are served
// on the admin listener.
func New(cfg *config.Config, log *slog.Logger, reg *prometheus.Registry, app App) *Server {
	s := &Server{cfg: cfg, log: log, app: app, reg: reg}
	s.handlers.idle.L = &s.handlers.mu
	mux := http.NewServeMux()
	s.health(mux)
	mux.Handle("/", app.Handler)
	requests, cancel := context.WithCancel(context.Background())
	s.cancelRequests = cancel
	s.public = &http.Server{
		Handler:           s.handlers.track(mux),
		BaseContext:       func(net.Listener) context.Context { return requests },
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if app.Shutdown != nil {
		s.public.RegisterOnShutdown(app.Shutdown)
	}
	admin := http.NewServeMux()
	s.health(admin)
	admin.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	admin.HandleFunc("/debug/pprof/", pprof.Index)
	admin.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	admin.HandleFunc("/debug/pprof/profile", pprof.Profile)
	admin.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	admin.HandleFunc("/debug/pprof/trace", pprof.Trace)
	s.admin = &http.Server{Handler: admin, ReadHeaderTimeout: cfg.ReadHeaderTimeout, IdleTimeout: cfg.IdleTimeout}
	return s
}

func (s *Server) health(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if s.draining.Load() {
			writeStatus(w, http.StatusServiceUnavailable, "shutting down")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.app.Ready(ctx); err != nil {
			s.log.WarnContext(ctx, "not ready", "err", err)
			writeStatus(w, http.StatusServiceUnavailable, "database unavailable")
			return
		}
		writeStatus(w, http.StatusOK, "ready")
	})
}

func writeStatus(w http.ResponseWriter, code int, status string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	w.WriteHeader(code)
	fmt.Fprintf(w, "{\"status\":%q}\n", status)
}

// Handler is the public listener's handler: the API with /healthz and
// /readyz.
func (s *Server) Handler() http.Handler { return s.public.Handler }

// Open listens on the configured addresses, so that a taken port fails at
// once, before anything is served.
func (s *Server) Open() error {
	ln, err := net.Listen("tcp", s.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("server: public listener: %w", err)
	}
	s.publicLn = ln
	if s.cfg.AdminAddr != "" {
		ln, err := net.Listen("tcp", s.cfg.AdminAddr)
		if err != nil {
			s.publicLn.Close()
			return fmt.Errorf("server: admin listener: %w", err)
		}
		s.adminLn = ln
	}
	return nil
}

// Addr is the public listener's address (after Open).
func (s *Server) Addr() net.Addr { return s.publicLn.Addr() }

// AdminAddr is the admin listener's address, nil when it is off.
func (s *Server) AdminAddr() net.Addr {
	if s.adminLn == nil {
		return nil
	}
	return s.adminLn.Addr()
}

// servingMsg is the log message that announces the bound addresses.
const servingMsg = "serving"

// ServingAddrs reads the addresses a server listens on from its "serving"
// log line, so that a process started on port 0 can be found (tests, the
// local multi-service run). ok is false for any other line.
func ServingAddrs(logLine []byte) (addr, admin string, ok bool) {
	var l struct {
		Msg       string `json:"msg"`
		Addr      string `json:"addr"`
		AdminAddr string `json:"admin_addr"`
	}
	if json.Unmarshal(logLine, &l) != nil || l.Msg != servingMsg || l.Addr == "" {
		return "", "", false
	}
	return l.Addr, l.AdminAddr, true
}

// Serve serves until ctx ends, then shuts down gracefully: readiness fails
// and keep-alive ends first (each answer closes its connection, so no
// client sends on a closing one); after ShutdownDelay the listeners close;
// in-flight requests get ShutdownGrace to finish, after which their
// contexts are cancelled; and only once the last handler has returned does
// the app close (flushing queued writes, then the database). Open must come
// first.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 2)
	go func() {
		var err error
		if s.cfg.TLSCertFile != "" {
			err = s.public.ServeTLS(s.publicLn, s.cfg.TLSCertFile, s.cfg.TLSKeyFile)
		} else {
			err = s.public.Serve(s.publicLn)
		}
		errc <- err
	}()
	if s.adminLn != nil {
		go func() { errc <- s.admin.Serve(s.adminLn) }()
	}
	admin := ""
	if a := s.AdminAddr(); a != nil {
		admin = a.String()
	}
	s.log.Info(servingMsg, "addr", s.Addr().String(), "tls", s.cfg.TLSCertFile != "", "admin_addr", admin)

	var serveErr error
	select {
	case <-ctx.Done():
	case err := <-errc:
		serveErr = fmt.Errorf("server: %w", err)
	}

	s.draining.Store(true)
	s.public.SetKeepAlivesEnabled(false)
	if serveErr == nil && s.cfg.ShutdownDelay > 0 {
		s.log.Info("draining: readiness fails while the load balancer notices", "delay", s.cfg.ShutdownDelay.String())
		time.Sleep(s.cfg.ShutdownDelay)
	}
	s.log.Info("shutting down", "grace", s.cfg.ShutdownGrace.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownGrace)
	defer cancel()
	err := s.public.Shutdown(shutdownCtx)
	if err != nil {
		err = fmt.Errorf("server: in-flight requests did not finish within the grace period: %w", err)
		s.log.Warn("grace period over: cancelling the requests still running")
	}
	s.cancelRequests()
	s.handlers.wait()
	err = errors.Join(serveErr, err, s.admin.Shutdown(shutdownCtx))
	if s.app.Close != nil {
		err = errors.Join(err, s.app.Close())
	}
	s.log.Info("stopped")
	return err
}
