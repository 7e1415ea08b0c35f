package postgres

// PurgeLockID is the advisory lock of the refresh-token purge, for the test
// that holds it as another process would.
const PurgeLockID = purgeLockID

// Announce has s announce ids, as CreateChirps does after its commit.
func Announce(s *ChirpStore, ids []int64) { s.announcer.add(ids) }
