package httpapi

import (
	_ "embed"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"github.com/chirper/chirper/pkg/chirper"
)

//go:embed openapi.yaml
var openAPIDocument []byte

// OpenAPIDocument is the OpenAPI 3 description of the API, as served.
func OpenAPIDocument() []byte { return openAPIDocument }

// chirpResponse is a chirp as the API shows it.
type chirpResponse struct {
	ID        string    `json:"id"`
	AuthorID  string    `json:"author_id"`
	Author    string    `json:"author"`
	Message   string    `json:"message"`
	Tags      []string  `json:"tags"`
	CreatedAt time.Time `json:"created_at"`
}

func newChirpResponse(c *chirper.Chirp) chirpResponse {
	return chirpResponse{
		ID: itoa(c.ID), AuthorID: itoa(c.AuthorID), Author: c.Author,
		Message: c.Message, Tags: c.Tags, CreatedAt: c.CreatedAt.UTC(),
	}
}

// pageResponse is one page of a list.
type pageResponse struct {
	Chirps     []chirpResponse `json:"chirps"`
	NextCursor string          `json:"next_cursor,omitempty"`
}

// ListChirpsGroup is the list-chirps endpoint group: lists, counts, the API
// document and its reference page. pages and counts may be nil.
func ListChirpsGroup(log *slog.Logger, chirps chirper.ChirpStore, users chirper.UserStore, pages *PageCache, counts *chirper.FollowCounts) Group {
	return Group{Name: GroupListChirps, Handlers: map[string]http.Handler{
		"GET /v1/chirps":                  handleChirpList(log, chirps, nil, pages),
		"GET /v1/users/{username}/chirps": handleChirpList(log, chirps, users, pages),
		"GET /v1/chirps/count":            handleChirpCount(log, chirps, users),
		"GET /v1/timeline":                handleTimeline(log, chirps, users, counts),
		"GET /v1/openapi.yaml":            handleOpenAPI(),
		"GET /docs":                       handleDocs(),
		"GET /docs/{file}":                handleDocsAsset(),
	}}
}

// GetChirpGroup is the get-chirp endpoint group; cache may be nil.
func GetChirpGroup(log *slog.Logger, chirps chirper.ChirpStore, cache *ChirpCache) Group {
	return Group{Name: GroupGetChirp, Handlers: map[string]http.Handler{
		"GET /v1/chirps/{id:[0-9]+}": handleChirpGet(log, chirps, cache),
	}}
}

// CreateChirpGroup is the create-chirp endpoint group: every chirp write.
// New and deleted chirps are told to caches at once; nil for none. keys
// keep the answers of posts sent with an Idempotency-Key; nil for none.
func CreateChirpGroup(log *slog.Logger, chirps chirper.ChirpStore, users chirper.UserStore, keys chirper.IdempotencyStore, caches *chirper.Caches) Group {
	return Group{Name: GroupCreateChirp, Handlers: map[string]http.Handler{
		"POST /v1/chirps":               handleChirpCreate(log, chirps, users, keys, caches),
		"DELETE /v1/chirps/{id:[0-9]+}": handleChirpDelete(log, chirps, users, caches),
	}}
}

// handleChirpList lists chirps; with users set it lists the chirps of the
// {username} in the path, and 404s for an unknown user.
func handleChirpList(log *slog.Logger, chirps chirper.ChirpStore, users chirper.UserStore, pages *PageCache) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, fields := parseChirpFilter(r.URL.Query(), true)
		if len(fields) > 0 {
			badRequest(w, r, "the query is not valid", fields...)
			return
		}
		key, gen, cached := pages.lookup(r, f)
		if cached != nil {
			cached.write(w)
			return
		}
		if users != nil {
			u, err := users.FindUserByUsername(r.Context(), mux.Vars(r)["username"])
			if err != nil {
				writeError(w, r, log, err)
				return
			}
			f.Author = u.Username
		}
		answer, ok := listPage(w, r, log, chirps, f)
		if ok {
			pages.store(key, gen, answer)
			answer.write(w)
		}
	})
}

// handleTimeline lists the caller's home timeline: their chirps and those
// of the users they follow, with the filters of a list. It is read at each
// request (fan-out on read), so a follow or an unfollow shows at once;
// counts, when set, tells the store how many the caller follows, to plan
// the read.
func handleTimeline(log *slog.Logger, chirps chirper.ChirpStore, users chirper.UserStore, counts *chirper.FollowCounts) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		me := requireUser(w, r, log, users)
		if me == nil {
			return
		}
		f, fields := parseChirpFilter(r.URL.Query(), true)
		if len(fields) > 0 {
			badRequest(w, r, "the query is not valid", fields...)
			return
		}
		f.HomeOf = me.ID
		if counts != nil {
			var err error
			if f.FollowingCount, err = counts.FollowingCount(r.Context(), me.ID); err != nil {
				writeError(w, r, log, err)
				return
			}
		}
		if answer, ok := listPage(w, r, log, chirps, f); ok {
			answer.write(w)
		}
	})
}

// listPage reads and encodes the page of f, or answers the error and
// returns false.
func listPage(w http.ResponseWriter, r *http.Request, log *slog.Logger, chirps chirper.ChirpStore, f chirper.ChirpFilter) (*encodedPage, bool) {
	page, err := chirps.ListChirps(r.Context(), f)
	if err != nil {
		writeError(w, r, log, err)
		return nil, false
	}
	resp := pageResponse{Chirps: make([]chirpResponse, len(page.Chirps))}
	for i, c := range page.Chirps {
		resp.Chirps[i] = newChirpResponse(c)
	}
	var answer encodedPage
	if page.NextBeforeID != 0 {
		resp.NextCursor = encodeCursor(page.NextBeforeID)
		answer.link = nextLink(r, resp.NextCursor)
	}
	body, err := marshalLine(resp)
	if err != nil {
		writeError(w, r, log, err)
		return nil, false
	}
	answer.body = body
	return &answer, true
}

func handleChirpCount(log *slog.Logger, chirps chirper.ChirpStore, users chirper.UserStore) http.Handler {
	type response struct {
		Count int64 `json:"count"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requireAdmin(w, r, log, users, "only an admin may count chirps") == nil {
			return
		}
		f, fields := parseChirpFilter(r.URL.Query(), false)
		if len(fields) > 0 {
			badRequest(w, r, "the query is not valid", fields...)
			return
		}
		n, err := chirps.CountChirps(r.Context(), f)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		encode(w, http.StatusOK, response{Count: n})
	})
}

// parseChirpFilter reads a list's query; forList adds limit, cursor and
// author. It returns every problem with the query at once.
func parseChirpFilter(q url.Values, forList bool) (chirper.ChirpFilter, []chirper.FieldError) {
	var (
		f      chirper.ChirpFilter
		fields []chirper.FieldError
	)
	bad := func(field, msg string) { fields = append(fields, chirper.FieldError{Field: field, Message: msg}) }
	f.Tags = q["tag"]
	switch q.Get("match") {
	case "", "any":
	case "all":
		f.MatchAll = true
	default:
		bad("match", `must be "any" or "all"`)
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if s := q.Get(p.name); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				bad(p.name, "must be an RFC 3339 time, such as 2026-01-02T15:04:05Z")
			}
			*p.dst = t
		}
	}
	if forList {
		limit, before, paging := parsePaging(q)
		f.Limit, f.BeforeID, fields = limit, before, append(fields, paging...)
		f.Author = q.Get("author")
		if s := q.Get("q"); s != "" {
			f.Words = chirper.SearchWords(s)
			switch {
			case !utf8.ValidString(s) || utf8.RuneCountInString(s) > chirper.MaxSearchLen:
				bad("q", "must be valid UTF-8, at most 200 characters")
			case len(f.Words) == 0:
				bad("q", "must have a word: letters or digits")
			}
		}
	}
	f.Normalize()
	if err := f.Validate(); err != nil {
		if e, ok := err.(*chirper.Error); ok {
			fields = append(fields, e.Fields...)
		}
	}
	return f, fields
}

// parsePaging reads a list's limit and cursor.
func parsePaging(q url.Values) (limit int, beforeID int64, fields []chirper.FieldError) {
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			fields = append(fields, chirper.FieldError{Field: "limit", Message: "must be a whole number from 1 to 100"})
			n = chirper.DefaultPageLimit
		}
		limit = n
	}
	if s := q.Get("cursor"); s != "" {
		id, ok := decodeCursor(s)
		if !ok {
			fields = append(fields, chirper.FieldError{Field: "cursor", Message: "is not a cursor this API gave out"})
		}
		beforeID = id
	}
	return limit, beforeID, fields
}

// nextLink is the Link header of the page after cursor: r's query with it.
func nextLink(r *http.Request, cursor string) string {
	q := r.URL.Query()
	q.Set("cursor", cursor)
	return "<" + r.URL.Path + "?" + q.Encode() + `>; rel="next"`
}

// encodeCursor makes the opaque cursor of the page after the chirp id.
func encodeCursor(beforeID int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("v1:" + itoa(beforeID)))
}

func decodeCursor(s string) (int64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, false
	}
	rest, ok := strings.CutPrefix(string(b), "v1:")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	return id, err == nil && id > 0
}

// findChirp returns the chirp of the path's {id}, or answers 404 (or the
// store's error) and returns false. Ids are positive decimal int64s.
func findChirp(w http.ResponseWriter, r *http.Request, log *slog.Logger, chirps chirper.ChirpStore) (*chirper.Chirp, bool) {
	id, err := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	if err != nil || id <= 0 {
		writeProblem(w, r, http.StatusNotFound, "chirp not found", nil)
		return nil, false
	}
	c, err := chirps.FindChirpByID(r.Context(), id)
	if err != nil {
		writeError(w, r, log, err)
		return nil, false
	}
	return c, true
}

func handleChirpGet(log *slog.Logger, chirps chirper.ChirpStore, cache *ChirpCache) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := cache.chirpAnswer(w, r, log, chirps)
		if !ok {
			return
		}
		h := w.Header()
		h.Set("ETag", c.etag)
		// Shared caches may keep it but must ask again every time (a 304
		// is cheap), so that a deleted chirp is never served from a cache.
		h.Set("Cache-Control", "public, no-cache")
		if etagMatches(r.Header.Get("If-None-Match"), c.etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		writeEncoded(w, http.StatusOK, c.body)
	})
}

// etagMatches reports whether an If-None-Match header names etag (weak
// comparison, as RFC 9110 asks for If-None-Match).
func etagMatches(header, etag string) bool {
	for t := range strings.SplitSeq(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

func handleChirpCreate(log *slog.Logger, chirps chirper.ChirpStore, users chirper.UserStore, keys chirper.IdempotencyStore, caches *chirper.Caches) http.Handler {
	type request struct {
		Message string   `json:"message"`
		Tags    []string `json:"tags"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		me := requireUser(w, r, log, users)
		if me == nil {
			return
		}
		req, ok := decode[request](w, r)
		if !ok {
			return
		}
		c, err := chirper.NewChirp{AuthorID: me.ID, Message: req.Message, Tags: req.Tags}.Prepare()
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		createOnce(w, r, log, keys, "POST /v1/chirps by "+itoa(me.ID), req, func() (*created, error) {
			if err := chirps.CreateChirp(r.Context(), c); err != nil {
				return nil, err
			}
			if caches != nil { // the poster reads their chirp in the lists, and streams carry it, at once
				caches.Changed(chirper.Change{Table: chirper.NewChirps, IDs: []int64{c.ID}})
			}
			return &created{location: "/v1/chirps/" + itoa(c.ID), answer: newChirpResponse(c)}, nil
		})
	})
}

func handleChirpDelete(log *slog.Logger, chirps chirper.ChirpStore, users chirper.UserStore, caches *chirper.Caches) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		me := requireUser(w, r, log, users)
		if me == nil {
			return
		}
		c, ok := findChirp(w, r, log, chirps)
		if !ok {
			return
		}
		if c.AuthorID != me.ID && requireAdmin(w, r, log, users, "only the author or an admin may delete a chirp") == nil {
			return
		}
		if err := chirps.DeleteChirp(r.Context(), c.ID); err != nil {
			writeError(w, r, log, err)
			return
		}
		if caches != nil {
			caches.Changed(chirper.Change{Table: chirper.ChangedChirps, ID: c.ID})
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func handleOpenAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		w.Header().Set("Content-Length", strconv.Itoa(len(openAPIDocument)))
		w.Write(openAPIDocument)
	})
}
