package postgres_test

import (
	"context"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/chirper/chirper/pkg/postgres"
	"github.com/chirper/chirper/pkg/postgres/pgtest"
)

// countingCreds hands out fixed credentials and counts how often it is
// asked, as the task role's provider would be.
type countingCreds struct{ n atomic.Int64 }

func (c *countingCreds) Retrieve(context.Context) (aws.Credentials, error) {
	c.n.Add(1)
	return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "not-a-real-secret", Source: "test"}, nil
}

func TestIAMTokenShape(t *testing.T) {
	c, err := postgres.NewIAMConnector("postgres://app_users@proxy.example.internal:5432/chirper", "eu-west-1", &countingCreds{})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse("https://" + tok)
	if err != nil {
		t.Fatalf("token %q is not a presigned URL: %v", tok, err)
	}
	q := u.Query()
	if u.Host != "proxy.example.internal:5432" || q.Get("Action") != "connect" || q.Get("DBUser") != "app_users" {
		t.Fatalf("token for %s, action %q, user %q", u.Host, q.Get("Action"), q.Get("DBUser"))
	}
	if q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" || q.Get("X-Amz-Signature") == "" ||
		!strings.Contains(q.Get("X-Amz-Credential"), "/eu-west-1/rds-db/aws4_request") {
		t.Fatalf("token is not a SigV4 signature for rds-db in the region: %v", q)
	}
	if q.Get("X-Amz-Expires") != "900" {
		t.Fatalf("X-Amz-Expires = %q, want 900 (15 minutes)", q.Get("X-Amz-Expires"))
	}
	signed, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	if err != nil || time.Since(signed) > time.Minute || time.Until(signed) > time.Minute {
		t.Fatalf("X-Amz-Date %q is not now: a token must be made when it is used", q.Get("X-Amz-Date"))
	}
	if strings.Contains(tok, "not-a-real-secret") {
		t.Fatal("the token contains the secret key")
	}
}

func TestIAMConnectorErrors(t *testing.T) {
	for _, dsn := range []string{"postgres://proxy:5432/db", "mysql://u@h/db", "::"} {
		if _, err := postgres.NewIAMConnector(dsn, "eu-west-1", &countingCreds{}); err == nil {
			t.Errorf("NewIAMConnector(%q) accepted", dsn)
		}
	}
	if _, err := postgres.NewIAMConnector("postgres://u@h:5432/db", "", &countingCreds{}); err == nil {
		t.Error("no region accepted")
	}
}

// TestIAMConnectorNewTokenPerConnection connects to the test server (which
// trusts any password) through the connector: every new connection must
// sign in with a token of its own.
func TestIAMConnectorNewTokenPerConnection(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	u, _ := url.Parse(dsn)
	if u.User == nil {
		u.User = url.User("postgres")
	}
	creds := &countingCreds{}
	c, err := postgres.NewIAMConnector(u.String(), "eu-west-1", creds)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := postgres.OpenConnector(ctx, c, postgres.Options{MaxOpenConns: 1, MaxIdleConns: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for range 3 {
		var one int
		if err := db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
			t.Fatal(err)
		}
	}
	// Ping at open plus three queries, none reusing an idle connection.
	if got := creds.n.Load(); got != 4 {
		t.Fatalf("%d tokens for 4 connections", got)
	}
}

// expiringCreds hands out credentials that expire after a moment, each time
// with a new key id, as a task role's do over hours.
type expiringCreds struct{ n atomic.Int64 }

func (c *expiringCreds) Retrieve(context.Context) (aws.Credentials, error) {
	n := c.n.Add(1)
	return aws.Credentials{
		AccessKeyID: "ASIAROUND" + string(rune('0'+n)), SecretAccessKey: "not-a-real-secret",
		CanExpire: true, Expires: time.Now().Add(1500 * time.Millisecond), Source: "test",
	}, nil
}

// TestIAMTokenRespectsCredentialExpiry: tokens are signed with current
// credentials; expired ones are fetched anew, live ones are not.
func TestIAMTokenRespectsCredentialExpiry(t *testing.T) {
	creds := &expiringCreds{}
	// The cache refreshes a little before expiry; 1.5 s keeps it valid now.
	c, err := postgres.NewIAMConnector("postgres://app_users@proxy.example.internal:5432/chirper", "eu-west-1",
		aws.NewCredentialsCache(creds, func(o *aws.CredentialsCacheOptions) { o.ExpiryWindow = 0 }))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	keyOf := func() string {
		tok, err := c.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse("https://" + tok)
		return strings.Split(u.Query().Get("X-Amz-Credential"), "/")[0]
	}
	first, again := keyOf(), keyOf()
	if first != again || creds.n.Load() != 1 {
		t.Fatalf("live credentials fetched %d times (%s, %s)", creds.n.Load(), first, again)
	}
	time.Sleep(1600 * time.Millisecond)
	if later := keyOf(); later == first || creds.n.Load() != 2 {
		t.Fatalf("after expiry the token is still signed with %s (%d fetches)", later, creds.n.Load())
	}
}
