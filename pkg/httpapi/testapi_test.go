package httpapi

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chirper/chirper/pkg/auth"
	"github.com/chirper/chirper/pkg/chirper"
	"github.com/chirper/chirper/pkg/sqlite"
	"github.com/chirper/chirper/pkg/sqlite/sqlitetest"
)

// countingHasher counts the bcrypt hashes and checks the handlers ask for.
type countingHasher struct {
	chirper.PasswordHasher
	hashes, checks atomic.Int32
}

func (h *countingHasher) Hash(password string) (string, error) {
	h.hashes.Add(1)
	return h.PasswordHasher.Hash(password)
}

func (h *countingHasher) Check(u *chirper.User, password string) error {
	h.checks.Add(1)
	return h.PasswordHasher.Check(u, password)
}

// testAPI is the whole API on a fresh SQLite database.
type testAPI struct {
	handler    http.Handler
	hasher     *countingHasher
	adminToken string // of an admin called fuzzer
}

func newTestAPI(tb testing.TB, limits AuthLimits, logs io.Writer, configure ...func(*Options)) *testAPI {
	tb.Helper()
	db := sqlitetest.MustOpenDB(tb)
	passwords, err := auth.NewPasswords(4)
	if err != nil {
		tb.Fatal(err)
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	users, chirps := sqlite.NewUserStore(db), sqlite.NewChirpStore(db)
	hash, err := passwords.Hash("fuzzer password")
	if err != nil {
		tb.Fatal(err)
	}
	admin := &chirper.User{Username: "fuzzer", Role: chirper.RoleAdmin, PasswordHash: hash}
	if err := users.CreateUser(context.Background(), admin); err != nil {
		tb.Fatal(err)
	}
	signer := auth.NewSigner(key, "iss", "aud", time.Hour)
	token, err := signer.Sign(admin)
	if err != nil {
		tb.Fatal(err)
	}
	verifier, err := auth.NewVerifier([]ed25519.PublicKey{key.Public().(ed25519.PublicKey)}, "iss", "aud")
	if err != nil {
		tb.Fatal(err)
	}
	hasher := &countingHasher{PasswordHasher: passwords}
	caches := chirper.NewCaches(true)
	log := slog.New(slog.NewJSONHandler(logs, nil))
	o := Options{Logger: log, Metrics: NewMetrics(prometheus.NewRegistry()), Verifier: verifier, AccessLog: AccessLog{Every: true}}
	for _, c := range configure {
		c(&o)
	}
	follows := chirper.NewReportedFollows(sqlite.NewFollowStore(db), caches)
	h, err := NewHandler(o,
		UsersGroup(log, users, follows, hasher, signer, auth.NewSessions(sqlite.NewRefreshTokenStore(db), time.Hour), limits, sqlite.NewIdempotencyStore(db)),
		ListChirpsGroup(log, chirps, users, NewPageCache(caches, 1<<20), chirper.NewFollowCounts(follows, caches, 1<<20)), GetChirpGroup(log, chirps, NewChirpCache(caches, 1<<20)), CreateChirpGroup(log, chirps, users, sqlite.NewIdempotencyStore(db), caches))
	if err != nil {
		tb.Fatal(err)
	}
	return &testAPI{handler: h, hasher: hasher, adminToken: token}
}
