package config

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/restjson"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// SSMPathVar names the SSM Parameter Store path whose parameters fill the
// configuration.
const SSMPathVar = Prefix + "_SSM_PATH"

// SSM calls the one SSM operation the loader needs, GetParametersByPath,
// over SSM's JSON protocol (awsJson1_1), signed by the AWS SDK's SigV4
// signer and retried as the SDK's standard retryer decides.
//
// It stands in for the SDK's generated SSM client, whose package builds a
// schema of every SSM shape when the process starts: 1.4 MB of heap and
// 3.5 MB of resident memory in every Chirper process, for a call made once.
// TestSSMSendsWhatTheSDKSends holds the two to the same requests and results.
type SSM struct {
	aws      *AWS
	endpoint string
	client   *http.Client
	signer   *v4.Signer
	retryer  aws.Retryer
}

// ssmTimeout bounds each attempt of a call.
const ssmTimeout = 10 * time.Second

// NewSSM returns a client for SSM in a's region: at AWS_ENDPOINT_URL_SSM
// (or AWS_ENDPOINT_URL) when set, else at the region's public endpoint.
func NewSSM(a *AWS) *SSM {
	endpoint := "https://ssm." + a.Region + ".amazonaws.com"
	if strings.HasPrefix(a.Region, "cn-") {
		endpoint += ".cn"
	}
	if e := endpointFor("ssm"); e != nil {
		endpoint = *e
	}
	return &SSM{
		aws:      a,
		endpoint: endpoint,
		client:   &http.Client{Timeout: ssmTimeout},
		signer:   v4.NewSigner(),
		retryer:  retry.NewStandard(func(o *retry.StandardOptions) { o.Backoff = ssmBackoff }),
	}
}

// ssmBackoff is the SDK's own backoff: exponential with jitter, at most 20 s.
var ssmBackoff retry.BackoffDelayer = retry.NewExponentialJitterBackoff(retry.DefaultMaxBackoff)

// apiError is an error answer from SSM: its code (such as
// AccessDeniedException) and message. The SDK's retryer reads both methods
// to tell a throttled or failed call, which it retries, from a refusal.
type apiError struct {
	status        int
	code, message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

// ErrorCode is the error's code, as smithy.APIError has it.
func (e *apiError) ErrorCode() string { return e.code }

// HTTPStatusCode is the status of the answer.
func (e *apiError) HTTPStatusCode() int { return e.status }

type ssmParameter struct{ Name, Value string }

type ssmPage struct {
	Parameters []ssmParameter
	NextToken  string
}

// ParametersByPath reads every parameter under path (recursively,
// SecureStrings decrypted, every page) and returns them by the variable
// each stands for: /chirper/prod/users/SIGNING_KEY under /chirper/prod/users
// is CHIRPER_SIGNING_KEY. Errors name the path and the AWS error code, never
// a value.
func (s *SSM) ParametersByPath(ctx context.Context, path string) (map[string]string, error) {
	path = "/" + strings.Trim(path, "/")
	vars := make(map[string]string)
	in := struct {
		Path           string
		Recursive      bool
		WithDecryption bool
		NextToken      string `json:",omitempty"`
	}{Path: path, Recursive: true, WithDecryption: true}
	for {
		page, err := s.page(ctx, in)
		if err != nil { // SSM's answer reads "code: message"
			return nil, fmt.Errorf("config: reading SSM parameters under %s: %w", path, err)
		}
		for _, p := range page.Parameters {
			vars[VarName(strings.TrimPrefix(p.Name, path+"/"))] = p.Value
		}
		if page.NextToken == "" {
			return vars, nil
		}
		in.NextToken = page.NextToken
	}
}

// page calls GetParametersByPath with in, retrying what the retryer says
// may succeed on a later attempt.
func (s *SSM) page(ctx context.Context, in any) (*ssmPage, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		page, err := s.call(ctx, body)
		if err == nil || attempt >= s.retryer.MaxAttempts() || !s.retryer.IsErrorRetryable(err) || ctx.Err() != nil {
			return page, err
		}
		delay, derr := s.retryer.RetryDelay(attempt, err)
		if derr != nil {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(delay):
		}
	}
}

func (s *SSM) call(ctx context.Context, body []byte) (*ssmPage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonSSM.GetParametersByPath")
	creds, err := s.aws.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("AWS credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := s.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "ssm", s.aws.Region, time.Now()); err != nil {
		return nil, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	// A page holds at most 10 parameters of at most 8 KB each.
	dec := json.NewDecoder(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		return nil, readError(resp, dec)
	}
	var page ssmPage
	if err := dec.Decode(&page); err != nil {
		return nil, fmt.Errorf("decoding the answer: %w", err)
	}
	return &page, nil
}

// readError reads an error answer as the SDK does: the code from the
// X-Amzn-ErrorType header, else from the body's __type, else its code,
// without the namespace; the message from the body.
func readError(resp *http.Response, body *json.Decoder) error {
	var info struct {
		Type    string `json:"__type"`
		Code    any
		Message string
	}
	body.Decode(&info)
	code, _ := info.Code.(string)
	for _, c := range []string{resp.Header.Get("X-Amzn-ErrorType"), info.Type} {
		if c != "" {
			code = c
			break
		}
	}
	if code == "" {
		code = "UnknownError"
	}
	if info.Message == "" {
		info.Message = resp.Status
	}
	return &apiError{status: resp.StatusCode, code: restjson.SanitizeErrorCode(code), message: info.Message}
}

// VarName is the environment variable a parameter name (relative to the
// path) stands for: upper case, "/" and "-" as "_", with the CHIRPER_ prefix.
func VarName(param string) string {
	name := strings.ToUpper(strings.NewReplacer("/", "_", "-", "_").Replace(strings.Trim(param, "/")))
	if !strings.HasPrefix(name, Prefix+"_") {
		name = Prefix + "_" + name
	}
	return name
}

// applySSM fills the variables that the environment does not set from the
// parameters under CHIRPER_SSM_PATH, when it is set: the environment wins.
func applySSM(ctx context.Context) error {
	path := os.Getenv(SSMPathVar)
	if path == "" {
		return nil
	}
	a, err := LoadAWS()
	if err != nil {
		return fmt.Errorf("%w (needed for %s)", err, SSMPathVar)
	}
	vars, err := NewSSM(a).ParametersByPath(ctx, path)
	if err != nil {
		return err
	}
	for name, value := range vars {
		if _, set := os.LookupEnv(name); !set {
			if err := os.Setenv(name, value); err != nil {
				return fmt.Errorf("config: setting %s from SSM: %w", name, err)
			}
		}
	}
	return nil
}
