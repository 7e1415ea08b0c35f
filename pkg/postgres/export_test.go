package postgres

import "time"

// PurgeLockID is the advisory lock of the refresh-token purge, for the test
// that holds it as another process would.
const PurgeLockID = purgeLockID

// SetAnnouncePause has s's announcer rest d after each announcement; call
// it before s announces anything.
func SetAnnouncePause(s *ChirpStore, d time.Duration) { s.announcer.pause = d }

// Announce has s announce ids, as CreateChirps does after its commit.
func Announce(s *ChirpStore, ids []int64) { s.announcer.add(ids) }
