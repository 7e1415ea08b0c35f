package httpapi

import (
	"container/list"
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

// DefaultMaxKeys is how many keys a Limiter counts at most when
// NewLimiter is given none.
const DefaultMaxKeys = 50_000

// Limiter counts requests per key in fixed windows. Fixed windows give exact
// RateLimit-* headers: how many are left and when the count starts again.
//
// Its memory is bounded: it counts at most maxKeys keys at once, and when a
// new key comes to a full limiter the key whose window started first is
// forgotten. Windows that ended are swept as requests come and by Sweep.
type Limiter struct {
	limit   RateLimit
	maxKeys int
	now     func() time.Time

	mu      sync.Mutex
	windows map[string]*list.Element // of *window
	order   *list.List               // windows, the oldest start first
	peak    int                      // most keys since the map was last made
}

type window struct {
	key   string
	start time.Time
	count int
}

// NewLimiter returns a Limiter for the limit that counts at most maxKeys
// keys (DefaultMaxKeys when maxKeys is 0 or less).
func NewLimiter(limit RateLimit, maxKeys int) *Limiter {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	return &Limiter{limit: limit, maxKeys: maxKeys, now: time.Now, windows: make(map[string]*list.Element), order: list.New()}
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

// Keys is how many keys the limiter counts now.
func (l *Limiter) Keys() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.windows)
}

func (l *Limiter) off() bool { return l == nil || l.limit.Requests <= 0 }

// count counts a request for key.
func (l *Limiter) count(key string) decision {
	if l.off() {
		return decision{allowed: true, remaining: math.MaxInt}
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	var w *window
	if e, ok := l.windows[key]; ok {
		w = e.Value.(*window)
		if now.Sub(w.start) >= l.limit.Window {
			w.start, w.count = now, 0
			l.order.MoveToBack(e)
		}
	} else {
		if len(l.windows) >= l.maxKeys {
			oldest := l.order.Front()
			delete(l.windows, oldest.Value.(*window).key)
			l.order.Remove(oldest)
		}
		w = &window{key: key, start: now}
		l.windows[key] = l.order.PushBack(w)
		l.peak = max(l.peak, len(l.windows))
	}
	w.count++
	return decision{
		allowed:   w.count <= l.limit.Requests,
		remaining: max(l.limit.Requests-w.count, 0),
		reset:     w.start.Add(l.limit.Window).Sub(now),
	}
}

// sweep forgets the windows that ended. They are in start order, so it
// stops at the first one still running. A map does not shrink when keys go,
// so once most of a burst's keys are gone it is made anew.
func (l *Limiter) sweep(now time.Time) {
	for e := l.order.Front(); e != nil; e = l.order.Front() {
		w := e.Value.(*window)
		if now.Sub(w.start) < l.limit.Window {
			break
		}
		delete(l.windows, w.key)
		l.order.Remove(e)
	}
	if l.peak > 1024 && len(l.windows) < l.peak/4 {
		fresh := make(map[string]*list.Element, len(l.windows))
		for k, e := range l.windows {
			fresh[k] = e
		}
		l.windows, l.peak = fresh, len(fresh)
	}
}

// Sweep forgets the windows that ended; run it on a timer (once a Window)
// so that a quiet limiter gives back the memory of its last burst.
func (l *Limiter) Sweep() {
	if l.off() {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(l.now())
}

// Window is the length of the limiter's windows.
func (l *Limiter) Window() time.Duration { return l.limit.Window }

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
	if l.off() {
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
func rateLimit(l *Limiter) middleware {
	return func(next http.Handler) http.Handler {
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
}
