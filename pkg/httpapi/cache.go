package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"unsafe"

	"github.com/gorilla/mux"

	"github.com/chirper/chirper/pkg/chirper"
)

// ChirpCache keeps the answers of GET /v1/chirps/{id}, encoded, with their
// ETag: a hit costs no query and no encoding.
type ChirpCache struct {
	caches *chirper.Caches
	lru    *chirper.LRU[int64, cachedChirp]
	// deleted remembers the chirps deleted lately: a read replica may
	// still have one for a moment after the primary's notification, and
	// neither answers nor caches it. It is not a cache but a guard, so it
	// is not part of the cache's bytes: with none, it still holds.
	deleted *chirper.LRU[int64, struct{}]
}

// recentDeletes is how many of the chirps deleted last ChirpCache
// remembers (some 100 bytes each): a replica lags the primary by less than
// a second, in which far fewer are deleted.
const recentDeletes = 10000

type cachedChirp struct {
	body     []byte
	etag     string
	authorID int64
}

// NewChirpCache caches chirps in up to bytes of memory, kept right by
// caches: a deleted chirp, or any chirp of a changed or deleted user, is
// dropped.
func NewChirpCache(caches *chirper.Caches, bytes int64) *ChirpCache {
	c := &ChirpCache{
		caches: caches,
		lru: chirper.NewLRUOfBytes(bytes, func(_ int64, e cachedChirp) int64 {
			return int64(cap(e.body) + len(e.etag))
		}),
		deleted: chirper.NewLRU[int64, struct{}](recentDeletes),
	}
	caches.Register(func(ch chirper.Change) {
		switch ch.Table {
		case chirper.ChangedChirps:
			c.deleted.Put(ch.ID, struct{}{})
			c.lru.Delete(ch.ID)
		case chirper.ChangedUsers:
			c.lru.DeleteFunc(func(_ int64, e cachedChirp) bool { return e.authorID == ch.ID })
		}
	}, c.lru.Clear)
	return c
}

// Stats returns the cache's counts, for its metrics.
func (c *ChirpCache) Stats() chirper.CacheStats { return c.lru.Stats() }

// chirpAnswer returns the encoded chirp of the path's {id} from the cache or
// the store, or answers the error and returns false.
func (c *ChirpCache) chirpAnswer(w http.ResponseWriter, r *http.Request, log *slog.Logger, chirps chirper.ChirpStore) (cachedChirp, bool) {
	live := c != nil && c.caches.Live()
	var gen uint64
	if c != nil {
		id, _ := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
		if _, gone := c.deleted.Get(id); gone {
			writeProblem(w, r, http.StatusNotFound, "chirp not found", nil)
			return cachedChirp{}, false
		}
		if e, ok := c.lru.Get(id); ok && live {
			return e, true
		}
		gen = c.lru.Generation()
	}
	chirp, ok := findChirp(w, r, log, chirps)
	if !ok {
		return cachedChirp{}, false
	}
	body, err := marshalLine(newChirpResponse(chirp))
	if err != nil {
		writeError(w, r, log, err)
		return cachedChirp{}, false
	}
	sum := sha256.Sum256(body)
	e := cachedChirp{body: body, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, authorID: chirp.AuthorID}
	if live {
		c.lru.PutAt(chirp.ID, e, gen)
	}
	return e, true
}

// PageCache keeps the encoded first pages of the lists (no cursor): the
// pages everyone reads. Any new or deleted chirp drops them all, so a new
// chirp is in every first page at once on the instance that took it, and
// within the caches' bound on the others.
type PageCache struct {
	caches *chirper.Caches
	lru    *chirper.LRU[string, *encodedPage]
}

// encodedPage is a list's answer: its body and its Link header.
type encodedPage struct {
	body []byte
	link string
}

func (p *encodedPage) write(w http.ResponseWriter) {
	if p.link != "" {
		w.Header().Set("Link", p.link)
	}
	writeEncoded(w, http.StatusOK, p.body)
}

// NewPageCache caches first pages in up to bytes of memory, kept right by
// caches.
func NewPageCache(caches *chirper.Caches, bytes int64) *PageCache {
	p := &PageCache{caches: caches, lru: chirper.NewLRUOfBytes(bytes, func(key string, p *encodedPage) int64 {
		return int64(len(key)) + int64(unsafe.Sizeof(*p)) + int64(cap(p.body)+len(p.link))
	})}
	caches.Register(func(ch chirper.Change) {
		if ch.Table == chirper.ChangedChirps || ch.Table == chirper.NewChirps {
			p.lru.Clear()
		}
	}, p.lru.Clear)
	return p
}

// Stats returns the cache's counts, for its metrics.
func (p *PageCache) Stats() chirper.CacheStats { return p.lru.Stats() }

// lookup returns the key of r's page, the cache's generation to store it
// at, and the cached page, if any. Pages after the first are not cached.
func (p *PageCache) lookup(r *http.Request, f chirper.ChirpFilter) (string, uint64, *encodedPage) {
	if p == nil || f.BeforeID != 0 || !p.caches.Live() {
		return "", 0, nil
	}
	key := fmt.Sprintf("%s %q %v %q %d %d %d %q", r.URL.Path, f.Tags, f.MatchAll, f.Author, f.Since.UnixNano(), f.Until.UnixNano(), f.Limit, f.Words)
	gen := p.lru.Generation()
	page, _ := p.lru.Get(key)
	return key, gen, page
}

// store caches a page that lookup did not find.
func (p *PageCache) store(key string, gen uint64, page *encodedPage) {
	if p != nil && key != "" {
		p.lru.PutAt(key, page, gen)
	}
}
