package config

import (
	"testing"
	"time"
)

// NoSSMBackoff makes SSM retries immediate for the test.
func NoSSMBackoff(t *testing.T) {
	old := ssmBackoff
	ssmBackoff = noBackoff{}
	t.Cleanup(func() { ssmBackoff = old })
}

type noBackoff struct{}

func (noBackoff) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }

// Endpoint is where s sends its calls.
func (s *SSM) Endpoint() string { return s.endpoint }
