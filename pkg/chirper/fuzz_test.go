package chirper_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/chirper/chirper/pkg/chirper"
)

// FuzzNewChirpPrepare: whatever comes in, Prepare either refuses it with
// field errors or returns a chirp that keeps every rule.
func FuzzNewChirpPrepare(f *testing.F) {
	for _, seed := range []string{"hello #world", "", "#a#b #c", "a\x00b", "\xff", strings.Repeat("é", 281), "#Über #_ok #x1"} {
		f.Add(seed, "tag")
	}
	f.Fuzz(func(t *testing.T, message, tag string) {
		c, err := chirper.NewChirp{AuthorID: 1, Message: message, Tags: []string{tag}}.Prepare()
		if err != nil {
			if chirper.ErrorCode(err) != chirper.EINVALID || len(err.(*chirper.Error).Fields) == 0 {
				t.Fatalf("error %v is not a validation error with fields", err)
			}
			return
		}
		if n := utf8.RuneCountInString(c.Message); n < 1 || n > chirper.MessageMaxLen || !utf8.ValidString(c.Message) {
			t.Fatalf("message %q breaks the rules", c.Message)
		}
		if len(c.Tags) > chirper.MaxTagsPerChirp {
			t.Fatalf("%d tags", len(c.Tags))
		}
		seen := map[string]bool{}
		for _, tg := range c.Tags {
			if seen[tg] || tg == "" || len(tg) > chirper.TagMaxLen || strings.Trim(tg, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
				t.Fatalf("tag %q breaks the rules (tags %q)", tg, c.Tags)
			}
			seen[tg] = true
		}
	})
}
