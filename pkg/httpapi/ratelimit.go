package httpapi

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// RateLimit is a number of requests allowed per window; zero Requests turns
// the limit off.
type RateLimit struct {
	Requests int
	Window   time.Duration
}

// Limiter counts requests per key in fixed windows. Fixed windows give exact
// RateLimit-* headers: how many are left and when the count starts again.
type Limiter struct {
	limit     RateLimit
	now       func() time.Time
	mu        sync.Mutex
	windows   map[string]*window
	lastSweep time.Time
}

type window struct {
	start time.Time
	count int
}

// NewLimiter returns a Limiter for the limit.
func NewLimiter(limit RateLimit) *Limiter {
	return &Limiter{limit: limit, now: time.Now, windows: make(map[string]*window)}
}

// decision is the outcome of one request's count.
type decision struct {
	allowed   bool
	remaining int
	reset     time.Duration
}

// Allow counts a request for key and reports whether it is within the
// limit.
func (l *Limiter) Allow(key string) bool { return l.count(key).allowed }

// count counts a request for key.
func (l *Limiter) count(key string) decision {
	if l == nil || l.limit.Requests <= 0 {
		return decision{allowed: true, remaining: math.MaxInt}
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > l.limit.Window {
		for k, w := range l.windows {
			if now.Sub(w.start) >= l.limit.Window {
				delete(l.windows, k)
			}
		}
		l.lastSweep = now
	}
	w := l.windows[key]
	if w == nil || now.Sub(w.start) >= l.limit.Window {
		w = &window{start: now}
		l.windows[key] = w
	}
	w.count++
	return decision{
		allowed:   w.count <= l.limit.Requests,
		remaining: max(l.limit.Requests-w.count, 0),
		reset:     w.start.Add(l.limit.Window).Sub(now),
	}
}

// setHeaders writes the RateLimit-* headers of d (and Retry-After when the
// request is refused).
func (l *Limiter) setHeaders(w http.ResponseWriter, d decision) {
	secs := strconv.Itoa(int(math.Ceil(d.reset.Seconds())))
	h := w.Header()
	h.Set("RateLimit-Limit", strconv.Itoa(l.limit.Requests))
	h.Set("RateLimit-Remaining", strconv.Itoa(d.remaining))
	h.Set("RateLimit-Reset", secs)
	if !d.allowed {
		h.Set("Retry-After", secs)
	}
}

// check counts a request for key; when over the limit it answers 429 and
// returns false.
func (l *Limiter) check(w http.ResponseWriter, r *http.Request, key string) bool {
	if l == nil || l.limit.Requests <= 0 {
		return true
	}
	d := l.count(key)
	l.setHeaders(w, d)
	if !d.allowed {
		writeProblem(w, r, http.StatusTooManyRequests, "too many requests; try again after Retry-After seconds", nil)
	}
	return d.allowed
}

// rateLimit applies the general limit per client: the user of a valid
// token, else the client address.
func rateLimit(l *Limiter, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := info(r.Context())
		key := "ip:" + ri.client
		if ri.claims != nil {
			key = "user:" + itoa(ri.claims.UserID)
		}
		if l.check(w, r, key) {
			next.ServeHTTP(w, r)
		}
	})
}
