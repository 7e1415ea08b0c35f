package config_test

import (
	"context"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/chirper/chirper/pkg/config"
)

// TestREADMEListsEveryVariable keeps the README's configuration table whole.
func TestREADMEListsEveryVariable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var usage strings.Builder
	if err := config.Usage(&usage); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(usage.String(), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && strings.HasPrefix(f[0], "CHIRPER_") && !strings.Contains(string(readme), "`"+f[0]+"`") {
			t.Errorf("README.md does not list %s", f[0])
		}
	}
}

func TestDatabase(t *testing.T) {
	tests := []struct {
		url, dataDir, kind, dsn string
	}{
		{"", "./data", config.SQLite, "data/chirper.db"},
		{"sqlite:/var/lib/chirper.db", "", config.SQLite, "/var/lib/chirper.db"},
		{"sqlite:///tmp/x.db", "", config.SQLite, "/tmp/x.db"},
		{"postgres://u@h/db", "", config.Postgres, "postgres://u@h/db"},
		{"postgresql://u@h/db", "", config.Postgres, "postgresql://u@h/db"},
	}
	for _, tc := range tests {
		c := config.Config{DatabaseURL: tc.url, DataDir: tc.dataDir}
		kind, dsn, err := c.Database()
		if err != nil || kind != tc.kind || dsn != tc.dsn {
			t.Errorf("%q: %s %s %v, want %s %s", tc.url, kind, dsn, err, tc.kind, tc.dsn)
		}
	}
	for _, bad := range []string{"mysql://x", "sqlite:", "file.db"} {
		if _, _, err := (&config.Config{DatabaseURL: bad}).Database(); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestLoadRejects(t *testing.T) {
	ctx := context.Background()
	unsetForTest(t, "CHIRPER_SSM_PATH")
	for name, env := range map[string]map[string]string{
		"TLSCertWithoutKey": {"CHIRPER_TLS_CERT_FILE": "cert.pem"},
		"BcryptCostLow":     {"CHIRPER_BCRYPT_COST": "3"},
		"NegativeRateLimit": {"CHIRPER_RATE_LIMIT": "-1"},
		"NegativeCacheMB":   {"CHIRPER_CACHE_MB": "-1"},
		"NoReadBatch":       {"CHIRPER_READ_BATCH": "0"},
		"NoReadReaders":     {"CHIRPER_READ_READERS": "0"},
		"BadProxyCIDR":      {"CHIRPER_TRUSTED_PROXIES": "10.0.0.0/8,nonsense"},
		"BadLogLevel":       {"CHIRPER_LOG_LEVEL": "loud"},
		"BadDuration":       {"CHIRPER_ACCESS_TOKEN_TTL": "soon"},
	} {
		t.Run(name, func(t *testing.T) {
			for k, v := range env {
				t.Setenv(k, v)
			}
			if _, err := config.Load(ctx); err == nil {
				t.Fatal("Load accepted it")
			}
		})
	}
	t.Run("Defaults", func(t *testing.T) {
		cfg, err := config.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.BcryptCost != 12 || cfg.AccessTokenTTL.Minutes() != 15 || cfg.AdminAddr != "127.0.0.1:9090" {
			t.Fatalf("defaults: %+v", cfg)
		}
		proxies, _ := (&config.Config{TrustedProxies: []string{"10.0.0.0/8", " 192.168.0.0/16"}}).TrustedProxyPrefixes()
		if got := len(proxies); got != 2 || reflect.ValueOf(proxies[1]).IsZero() {
			t.Fatalf("TrustedProxyPrefixes = %v", proxies)
		}
	})
}

func TestLoadLocalUpstreams(t *testing.T) {
	t.Setenv("CHIRPER_UPSTREAMS", "users:http://users:8080, list-chirps:http://a:8080 http://b:8080,list-chirps:http://c:8080")
	l, err := config.LoadLocal()
	if err != nil {
		t.Fatal(err)
	}
	want := config.Upstreams{"users": "http://users:8080", "list-chirps": "http://a:8080 http://b:8080 http://c:8080"}
	if !reflect.DeepEqual(l.Upstreams, want) {
		t.Fatalf("upstreams %v, want %v", l.Upstreams, want)
	}
	t.Setenv("CHIRPER_UPSTREAMS", "users")
	if _, err := config.LoadLocal(); err == nil {
		t.Fatal("a group without a URL was accepted")
	}
}
