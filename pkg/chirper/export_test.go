package chirper

import "time"

// SetReservedAheadTTL sets how long b's writers use the ids they reserved
// ahead. Call it before the first chirp.
func SetReservedAheadTTL(b *ChirpBatcher, ttl time.Duration) { b.aheadTTL = ttl }
