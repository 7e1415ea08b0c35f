package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chirper/chirper/pkg/httpapi"
	"github.com/gorilla/mux"
)

func TestClientIP(t *testing.T) {
	c := httpapi.NewClientIP([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})
	tests := []struct {
		name, remote, xff, want string
	}{
		{"Direct", "203.0.113.7:5000", "", "203.0.113.7"},
		{"UntrustedPeerXFFIgnored", "203.0.113.7:5000", "198.51.100.1", "203.0.113.7"},
		{"TrustedProxy", "10.1.2.3:5000", "198.51.100.1", "198.51.100.1"},
		{"SpoofedLeftmostIgnored", "10.1.2.3:5000", "1.1.1.1, 198.51.100.1", "198.51.100.1"},
		{"ChainOfProxies", "10.1.2.3:5000", "198.51.100.1, 10.9.9.9", "198.51.100.1"},
		{"GarbageXFF", "10.1.2.3:5000", "not-an-ip", "10.1.2.3"},
		{"IPv6", "[2001:db8::1]:443", "", "2001:db8::1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			if got := c.Of(r); got != tc.want {
				t.Fatalf("Of = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPlainTemplate(t *testing.T) {
	for in, want := range map[string]string{
		"/v1/chirps/{id:[0-9]+}":      "/v1/chirps/{id}",
		"/v1/users/{username}/chirps": "/v1/users/{username}/chirps",
		"/v1/chirps":                  "/v1/chirps",
	} {
		if got := httpapi.PlainTemplate(in); got != want {
			t.Errorf("PlainTemplate(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLimiter(t *testing.T) {
	l := httpapi.NewLimiter(httpapi.RateLimit{Requests: 2, Window: 50 * time.Millisecond}, 0)
	for i, want := range []bool{true, true, false} {
		if got := l.Allow("k"); got != want {
			t.Fatalf("request %d allowed = %v, want %v", i+1, got, want)
		}
	}
	if !l.Allow("other") {
		t.Fatal("another key shares the count")
	}
	time.Sleep(60 * time.Millisecond)
	if !l.Allow("k") {
		t.Fatal("the limit did not lift after the window")
	}
	if off := httpapi.NewLimiter(httpapi.RateLimit{}, 0); !off.Allow("k") || !off.Allow("k") {
		t.Fatal("a zero limit refuses")
	}
}

func TestLimiterMemoryIsBounded(t *testing.T) {
	t.Run("FullForgetsTheOldestKey", func(t *testing.T) {
		l := httpapi.NewLimiter(httpapi.RateLimit{Requests: 1, Window: time.Hour}, 3)
		for _, k := range []string{"a", "b", "c", "d"} {
			if !l.Allow(k) {
				t.Fatalf("first request of %q refused", k)
			}
		}
		if got := l.Keys(); got != 3 {
			t.Fatalf("Keys = %d, want the cap 3", got)
		}
		// "a" came first and was forgotten; "d", the newest, is still counted.
		if !l.Allow("a") {
			t.Fatal(`"a" is still counted after a full limiter took a new key`)
		}
		if l.Allow("d") {
			t.Fatal(`"d" was forgotten instead of the oldest key`)
		}
	})
}

func TestRoutingTableMatchesGroups(t *testing.T) {
	ok := func(w http.ResponseWriter, r *http.Request) {}
	t.Run("MissingHandler", func(t *testing.T) {
		_, err := httpapi.NewHandler(httpapi.Options{}, httpapi.Group{Name: httpapi.GroupGetChirp, Handlers: map[string]http.Handler{}})
		if err == nil || !strings.Contains(err.Error(), "no handler") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("RouteNotInTable", func(t *testing.T) {
		_, err := httpapi.NewHandler(httpapi.Options{}, httpapi.Group{Name: httpapi.GroupGetChirp, Handlers: map[string]http.Handler{
			"GET /v1/chirps/{id:[0-9]+}": http.HandlerFunc(ok),
			"GET /v1/secret":             http.HandlerFunc(ok),
		}})
		if err == nil || !strings.Contains(err.Error(), "/v1/secret") {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestNoRequestMatchesTwoRoutes: the router tries routes in the order they
// were mounted and takes the first that matches, so a binary may mount its
// groups in any order (the standalone puts the reads first) only while no
// request matches two routes of the table. Each variable is tried with
// every literal segment of the table and a number.
func TestNoRequestMatchesTwoRoutes(t *testing.T) {
	variable := regexp.MustCompile(`\{[^}]+\}`)
	samples := map[string]bool{"1": true, "x": true}
	for _, route := range httpapi.Routes {
		for _, segment := range strings.Split(route.Path, "/") {
			if segment != "" && !variable.MatchString(segment) {
				samples[segment] = true
			}
		}
	}
	routers := make([]*mux.Router, len(httpapi.Routes))
	for i, route := range httpapi.Routes {
		routers[i] = mux.NewRouter()
		routers[i].Handle(route.Path, http.NotFoundHandler()).Methods(route.Method)
	}
	tried := 0
	for i, route := range httpapi.Routes {
		for sample := range samples {
			path := variable.ReplaceAllString(route.Path, sample)
			r := httptest.NewRequest(route.Method, path, nil)
			var m mux.RouteMatch
			if !routers[i].Match(r, &m) {
				continue // the sample does not fit the variable's pattern
			}
			tried++
			for j, other := range httpapi.Routes {
				if j != i && routers[j].Match(r, &m) {
					t.Errorf("%s %s matches both %s and %s %s", route.Method, path, route.Path, other.Method, other.Path)
				}
			}
		}
	}
	if tried < len(httpapi.Routes) {
		t.Fatalf("only %d requests tried for %d routes", tried, len(httpapi.Routes))
	}
}
