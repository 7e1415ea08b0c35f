package httpapi

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestMarshalLineKeepsNoSpareRoom: an encoded answer that caches keep is
// its JSON and a newline, with no more room than its size class rounds up
// to, whatever its length.
func TestMarshalLineKeepsNoSpareRoom(t *testing.T) {
	for n := range 600 {
		v := map[string]string{"message": strings.Repeat("x", n)}
		line, err := marshalLine(v)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(v)
		if string(line) != string(want)+"\n" {
			t.Fatalf("%q, want %q and a newline", line, want)
		}
		if spare := cap(line) - len(line); spare > len(line)/8+16 {
			t.Fatalf("a %d-byte line holds %d bytes of spare room", len(line), spare)
		}
	}
}
