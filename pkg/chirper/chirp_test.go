package chirper_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chirper/chirper/pkg/chirper"
)

func TestNewChirpPrepare(t *testing.T) {
	tests := []struct {
		name     string
		in       chirper.NewChirp
		wantMsg  string
		wantTags []string
	}{
		{"Trimmed", chirper.NewChirp{Message: "  hi  "}, "hi", []string{}},
		{"Hashtags", chirper.NewChirp{Message: "#Go is #fun, #go!"}, "#Go is #fun, #go!", []string{"go", "fun"}},
		{"ExplicitFirst", chirper.NewChirp{Message: "about #db", Tags: []string{"#SQL", "db"}}, "about #db", []string{"sql", "db"}},
		{"NotAfterWordOrEntity", chirper.NewChirp{Message: "a#b &#39; c"}, "a#b &#39; c", []string{}},
		{"NewlineAndTab", chirper.NewChirp{Message: "line\n\tline"}, "line\n\tline", []string{}},
		{"280Runes", chirper.NewChirp{Message: strings.Repeat("é", 280)}, strings.Repeat("é", 280), []string{}},
		{"TenTags", chirper.NewChirp{Message: "#a #b #c #d #e #f #g #h #i #j"}, "#a #b #c #d #e #f #g #h #i #j",
			[]string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.in.Prepare()
			if err != nil {
				t.Fatal(err)
			}
			if c.Message != tc.wantMsg || !reflect.DeepEqual(c.Tags, tc.wantTags) {
				t.Fatalf("got %q %q, want %q %q", c.Message, c.Tags, tc.wantMsg, tc.wantTags)
			}
		})
	}
}

func TestNewChirpPrepareInvalid(t *testing.T) {
	tests := []struct {
		name       string
		in         chirper.NewChirp
		wantFields []string
	}{
		{"Empty", chirper.NewChirp{Message: ""}, []string{"message"}},
		{"OnlySpaces", chirper.NewChirp{Message: "  \n "}, []string{"message"}},
		{"281Runes", chirper.NewChirp{Message: strings.Repeat("x", 281)}, []string{"message"}},
		{"BadUTF8", chirper.NewChirp{Message: "bad \xff"}, []string{"message"}},
		{"ControlChar", chirper.NewChirp{Message: "bell\a"}, []string{"message"}},
		{"ElevenTags", chirper.NewChirp{Message: "#a #b #c #d #e #f #g #h #i #j #k"}, []string{"tags"}},
		{"BadExplicitTag", chirper.NewChirp{Message: "ok", Tags: []string{"no spaces"}}, []string{"tags"}},
		{"EmptyExplicitTag", chirper.NewChirp{Message: "ok", Tags: []string{""}}, []string{"tags"}},
		{"LongHashtag", chirper.NewChirp{Message: "#" + strings.Repeat("a", 51)}, []string{"message"}},
		{"NonASCIIHashtag", chirper.NewChirp{Message: "#café"}, []string{"message"}},
		{"EveryFieldAtOnce", chirper.NewChirp{Message: "", Tags: []string{"bad tag"}}, []string{"message", "tags"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.in.Prepare()
			assertFields(t, err, tc.wantFields)
		})
	}
}

func TestChirpFilter(t *testing.T) {
	f := chirper.ChirpFilter{Tags: []string{"Go", "#go", " DB "}, Author: "Alice"}
	f.Normalize()
	if !reflect.DeepEqual(f.Tags, []string{"go", "db"}) || f.Author != "alice" || f.Limit != chirper.DefaultPageLimit {
		t.Fatalf("normalized = %+v", f)
	}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}

	now := time.Now()
	invalid := []struct {
		name  string
		f     chirper.ChirpFilter
		field string
	}{
		{"LimitZero", chirper.ChirpFilter{Limit: -1}, "limit"},
		{"LimitTooBig", chirper.ChirpFilter{Limit: 101}, "limit"},
		{"BadTag", chirper.ChirpFilter{Tags: []string{"a-b"}, Limit: 1}, "tag"},
		{"UntilBeforeSince", chirper.ChirpFilter{Since: now, Until: now.Add(-time.Second), Limit: 1}, "until"},
		{"UntilEqualsSince", chirper.ChirpFilter{Since: now, Until: now, Limit: 1}, "until"},
		{"NegativeCursor", chirper.ChirpFilter{BeforeID: -5, Limit: 1}, "cursor"},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			assertFields(t, tc.f.Validate(), []string{tc.field})
		})
	}
}

// assertFields fails unless err is EINVALID naming exactly the fields.
func assertFields(tb testing.TB, err error, want []string) {
	tb.Helper()
	if code := chirper.ErrorCode(err); code != chirper.EINVALID {
		tb.Fatalf("code = %q (%v), want invalid", code, err)
	}
	e := err.(*chirper.Error)
	seen := map[string]bool{}
	var got []string
	for _, f := range e.Fields {
		if !seen[f.Field] {
			seen[f.Field] = true
			got = append(got, f.Field)
		}
		if f.Message == "" {
			tb.Errorf("field %q has no message", f.Field)
		}
	}
	if !reflect.DeepEqual(got, want) {
		tb.Fatalf("fields = %q, want %q (%+v)", got, want, e.Fields)
	}
}

func TestHashtags(t *testing.T) {
	for _, c := range []struct {
		message string
		want    []string
	}{
		{"hello #go", []string{"go"}},
		{"#go, then", []string{"go"}},
		{"hello #golang", []string{"golang"}},
		{"hello #go_fast", []string{"go_fast"}},
		{"no tags", nil},
		{"#golang and #Go", []string{"golang", "go"}},
		{"a#go &#39; #", nil},
	} {
		if got := chirper.Hashtags(c.message); !slices.Equal(got, c.want) {
			t.Errorf("Hashtags(%q) = %q, want %q", c.message, got, c.want)
		}
	}
}
