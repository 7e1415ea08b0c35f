package server_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/chirper/chirper/pkg/auth"
	"github.com/chirper/chirper/pkg/httpapi"
	"github.com/chirper/chirper/pkg/postgres"
	"github.com/chirper/chirper/pkg/postgres/pgtest"
	"github.com/chirper/chirper/pkg/server"
)

var groups = []string{httpapi.GroupUsers, httpapi.GroupListChirps, httpapi.GroupGetChirp, httpapi.GroupCreateChirp, httpapi.GroupStream}

// TestServicesServeTheirRoutesOnly walks the routing table against each
// service's own router: every route of its group reaches a handler, every
// other route is a 404. A route in the code but not in the table (or the
// reverse) fails here or at start-up.
func TestServicesServeTheirRoutesOnly(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	migrated, err := postgres.Open(ctx, dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := migrated.Migrate(ctx); err != nil { // services refuse an old schema
		t.Fatal(err)
	}
	migrated.Close()

	_, key, _ := ed25519.GenerateKey(rand.Reader)
	priv, _ := auth.MarshalPrivateKeyPEM(key)
	pub, _ := auth.MarshalPublicKeyPEM(key.Public().(ed25519.PublicKey))
	vars := regexp.MustCompile(`\{[a-z]+(:[^}]+)?\}`)

	for _, group := range groups {
		t.Run(group, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.DatabaseURL = dsn
			cfg.PublicKeys = string(pub)
			if group == httpapi.GroupUsers {
				cfg.SigningKey = string(priv)
			}
			srv, err := server.Build(ctx, server.Binary{Name: group, Groups: []string{group}}, cfg, quiet)
			if err != nil {
				t.Fatal(err)
			}
			for _, route := range httpapi.Routes {
				path := vars.ReplaceAllStringFunc(route.Path, func(v string) string {
					if v == "{username}" {
						return "someone"
					}
					return "12345"
				})
				w := httptest.NewRecorder()
				srv.Handler().ServeHTTP(w, httptest.NewRequest(route.Method, path, nil))
				var p struct{ Detail string }
				_ = json.Unmarshal(w.Body.Bytes(), &p)
				unrouted := w.Code == http.StatusMethodNotAllowed ||
					(w.Code == http.StatusNotFound && (p.Detail == "no such resource" || p.Detail == "no such resource here: another service serves it"))
				switch {
				case route.Group == group && unrouted:
					t.Errorf("%s %s: %d %q; the %s service must serve it", route.Method, path, w.Code, p.Detail, group)
				case route.Group != group && w.Code != http.StatusNotFound:
					t.Errorf("%s %s: %d; the %s service must answer 404 for the %s group's route", route.Method, path, w.Code, group, route.Group)
				}
			}
		})
	}
}

func TestServiceKeys(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	cfg.DatabaseURL = pgtest.NewDatabase(t)
	db, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	db.Close()

	// A read service with public keys only starts; users without a private
	// key does not; none starts with no key at all.
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	pub, _ := auth.MarshalPublicKeyPEM(key.Public().(ed25519.PublicKey))
	cfg.PublicKeys = string(pub)
	if _, err := server.Build(ctx, server.Binary{Name: "get-chirp", Groups: []string{httpapi.GroupGetChirp}}, cfg, quiet); err != nil {
		t.Fatalf("get-chirp with public keys only: %v", err)
	}
	if _, err := server.Build(ctx, server.Binary{Name: "users", Groups: []string{httpapi.GroupUsers}}, cfg, quiet); err == nil {
		t.Fatal("users started without a signing key")
	}
	cfg.PublicKeys = ""
	if _, err := server.Build(ctx, server.Binary{Name: "get-chirp", Groups: []string{httpapi.GroupGetChirp}}, cfg, quiet); err == nil {
		t.Fatal("get-chirp started without any key")
	}
}
