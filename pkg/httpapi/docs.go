package httpapi

import (
	"bytes"
	"compress/gzip"
	"embed"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"
)

// docsFiles are the API reference page and its assets (Swagger UI, from
// the pinned npm package, stored gzipped: see docs/README.md).
//
//go:embed docs/index.html docs/docs.js docs/*.gz
var docsFiles embed.FS

// docsPolicy lets the page run its own scripts and talk to its own origin
// only. Swagger UI sets style attributes, hence 'unsafe-inline' for styles
// (never for scripts).
const docsPolicy = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// docsAssets are the files under /docs/, by name: their content type and
// whether they are stored gzipped.
var docsAssets = map[string]struct {
	contentType string
	gzipped     bool
}{
	"docs.js":              {"text/javascript; charset=utf-8", false},
	"swagger-ui-bundle.js": {"text/javascript; charset=utf-8", true},
	"swagger-ui.css":       {"text/css; charset=utf-8", true},
}

// handleDocs serves the API reference page.
func handleDocs() http.Handler {
	page, err := docsFiles.ReadFile("docs/index.html")
	if err != nil {
		panic(err) // embedded at build time
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", docsPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Length", strconv.Itoa(len(page)))
		w.Write(page)
	})
}

// handleDocsAsset serves a file of the page, gzipped to clients that take
// it (every browser) and unpacked for the others.
func handleDocsAsset() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := mux.Vars(r)["file"]
		asset, ok := docsAssets[name]
		if !ok {
			writeProblem(w, r, http.StatusNotFound, "no such file of the API reference page", nil)
			return
		}
		path := "docs/" + name
		if asset.gzipped {
			path += ".gz"
		}
		body, err := docsFiles.ReadFile(path)
		if err != nil {
			panic(err) // embedded at build time
		}
		h := w.Header()
		h.Set("Content-Type", asset.contentType)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "public, max-age=3600")
		h.Set("Vary", "Accept-Encoding")
		if asset.gzipped {
			if !acceptsGzip(r) {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					panic(err) // embedded at build time
				}
				io.Copy(w, zr)
				return
			}
			h.Set("Content-Encoding", "gzip")
		}
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	})
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") && strings.ReplaceAll(params, " ", "") != "q=0" {
			return true
		}
	}
	return false
}
