package config_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/chirper/chirper/pkg/config"
)

// fakeSSM speaks the SSM JSON protocol (awsJson1_1) for GetParametersByPath,
// two parameters a page, as the real service pages.
type fakeSSM struct {
	params map[string]string // name → value; names ending in "key" are SecureStrings
	deny   bool

	mu    sync.Mutex
	calls []map[string]any
}

func (f *fakeSSM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if r.Header.Get("X-Amz-Target") != "AmazonSSM.GetParametersByPath" || !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256") {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"__type":"UnknownOperationException"}`))
		return
	}
	var in map[string]any
	json.NewDecoder(r.Body).Decode(&in)
	f.mu.Lock()
	f.calls = append(f.calls, in)
	f.mu.Unlock()
	if f.deny {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"__type":"AccessDeniedException","message":"User: arn:aws:sts::1:assumed-role/task is not authorized to perform: ssm:GetParametersByPath"}`))
		return
	}
	path := in["Path"].(string)
	var names []string
	for name := range f.params {
		if strings.HasPrefix(name, path+"/") && (in["Recursive"] == true || !strings.Contains(strings.TrimPrefix(name, path+"/"), "/")) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	start, _ := strconv.Atoi(stringOr(in["NextToken"], "0"))
	end := min(start+2, len(names))
	out := map[string]any{}
	var page []map[string]any
	for _, name := range names[start:end] {
		typ, value := "String", f.params[name]
		if strings.HasSuffix(strings.ToLower(name), "key") {
			typ = "SecureString"
			if in["WithDecryption"] != true {
				value = "AQICAHencrypted=="
			}
		}
		page = append(page, map[string]any{"Name": name, "Value": value, "Type": typ})
	}
	out["Parameters"] = page
	if end < len(names) {
		out["NextToken"] = strconv.Itoa(end)
	}
	json.NewEncoder(w).Encode(out)
}

func stringOr(v any, def string) string {
	if s, ok := v.(string); ok {
		return s
	}
	return def
}

// useFake points the AWS SDK's SSM client at the fake, with made-up
// credentials.
func useFake(t *testing.T, f *fakeSSM) {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_SSM": srv.URL, "AWS_REGION": "eu-west-1",
		"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "not-a-real-secret",
	} {
		t.Setenv(k, v)
	}
}

// unsetForTest unsets the variables for this test, restoring them after.
func unsetForTest(t *testing.T, names ...string) {
	for _, n := range names {
		t.Setenv(n, "")
		os.Unsetenv(n)
	}
}

var params = map[string]string{
	"/chirper/prod/users/SIGNING_KEY":   "-----BEGIN PRIVATE KEY-----\nsecret\n-----END PRIVATE KEY-----\n",
	"/chirper/prod/users/bcrypt-cost":   "10",
	"/chirper/prod/users/HTTP_ADDR":     ":9000",
	"/chirper/prod/users/db/read_url":   "postgres://replica/db",
	"/chirper/prod/users/TOKEN_ISSUER":  "chirper-prod",
	"/chirper/prod/other/SIGNING_KEY":   "not for users",
	"/chirper/prod/users-x/SIGNING_KEY": "not under the path either",
}

func TestLoadSSM(t *testing.T) {
	f := &fakeSSM{params: params}
	useFake(t, f)
	ctx := context.Background()
	got, err := config.LoadSSM(ctx, ssmClient(t), "/chirper/prod/users/")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"CHIRPER_SIGNING_KEY":  params["/chirper/prod/users/SIGNING_KEY"],
		"CHIRPER_BCRYPT_COST":  "10",
		"CHIRPER_HTTP_ADDR":    ":9000",
		"CHIRPER_DB_READ_URL":  "postgres://replica/db",
		"CHIRPER_TOKEN_ISSUER": "chirper-prod",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d variables %v, want %d", len(got), keys(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if len(f.calls) != 3 {
		t.Fatalf("%d calls, want 3 pages of two", len(f.calls))
	}
	for _, c := range f.calls {
		if c["WithDecryption"] != true || c["Recursive"] != true || c["Path"] != "/chirper/prod/users" {
			t.Fatalf("call %v: want the path, recursive and decrypted", c)
		}
	}
}

func ssmClient(t *testing.T) *ssm.Client {
	t.Helper()
	return ssm.New(ssm.Options{
		Region:       "eu-west-1",
		BaseEndpoint: aws.String(os.Getenv("AWS_ENDPOINT_URL_SSM")),
		Credentials:  aws.NewCredentialsCache(staticCreds{}),
	})
}

type staticCreds struct{}

func (staticCreds) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "not-a-real-secret", Source: "test"}, nil
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestLoadFromSSM(t *testing.T) {
	ctx := context.Background()
	unsetForTest(t, "CHIRPER_SIGNING_KEY", "CHIRPER_BCRYPT_COST", "CHIRPER_DB_READ_URL", "CHIRPER_TOKEN_ISSUER")

	t.Run("EnvironmentWins", func(t *testing.T) {
		useFake(t, &fakeSSM{params: params})
		t.Setenv("CHIRPER_SSM_PATH", "/chirper/prod/users")
		t.Setenv("CHIRPER_HTTP_ADDR", ":7000")
		unsetForTest(t, "CHIRPER_SIGNING_KEY", "CHIRPER_BCRYPT_COST", "CHIRPER_TOKEN_ISSUER")
		cfg, err := config.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.HTTPAddr != ":7000" {
			t.Errorf("HTTPAddr = %q: SSM overrode the environment", cfg.HTTPAddr)
		}
		if cfg.BcryptCost != 10 || cfg.Issuer != "chirper-prod" || !strings.Contains(cfg.SigningKey, "PRIVATE KEY") {
			t.Errorf("SSM values not applied: cost %d, issuer %q", cfg.BcryptCost, cfg.Issuer)
		}
	})

	t.Run("ErrDenied", func(t *testing.T) {
		useFake(t, &fakeSSM{params: params, deny: true})
		t.Setenv("CHIRPER_SSM_PATH", "/chirper/prod/users")
		_, err := config.Load(ctx)
		if err == nil {
			t.Fatal("Load succeeded though SSM denied the call")
		}
		msg := err.Error()
		if !strings.Contains(msg, "AccessDeniedException") || !strings.Contains(msg, "/chirper/prod/users") {
			t.Fatalf("error %q does not say what was denied where", msg)
		}
		if strings.Contains(msg, "not-a-real-secret") {
			t.Fatalf("error %q leaks the credentials", msg)
		}
	})

	t.Run("NoPathNoCall", func(t *testing.T) {
		f := &fakeSSM{params: params}
		useFake(t, f)
		unsetForTest(t, "CHIRPER_SSM_PATH")
		if _, err := config.Load(ctx); err != nil {
			t.Fatal(err)
		}
		if len(f.calls) != 0 {
			t.Fatalf("%d SSM calls without CHIRPER_SSM_PATH", len(f.calls))
		}
	})
}

func TestVarName(t *testing.T) {
	for in, want := range map[string]string{
		"SIGNING_KEY":         "CHIRPER_SIGNING_KEY",
		"signing-key":         "CHIRPER_SIGNING_KEY",
		"db/read_url":         "CHIRPER_DB_READ_URL",
		"CHIRPER_RATE_LIMIT":  "CHIRPER_RATE_LIMIT",
		"/nested/deep/value/": "CHIRPER_NESTED_DEEP_VALUE",
	} {
		if got := config.VarName(in); got != want {
			t.Errorf("VarName(%q) = %q, want %q", in, got, want)
		}
	}
}
