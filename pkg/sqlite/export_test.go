package sqlite

// OpenSynchronous opens with another synchronous level, for the benchmark
// that prices durable commits.
var OpenSynchronous = open

// MaxConns is the size of each pool.
const MaxConns = maxConns
