package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/chirper/chirper/pkg/chirper"
)

// The fuzz targets run their seed corpus (testdata/fuzz) as tests in every
// `go test`; `make fuzz` runs each under the fuzzer.

// jsonRoutes are the routes that read a JSON body.
var jsonRoutes = []struct{ method, path string }{
	{"POST", "/v1/users"}, {"PATCH", "/v1/users/me"}, {"DELETE", "/v1/users/me"},
	{"PUT", "/v1/users/fuzzer/role"}, {"POST", "/v1/auth/login"}, {"POST", "/v1/auth/refresh"},
	{"POST", "/v1/auth/logout"}, {"POST", "/v1/chirps"},
}

// FuzzJSONBodies sends every JSON route arbitrary bodies: no answer is a
// 5xx, and nothing stored or echoed carries a U+FFFD that the body did not.
func FuzzJSONBodies(f *testing.F) {
	for _, seed := range []string{
		`{"username":"new_user","password":"long enough"}`,
		`{"message":"hi #there","tags":["a"]}`,
		`{"display_name":"x","password":"new password 1","current_password":"fuzzer password"}`,
		`{"role":"user"}`, `{"refresh_token":"abc"}`, `{"current_password":"nope nope"}`,
		"{\"message\":\"bad \xff\"}", `{"message":"\ud800"}`, `{"message":"\ud83d\ude00"}`, `{"message":"\\ud800"}`,
		`[]`, `{"message":1}`, ``, `{"a":1}{"b":2}`,
	} {
		f.Add(seed)
	}
	api := newTestAPI(f, AuthLimits{}, io.Discard)
	h, token := api.handler, api.adminToken
	f.Fuzz(func(t *testing.T, body string) {
		for _, route := range jsonRoutes {
			r := httptest.NewRequest(route.method, route.path, strings.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Authorization", "Bearer "+token)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code >= 500 {
				t.Fatalf("%s %s: %d %s", route.method, route.path, w.Code, w.Body)
			}
			if w.Code < 300 && bytes.Contains(w.Body.Bytes(), []byte("\ufffd")) && !hasReplacementChar(body) {
				t.Fatalf("%s %s stored or echoed U+FFFD from %q: %s", route.method, route.path, body, w.Body)
			}
		}
	})
}

// hasReplacementChar reports whether a JSON text spells U+FFFD itself.
func hasReplacementChar(s string) bool {
	return strings.Contains(s, "\ufffd") || strings.Contains(strings.ToLower(s), `\ufffd`)
}

// FuzzCheckJSONText: what checkJSONText lets through decodes to strings
// without a U+FFFD that the text did not spell.
func FuzzCheckJSONText(f *testing.F) {
	for _, seed := range []string{`"a"`, `"\ud800"`, `"\udc00\ud800"`, `"\\ud800"`, "\"\xff\"", `"\ud83d\ude00"`, `"\u00e9\ud83d"`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if checkJSONText(b) != nil {
			return
		}
		var v any
		if json.Unmarshal(b, &v) != nil {
			return
		}
		out, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(out, []byte("\ufffd")) && !hasReplacementChar(string(b)) {
			t.Fatalf("%q passed the check but decodes to %s", b, out)
		}
	})
}

// FuzzChirpQuery: any query string either is refused or gives a filter
// within the rules.
func FuzzChirpQuery(f *testing.F) {
	for _, seed := range []string{"", "limit=5", "limit=%%%", "tag=a&tag=B&match=all", "since=2026-01-02T15:04:05Z&until=x",
		"cursor=djE6MTA", "author=alice&limit=101", "tag=" + strings.Repeat("t", 60), "q=a;b"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return // wellFormedQuery answers 400
		}
		filter, fields := parseChirpFilter(q, true)
		if len(fields) > 0 {
			return
		}
		if filter.Limit < 1 || filter.Limit > chirper.MaxPageLimit || len(filter.Tags) > chirper.MaxTagsPerChirp || filter.BeforeID < 0 {
			t.Fatalf("%q gave a filter outside the rules: %+v", raw, filter)
		}
	})
}

// FuzzCursor: a cursor is either refused or names a positive id, and the
// cursor of that id reads back as it.
func FuzzCursor(f *testing.F) {
	for _, seed := range []string{encodeCursor(1), encodeCursor(1 << 62), "djE6MA", "djE6LTE", "", "%%%", "djI6MQ"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, ok := decodeCursor(s)
		if !ok {
			return
		}
		if id <= 0 {
			t.Fatalf("cursor %q gave id %d", s, id)
		}
		if again, ok := decodeCursor(encodeCursor(id)); !ok || again != id {
			t.Fatalf("id %d does not survive its cursor", id)
		}
	})
}

// FuzzBearerToken: an accepted header carries one token, without spaces.
func FuzzBearerToken(f *testing.F) {
	for _, seed := range []string{"Bearer abc.def.ghi", "bearer x", "Basic dXNlcg==", "Bearer", "Bearer  ", "Bearer a b", "Bearer\ta"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		token, err := bearerToken(header)
		if err != nil {
			if chirper.ErrorCode(err) != chirper.EUNAUTHORIZED {
				t.Fatalf("%q: %v", header, err)
			}
			return
		}
		if token == "" || strings.ContainsAny(token, " \t") {
			t.Fatalf("%q gave the token %q", header, token)
		}
	})
}

// FuzzClientIP: the client address is the peer unless the peer is a
// trusted proxy, and then an address from X-Forwarded-For or the peer.
func FuzzClientIP(f *testing.F) {
	for _, seed := range [][2]string{{"10.1.2.3:5000", "198.51.100.1"}, {"203.0.113.7:1", "1.1.1.1"}, {"10.0.0.1:1", "1.1.1.1, 10.9.9.9"},
		{"[2001:db8::1]:443", ""}, {"10.0.0.1:1", "::ffff:1.2.3.4"}, {"garbage", "x"}} {
		f.Add(seed[0], seed[1])
	}
	c := NewClientIP([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})
	f.Fuzz(func(t *testing.T, remote, xff string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", xff)
		got := c.Of(r)
		peer, err := netip.ParseAddrPort(remote)
		if err != nil {
			return // not an address a listener gives
		}
		if !c.isTrusted(peer.Addr()) {
			if got != peer.Addr().Unmap().String() {
				t.Fatalf("untrusted peer %q with X-Forwarded-For %q gave %q", remote, xff, got)
			}
			return
		}
		a, err := netip.ParseAddr(got)
		if err != nil {
			t.Fatalf("trusted peer %q with X-Forwarded-For %q gave %q, not an address", remote, xff, got)
		}
		if a != peer.Addr() && c.isTrusted(a) {
			t.Fatalf("the client %q is a trusted proxy", got)
		}
	})
}
