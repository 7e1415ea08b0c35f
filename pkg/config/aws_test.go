package config_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chirper/chirper/pkg/config"
)

func TestLoadAWS(t *testing.T) {
	clear := func(t *testing.T) {
		unsetForTest(t, "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
			"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
			"AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
	}
	ctx := context.Background()

	t.Run("ErrNoRegion", func(t *testing.T) {
		clear(t)
		t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
		if _, err := config.LoadAWS(); err == nil {
			t.Fatal("no region accepted")
		}
	})
	t.Run("ErrNoCredentials", func(t *testing.T) {
		clear(t)
		t.Setenv("AWS_DEFAULT_REGION", "eu-west-1")
		if _, err := config.LoadAWS(); err == nil {
			t.Fatal("no credentials accepted")
		}
	})
	t.Run("StaticKeys", func(t *testing.T) {
		clear(t)
		t.Setenv("AWS_REGION", "eu-west-1")
		t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "not-a-real-secret")
		a, err := config.LoadAWS()
		if err != nil {
			t.Fatal(err)
		}
		c, err := a.Credentials.Retrieve(ctx)
		if err != nil || c.AccessKeyID != "AKIDEXAMPLE" || a.Region != "eu-west-1" {
			t.Fatalf("%+v %v", c, err)
		}
	})
	t.Run("ContainerCredentials", func(t *testing.T) {
		// What ECS (with a full URI, as EKS Pod Identity) serves a task.
		calls := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls++
			if r.Header.Get("Authorization") != "task-token" {
				w.WriteHeader(http.StatusForbidden)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"AccessKeyId":"ASIATASKROLE","SecretAccessKey":"not-a-real-secret","Token":"session","Expiration":"` +
				time.Now().Add(time.Hour).UTC().Format(time.RFC3339) + `"}`))
		}))
		defer srv.Close()
		clear(t)
		t.Setenv("AWS_REGION", "eu-west-1")
		t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", srv.URL+"/creds")
		t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "task-token")
		a, err := config.LoadAWS()
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			c, err := a.Credentials.Retrieve(ctx)
			if err != nil || c.AccessKeyID != "ASIATASKROLE" || c.SessionToken != "session" {
				t.Fatalf("%+v %v", c, err)
			}
		}
		if calls != 1 {
			t.Fatalf("%d calls to the credentials endpoint, want 1 (cached until they expire)", calls)
		}
	})
}
