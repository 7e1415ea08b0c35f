package postgres

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
	rdsauth "github.com/aws/aws-sdk-go-v2/feature/rds/auth"
	"github.com/lib/pq"
)

// IAMConnector opens connections to RDS (or RDS Proxy) with IAM database
// authentication: each new connection signs in with a fresh token (valid 15
// minutes) made from the task's AWS credentials, so no database password
// exists anywhere.
type IAMConnector struct {
	base     *url.URL // the postgres:// URL, without a password
	endpoint string   // host:port, as the token is signed for it
	region   string
	creds    aws.CredentialsProvider
}

var _ driver.Connector = (*IAMConnector)(nil)

// NewIAMConnector returns an IAMConnector for the database at dsn (a
// postgres:// URL naming the user; a password in it is ignored) in region.
func NewIAMConnector(dsn, region string, creds aws.CredentialsProvider) (*IAMConnector, error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.User == nil || u.User.Username() == "" {
		return nil, errors.New("postgres: IAM authentication needs a postgres://USER@HOST:PORT/DB URL")
	}
	if region == "" {
		return nil, errors.New("postgres: IAM authentication needs the AWS region (AWS_REGION)")
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "5432"
	}
	u.User = url.User(u.User.Username())
	q := u.Query()
	if q.Get("sslmode") == "" {
		q.Set("sslmode", "require") // IAM tokens travel only over TLS
		u.RawQuery = q.Encode()
	}
	return &IAMConnector{base: u, endpoint: net.JoinHostPort(host, port), region: region, creds: creds}, nil
}

// Token returns a new authentication token for the connector's user.
func (c *IAMConnector) Token(ctx context.Context) (string, error) {
	return rdsauth.BuildAuthToken(ctx, c.endpoint, c.region, c.base.User.Username(), c.creds)
}

// DSN returns the connection URL with a new token as its password, good
// for one sign-in in the next 15 minutes.
func (c *IAMConnector) DSN(ctx context.Context) (string, error) {
	token, err := c.Token(ctx)
	if err != nil {
		return "", fmt.Errorf("postgres: IAM token: %w", err)
	}
	u := *c.base
	u.User = url.UserPassword(c.base.User.Username(), token)
	return u.String(), nil
}

// Connect opens one connection with a token made for it.
func (c *IAMConnector) Connect(ctx context.Context) (driver.Conn, error) {
	dsn, err := c.DSN(ctx)
	if err != nil {
		return nil, err
	}
	connector, err := NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return connector.Connect(ctx)
}

// Driver returns the lib/pq driver.
func (c *IAMConnector) Driver() driver.Driver { return &pq.Driver{} }
