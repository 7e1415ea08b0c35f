package httpapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkChirpGetCached is the whole pipeline of GET /v1/chirps/{id}
// answered from the chirp cache, access log on.
func BenchmarkChirpGetCached(b *testing.B) {
	api := newTestAPI(b, AuthLimits{}, io.Discard)
	r := httptest.NewRequest("POST", "/v1/chirps", strings.NewReader(`{"message":"cached"}`))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+api.adminToken)
	w := httptest.NewRecorder()
	api.handler.ServeHTTP(w, r)
	if w.Code != http.StatusCreated {
		b.Fatalf("POST: %d", w.Code)
	}
	get := httptest.NewRequest("GET", "/v1/chirps/1", nil) // the pipeline copies it, never changes it
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		api.handler.ServeHTTP(w, get)
		if w.Code != http.StatusOK {
			b.Fatalf("GET: %d", w.Code)
		}
	}
}
