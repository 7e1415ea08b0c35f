package apitest

import (
	"net/http"
	"strings"
	"testing"
)

func testProtocol(t *testing.T, env *Env) {
	anon := env.Client()
	a := env.mustAccount(t, "proto")

	t.Run("ErrUnsupportedMediaType", func(t *testing.T) {
		for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded"} {
			resp := raw(t, a.C, "POST", "/v1/chirps", ct, `{"message":"hi"}`, nil)
			if resp.Status != http.StatusUnsupportedMediaType {
				t.Fatalf("Content-Type %q: status %d", ct, resp.Status)
			}
		}
	})

	t.Run("ErrMalformedJSON", func(t *testing.T) {
		for _, body := range []string{"", "{", `{"message":}`, `"just a string"`, `{"message":42}`, `{"message":"a","extra":1}`, `{"message":"a"}{"message":"b"}`} {
			resp := raw(t, a.C, "POST", "/v1/chirps", "application/json", body, nil)
			if resp.Status != http.StatusBadRequest || resp.Header.Get("Content-Type") != "application/problem+json; charset=utf-8" {
				t.Fatalf("body %q: status %d %s", body, resp.Status, resp.Body)
			}
		}
	})

	t.Run("ErrNotUTF8", func(t *testing.T) {
		// encoding/json would store each of these as U+FFFD.
		for _, body := range []string{"{\"message\":\"bad \xff\xfe\"}", `{"message":"lone \ud800 high"}`,
			`{"message":"lone \udc00 low"}`, `{"message":"high at the end \ud83d"}`, `{"message":"reversed \ude00\ud83d"}`} {
			resp := raw(t, a.C, "POST", "/v1/chirps", "application/json", body, nil)
			if resp.Status != http.StatusBadRequest {
				t.Fatalf("body %q: status %d %s, want 400", body, resp.Status, resp.Body)
			}
		}
		for _, route := range []struct{ method, path string }{
			{"POST", "/v1/users"}, {"PATCH", "/v1/users/me"}, {"DELETE", "/v1/users/me"},
			{"POST", "/v1/auth/login"}, {"POST", "/v1/auth/refresh"}, {"POST", "/v1/auth/logout"},
		} {
			resp := raw(t, a.C, route.method, route.path, "application/json", "{\"display_name\":\"\xc3\"}", nil)
			if resp.Status != http.StatusBadRequest {
				t.Fatalf("%s %s with invalid UTF-8: status %d, want 400", route.method, route.path, resp.Status)
			}
		}
		resp := raw(t, a.C, "POST", "/v1/chirps", "application/json", `{"message":"a pair \ud83d\ude00 and a \\ud800 that is text"}`, nil)
		if resp.Status != http.StatusCreated || !strings.Contains(string(resp.Body), `a pair 😀 and a \\ud800 that is text`) {
			t.Fatalf("a surrogate pair and an escaped backslash: status %d %s", resp.Status, resp.Body)
		}
	})

	t.Run("ErrMalformedQuery", func(t *testing.T) {
		for _, query := range []string{"limit=%%%", "cursor=%%%", "since=%zz", "tag=a;tag=b", "tag=%e"} {
			for _, path := range []string{"/v1/chirps", "/v1/users/" + a.Username + "/chirps"} {
				resp := raw(t, anon, "GET", path+"?"+query, "", "", nil)
				if resp.Status != http.StatusBadRequest || resp.Header.Get("Content-Type") != "application/problem+json; charset=utf-8" {
					t.Fatalf("GET %s?%s: status %d, want a 400 problem", path, query, resp.Status)
				}
			}
		}
	})

	t.Run("ErrBodyTooLarge", func(t *testing.T) {
		body := `{"message":"` + strings.Repeat("a", 70<<10) + `"}`
		resp := raw(t, a.C, "POST", "/v1/chirps", "application/json", body, nil)
		if resp.Status != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d", resp.Status)
		}
	})

	t.Run("ErrMethodNotAllowed", func(t *testing.T) {
		for path, allow := range map[string]string{
			"/v1/chirps":       "GET, HEAD, POST",
			"/v1/users/me":     "DELETE, GET, HEAD, PATCH",
			"/v1/auth/login":   "POST",
			"/v1/chirps/count": "GET, HEAD",
		} {
			resp := raw(t, anon, "PUT", path, "application/json", "{}", nil)
			if resp.Status != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != allow {
				t.Fatalf("PUT %s: status %d, Allow %q; want 405, %q", path, resp.Status, resp.Header.Get("Allow"), allow)
			}
		}
	})

	t.Run("ErrUnknownRoute", func(t *testing.T) {
		for _, path := range []string{"/", "/v2/chirps", "/v1/nothing", "/v1/chirps/1/2"} {
			resp := raw(t, anon, "GET", path, "", "", nil)
			if resp.Status != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/problem+json; charset=utf-8" {
				t.Fatalf("GET %s: status %d %s", path, resp.Status, resp.Header.Get("Content-Type"))
			}
		}
	})

	t.Run("HeadWhereGet", func(t *testing.T) {
		for _, path := range []string{"/v1/chirps", "/v1/users/" + a.Username, "/v1/openapi.yaml"} {
			resp := raw(t, anon, "HEAD", path, "", "", nil)
			if resp.Status != http.StatusOK || len(resp.Body) != 0 {
				t.Fatalf("HEAD %s: status %d, %d bytes", path, resp.Status, len(resp.Body))
			}
		}
	})

	t.Run("OpenAPIDocument", func(t *testing.T) {
		resp := raw(t, anon, "GET", "/v1/openapi.yaml", "", "", nil)
		if resp.Status != http.StatusOK || !strings.HasPrefix(string(resp.Body), "openapi: 3") {
			t.Fatalf("status %d", resp.Status)
		}
	})

	t.Run("RequestID", func(t *testing.T) {
		resp := raw(t, anon, "GET", "/v1/chirps", "", "", http.Header{"X-Request-Id": {"lb-request-12345"}})
		if resp.Header.Get("X-Request-Id") != "lb-request-12345" {
			t.Fatalf("X-Request-Id = %q", resp.Header.Get("X-Request-Id"))
		}
		resp = raw(t, anon, "GET", "/v1/chirps/0", "", "", http.Header{"X-Request-Id": {"bad id with spaces"}})
		if id := resp.Header.Get("X-Request-Id"); id == "" || strings.Contains(id, " ") || !strings.Contains(string(resp.Body), id) {
			t.Fatalf("X-Request-Id = %q, body %s", id, resp.Body)
		}
	})
}
