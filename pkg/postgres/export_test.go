package postgres

// PurgeLockID is the advisory lock of the refresh-token purge, for the test
// that holds it as another process would.
const PurgeLockID = purgeLockID
