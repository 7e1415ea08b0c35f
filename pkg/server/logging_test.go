package server

import (
	"bytes"
	"fmt"
	"testing"
)

// countingWriter counts the writes that reach it: each would be a system
// call on stdout.
type countingWriter struct {
	bytes.Buffer
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes++
	return c.Buffer.Write(p)
}

func TestBufferedLog(t *testing.T) {
	var out countingWriter
	b := newBufferedLog(&out)
	for i := range 1000 {
		fmt.Fprintf(b, `{"msg":"request","n":%d}`+"\n", i)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got := bytes.Count(out.Bytes(), []byte("\n")); got != 1000 {
		t.Fatalf("%d lines written after Close, want 1000", got)
	}
	if out.writes > 10 {
		t.Fatalf("1000 lines took %d writes, want a few", out.writes)
	}
}
