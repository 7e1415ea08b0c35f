package config_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"

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

// useFake points SSM calls, the loader's and the SDK's, at the fake, with
// made-up credentials.
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

func TestParametersByPath(t *testing.T) {
	f := &fakeSSM{params: params}
	useFake(t, f)
	ctx := context.Background()
	got, err := config.NewSSM(testAWS()).ParametersByPath(ctx, "/chirper/prod/users/")
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

func testAWS() *config.AWS {
	return &config.AWS{Region: "eu-west-1", Credentials: aws.NewCredentialsCache(staticCreds{})}
}

type staticCreds struct{}

func (staticCreds) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "not-a-real-secret", SessionToken: "a-session", Source: "test"}, nil
}

// sdkParametersByPath is what the loader did with the SDK's own SSM client
// before it made the call itself: the reference the tests hold it to.
func sdkParametersByPath(ctx context.Context, path string) (map[string]string, error) {
	client := ssm.New(ssm.Options{
		Region:       "eu-west-1",
		BaseEndpoint: aws.String(os.Getenv("AWS_ENDPOINT_URL_SSM")),
		Credentials:  aws.NewCredentialsCache(staticCreds{}),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		}),
	})
	path = "/" + strings.Trim(path, "/")
	vars := make(map[string]string)
	p := ssm.NewGetParametersByPathPaginator(client, &ssm.GetParametersByPathInput{
		Path: aws.String(path), Recursive: aws.Bool(true), WithDecryption: aws.Bool(true),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			var apiErr smithy.APIError
			if errors.As(err, &apiErr) {
				return nil, fmt.Errorf("config: reading SSM parameters under %s: %s: %s", path, apiErr.ErrorCode(), apiErr.ErrorMessage())
			}
			return nil, err
		}
		for _, param := range page.Parameters {
			vars[config.VarName(strings.TrimPrefix(aws.ToString(param.Name), path+"/"))] = aws.ToString(param.Value)
		}
	}
	return vars, nil
}

// sent is what a request to SSM carried that SSM reads.
type sent struct {
	Method, Path, ContentType, Target, Scope, Token string
	Body                                            map[string]any
	Signed                                          bool
}

// recordSSM serves with f and records each request it is sent.
func recordSSM(t *testing.T, f http.Handler) *[]sent {
	var reqs []sent
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s := sent{Method: r.Method, Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"),
			Target: r.Header.Get("X-Amz-Target"), Token: r.Header.Get("X-Amz-Security-Token")}
		json.Unmarshal(body, &s.Body)
		auth := r.Header.Get("Authorization")
		if _, cred, ok := strings.Cut(auth, "Credential=AKIDEXAMPLE/"); ok {
			_, s.Scope, _ = strings.Cut(strings.SplitN(cred, ",", 2)[0], "/")
		}
		_, signed, _ := strings.Cut(auth, "SignedHeaders=")
		signed = strings.SplitN(signed, ",", 2)[0]
		s.Signed = strings.Contains(signed, "host") && strings.Contains(signed, "x-amz-date") &&
			strings.Contains(signed, "x-amz-target") && strings.Contains(signed, "content-type")
		mu.Lock()
		reqs = append(reqs, s)
		mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		f.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ENDPOINT_URL_SSM", srv.URL)
	return &reqs
}

// TestSSMSendsWhatTheSDKSends holds the loader's own GetParametersByPath
// call to the SDK's client: the same requests, signed for the same scope,
// and the same variables or error from the same answers.
func TestSSMSendsWhatTheSDKSends(t *testing.T) {
	ctx := context.Background()
	config.NoSSMBackoff(t)
	both := func(t *testing.T, f http.Handler, path string) {
		t.Helper()
		got := recordSSM(t, f)
		mine, myErr := config.NewSSM(testAWS()).ParametersByPath(ctx, path)
		mineSent := slices.Clone(*got)
		*got = nil
		sdk, sdkErr := sdkParametersByPath(ctx, path)
		if fmt.Sprint(myErr) != fmt.Sprint(sdkErr) {
			t.Errorf("error %v, the SDK's %v", myErr, sdkErr)
		}
		if !maps.Equal(mine, sdk) {
			t.Errorf("variables %v, the SDK's %v", mine, sdk)
		}
		if !reflect.DeepEqual(mineSent, *got) {
			t.Errorf("sent\n%+v\nthe SDK sent\n%+v", mineSent, *got)
		}
		for _, s := range mineSent {
			if !s.Signed || s.Scope != "eu-west-1/ssm/aws4_request" || s.Token != "a-session" {
				t.Errorf("request %+v: not signed for SSM in eu-west-1 with the session token", s)
			}
		}
	}
	t.Run("Pages", func(t *testing.T) { both(t, &fakeSSM{params: params}, "/chirper/prod/users/") })
	t.Run("Empty", func(t *testing.T) { both(t, &fakeSSM{params: params}, "/chirper/none") })
	for name, answer := range map[string]struct {
		status       int
		header, body string
	}{
		"Namespaced":  {400, "", `{"__type":"com.amazonaws.ssm#AccessDeniedException","message":"not authorized"}`},
		"InHeader":    {400, "ParameterNotFound:http://internal.amazon.com/coral/com.amazonaws.ssm/", `{"message":"no such path"}`},
		"Code":        {400, "", `{"code":"InvalidKeyId","Message":"the key is disabled"}`},
		"HeaderWins":  {400, "ValidationException", `{"__type":"AccessDeniedException","Message":"the path is too long"}`},
		"ServerError": {500, "", `{"__type":"InternalServerError","message":"try again"}`},
	} {
		t.Run("Err"+name, func(t *testing.T) {
			both(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if answer.header != "" {
					w.Header().Set("X-Amzn-ErrorType", answer.header)
				}
				w.WriteHeader(answer.status)
				io.WriteString(w, answer.body)
			}), "/chirper/prod")
		})
	}
}

// failing answers with SSM's throttling error, or a 500, n times, then
// serves f.
type failing struct {
	f      *fakeSSM
	n      int
	status int
	calls  int
}

func (h *failing) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.calls++; h.calls <= h.n {
		w.WriteHeader(h.status)
		io.WriteString(w, `{"__type":"ThrottlingException","message":"Rate exceeded"}`)
		return
	}
	h.f.ServeHTTP(w, r)
}

func TestSSMRetries(t *testing.T) {
	ctx := context.Background()
	config.NoSSMBackoff(t)
	for _, status := range []int{400, 500, 503} {
		t.Run(fmt.Sprint("Throttled", status), func(t *testing.T) {
			h := &failing{f: &fakeSSM{params: params}, n: 2, status: status}
			recordSSM(t, h)
			got, err := config.NewSSM(testAWS()).ParametersByPath(ctx, "/chirper/prod/users")
			if err != nil || len(got) != 5 {
				t.Fatalf("after two failures: %d variables, error %v", len(got), err)
			}
			if h.calls != 5 {
				t.Fatalf("%d calls, want 2 failed and 3 pages", h.calls)
			}
		})
	}
	t.Run("ErrGivesUp", func(t *testing.T) {
		h := &failing{f: &fakeSSM{params: params}, n: 100, status: 400}
		recordSSM(t, h)
		_, err := config.NewSSM(testAWS()).ParametersByPath(ctx, "/chirper/prod/users")
		if err == nil || !strings.Contains(err.Error(), "ThrottlingException: Rate exceeded") {
			t.Fatalf("error %v, want the throttling", err)
		}
		if h.calls != 3 {
			t.Fatalf("%d calls, want the SDK's standard 3 attempts", h.calls)
		}
	})
	t.Run("ErrDeniedOnce", func(t *testing.T) {
		f := &fakeSSM{params: params, deny: true}
		reqs := recordSSM(t, f)
		if _, err := config.NewSSM(testAWS()).ParametersByPath(ctx, "/chirper/prod/users"); err == nil {
			t.Fatal("a denied call succeeded")
		}
		if len(*reqs) != 1 {
			t.Fatalf("%d calls: a refusal was retried", len(*reqs))
		}
	})
	t.Run("ErrCanceled", func(t *testing.T) {
		h := &failing{f: &fakeSSM{params: params}, n: 100, status: 503}
		recordSSM(t, h)
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := config.NewSSM(testAWS()).ParametersByPath(ctx, "/chirper/prod/users"); !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want context.Canceled", err)
		}
	})
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

// TestSSMEndpoint holds the loader's endpoint to the SDK's resolver in the
// commercial, GovCloud and China partitions; AWS_ENDPOINT_URL_SSM wins.
func TestSSMEndpoint(t *testing.T) {
	unsetForTest(t, "AWS_ENDPOINT_URL_SSM", "AWS_ENDPOINT_URL")
	resolver := ssm.NewDefaultEndpointResolverV2()
	for _, region := range []string{"eu-west-1", "us-east-1", "ap-southeast-2", "us-gov-west-1", "cn-north-1", "cn-northwest-1"} {
		want, err := resolver.ResolveEndpoint(context.Background(), ssm.EndpointParameters{Region: aws.String(region)})
		if err != nil {
			t.Fatal(err)
		}
		if got := config.NewSSM(&config.AWS{Region: region}).Endpoint(); got != want.URI.String() {
			t.Errorf("%s: endpoint %s, the SDK's %s", region, got, want.URI.String())
		}
	}
	t.Setenv("AWS_ENDPOINT_URL_SSM", "https://vpce-1.ssm.eu-west-1.vpce.amazonaws.com")
	if got := config.NewSSM(&config.AWS{Region: "eu-west-1"}).Endpoint(); got != "https://vpce-1.ssm.eu-west-1.vpce.amazonaws.com" {
		t.Errorf("endpoint %s with AWS_ENDPOINT_URL_SSM set", got)
	}
}

type noCreds struct{}

func (noCreds) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{}, errors.New("the task role's credentials endpoint is down")
}

// TestSSMFails: calls that cannot succeed fail with an error saying why and
// where, and are not retried when a retry cannot help.
func TestSSMFails(t *testing.T) {
	ctx := context.Background()
	config.NoSSMBackoff(t)
	t.Run("ErrNoCredentials", func(t *testing.T) {
		reqs := recordSSM(t, &fakeSSM{params: params})
		_, err := config.NewSSM(&config.AWS{Region: "eu-west-1", Credentials: noCreds{}}).ParametersByPath(ctx, "/chirper/prod/users")
		if err == nil || !strings.Contains(err.Error(), "credentials endpoint is down") || !strings.Contains(err.Error(), "/chirper/prod/users") {
			t.Fatalf("error %v, want the credentials' failure and the path", err)
		}
		if len(*reqs) != 0 {
			t.Fatalf("%d calls sent without credentials", len(*reqs))
		}
	})
	t.Run("ErrNotJSON", func(t *testing.T) {
		reqs := recordSSM(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "<html>a captive portal</html>")
		}))
		_, err := config.NewSSM(testAWS()).ParametersByPath(ctx, "/chirper/prod/users")
		if err == nil || !strings.Contains(err.Error(), "decoding the answer") {
			t.Fatalf("error %v, want the answer's decoding", err)
		}
		if len(*reqs) != 1 {
			t.Fatalf("%d calls: an answer that does not parse was retried", len(*reqs))
		}
	})
	t.Run("ErrNoEndpoint", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close() // nothing listens there now
		t.Setenv("AWS_ENDPOINT_URL_SSM", srv.URL)
		_, err := config.NewSSM(testAWS()).ParametersByPath(ctx, "/chirper/prod/users")
		if err == nil || !strings.Contains(err.Error(), "/chirper/prod/users") {
			t.Fatalf("error %v, want the failed call and the path", err)
		}
	})
}
