package chirper

import (
	"context"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits of chirps, tags and lists.
const (
	MessageMaxLen    = 280
	TagMaxLen        = 50
	MaxTagsPerChirp  = 10
	DefaultPageLimit = 20
	MaxPageLimit     = 100
)

// Chirp is a short message with tags.
type Chirp struct {
	ID        int64
	AuthorID  int64
	Author    string // the author's username
	Message   string
	Tags      []string
	CreatedAt time.Time
}

// NewChirp is what an author supplies to post a chirp.
type NewChirp struct {
	AuthorID int64
	Message  string
	Tags     []string
}

// hashtag finds #words in a message that do not follow a letter, digit, _ or
// & (so "a#b" and "&#39;" are not tags).
var hashtag = regexp.MustCompile(`(?:^|[^\p{L}\p{N}_&])#([\p{L}\p{N}_]+)`)

// Hashtags returns the #hashtags of a message, lower-cased, in order of
// appearance: the tags that posting it adds.
func Hashtags(message string) []string {
	var tags []string
	for _, m := range hashtag.FindAllStringSubmatch(message, -1) {
		tags = append(tags, strings.ToLower(m[1]))
	}
	return tags
}

// Prepare trims the message, merges the explicit tags with every #hashtag of
// the message (lower-cased, de-duplicated, in order of appearance) and
// reports every broken rule at once (EINVALID). On success it returns the
// chirp to store.
func (n NewChirp) Prepare() (*Chirp, error) {
	var v validation
	msg := strings.TrimSpace(n.Message)
	valid := utf8.ValidString(msg)
	v.check(valid, "message", "must be valid UTF-8")
	count := utf8.RuneCountInString(msg)
	v.check(count >= 1, "message", "must not be empty")
	v.check(count <= MessageMaxLen, "message", "must be at most 280 characters long")
	v.check(!hasControl(msg, true), "message", "must not contain control characters other than newline and tab")

	var tags []string
	seen := make(map[string]bool)
	add := func(field, tag string) {
		tag = strings.ToLower(tag)
		if seen[tag] {
			return
		}
		seen[tag] = true
		v.check(validTag(tag), field, "tag "+quoteTag(tag)+" must be 1 to 50 of a-z, 0-9 and _")
		tags = append(tags, tag)
	}
	for _, t := range n.Tags {
		add("tags", strings.TrimPrefix(strings.TrimSpace(t), "#"))
	}
	if valid {
		for _, t := range Hashtags(msg) {
			add("message", t)
		}
	}
	v.check(len(tags) <= MaxTagsPerChirp, "tags", "a chirp has at most 10 tags, #hashtags included")
	if err := v.err(); err != nil {
		return nil, err
	}
	if tags == nil {
		tags = []string{}
	}
	return &Chirp{AuthorID: n.AuthorID, Message: msg, Tags: tags}, nil
}

// NormalizeTag returns the stored form of a tag given in a query or a body.
func NormalizeTag(s string) string {
	return strings.ToLower(strings.TrimPrefix(strings.TrimSpace(s), "#"))
}

func validTag(s string) bool {
	return len(s) >= 1 && len(s) <= TagMaxLen && isWord(s)
}

// quoteTag shortens a tag for an error message.
func quoteTag(s string) string {
	if utf8.RuneCountInString(s) > 20 {
		s = string([]rune(s)[:20]) + "…"
	}
	return `"` + s + `"`
}

// hasControl reports whether s has a control character, newline and tab
// allowed when multiline.
func hasControl(s string, multiline bool) bool {
	for _, r := range s {
		if multiline && (r == '\n' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}

// ChirpFilter selects chirps for a list or a count. The zero value selects
// every chirp.
type ChirpFilter struct {
	Tags     []string  // normalized tags
	MatchAll bool      // every tag, rather than any of them
	Author   string    // the author's username; "" for everyone
	Since    time.Time // inclusive; zero for no bound
	Until    time.Time // exclusive; zero for no bound
	BeforeID int64     // keyset cursor: only chirps with a smaller id; 0 for the newest
	Limit    int       // page size, 1 to MaxPageLimit; 0 means DefaultPageLimit
	// Words are a full-text search: only chirps whose message has every
	// one of them (case-insensitive, whole words); none for no search.
	Words []string
	// HomeOf, when set, keeps the chirps of this user and of the users they
	// follow: their home timeline.
	HomeOf int64
	// FollowingCount is how many users HomeOf follows, as the caller last
	// heard (FollowCounts): a store may choose how to read the timeline by
	// it, never what the timeline holds.
	FollowingCount int
}

// Limits of a full-text search.
const (
	MaxSearchLen   = 200 // characters
	MaxSearchWords = 10
)

// SearchWords splits a full-text search into its words: runs of letters
// and digits, lower-cased. What lies between them (punctuation, quotes,
// operators) is not syntax, so no search is malformed.
func SearchWords(q string) []string {
	return strings.FieldsFunc(strings.ToLower(q), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// Normalize lower-cases and de-duplicates the tags and sets the default limit.
func (f *ChirpFilter) Normalize() {
	seen := make(map[string]bool, len(f.Tags))
	tags := f.Tags[:0:0]
	for _, t := range f.Tags {
		t = NormalizeTag(t)
		if !seen[t] {
			seen[t] = true
			tags = append(tags, t)
		}
	}
	f.Tags = tags
	f.Author = NormalizeUsername(f.Author)
	if f.Limit == 0 {
		f.Limit = DefaultPageLimit
	}
}

// Validate reports every broken rule of the filter at once (EINVALID).
func (f *ChirpFilter) Validate() error {
	var v validation
	for _, t := range f.Tags {
		v.check(validTag(t), "tag", "tag "+quoteTag(t)+" must be 1 to 50 of a-z, 0-9 and _")
	}
	v.check(len(f.Tags) <= MaxTagsPerChirp, "tag", "at most 10 tags")
	v.check(f.Limit >= 1 && f.Limit <= MaxPageLimit, "limit", "must be 1 to 100")
	v.check(f.BeforeID >= 0, "cursor", "is not valid")
	v.check(f.Since.IsZero() || f.Until.IsZero() || f.Since.Before(f.Until), "until", "must be after since")
	v.check(len(f.Words) <= MaxSearchWords, "q", "at most 10 words")
	return v.err()
}

// ChirpPage is one page of a list, newest first.
type ChirpPage struct {
	Chirps []*Chirp
	// NextBeforeID is the cursor of the next page, 0 on the last page.
	NextBeforeID int64
}

// NewChirpPage makes a page of at most limit chirps from a list read with
// one row more than limit: that extra row, when there is one, says that a
// next page exists.
func NewChirpPage(chirps []*Chirp, limit int) *ChirpPage {
	if len(chirps) <= limit {
		return &ChirpPage{Chirps: chirps}
	}
	chirps = chirps[:limit]
	return &ChirpPage{Chirps: chirps, NextBeforeID: chirps[limit-1].ID}
}

// ChirpStore keeps chirps.
type ChirpStore interface {
	// CreateChirp stores c (as returned by NewChirp.Prepare) and sets its ID,
	// Author and CreatedAt. ENOTFOUND when the author does not exist.
	CreateChirp(ctx context.Context, c *Chirp) error

	// CreateChirps stores every chirp at once (one statement where the
	// database allows) and sets their ID, Author and CreatedAt. Either all
	// are stored or none: ENOTFOUND when an author does not exist. A chirp
	// whose ID is set (from ReserveChirpIDs) is stored under that id:
	// ECONFLICT when a chirp has it already. In the same round trip it
	// reserves and returns reserve new ids, higher than the chirps', for
	// the chirps to come, as ReserveChirpIDs would.
	CreateChirps(ctx context.Context, chirps []*Chirp, reserve int) ([]int64, error)

	// ReserveChirpIDs returns n new chirp ids that no other chirp will be
	// given, for chirps whose write must be known to have happened or not
	// even when its answer is lost.
	ReserveChirpIDs(ctx context.Context, n int) ([]int64, error)

	// FindChirpByID returns the chirp with the id. ENOTFOUND when there is
	// none.
	FindChirpByID(ctx context.Context, id int64) (*Chirp, error)

	// FindChirpsByIDs returns the chirps with the ids that exist, in
	// increasing id order.
	FindChirpsByIDs(ctx context.Context, ids []int64) ([]*Chirp, error)

	// DeleteChirp removes the chirp with the id. ENOTFOUND when there is none.
	DeleteChirp(ctx context.Context, id int64) error

	// ListChirps returns one page of the chirps that match f, newest first.
	// f must be normalized and valid.
	ListChirps(ctx context.Context, f ChirpFilter) (*ChirpPage, error)

	// CountChirps returns how many chirps match f; BeforeID and Limit are
	// ignored.
	CountChirps(ctx context.Context, f ChirpFilter) (int64, error)
}
