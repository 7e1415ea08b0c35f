package config

import (
	"errors"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
)

// ecsCredentialsHost is where ECS serves a task its role's credentials.
const ecsCredentialsHost = "http://169.254.170.2"

// AWS is what the process needs to call AWS: the region and credentials.
type AWS struct {
	Region      string
	Credentials aws.CredentialsProvider
}

// LoadAWS reads the AWS settings from the standard environment variables:
// the region from AWS_REGION (or AWS_DEFAULT_REGION); credentials from
// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (with AWS_SESSION_TOKEN), else
// from the ECS task role (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, or
// _FULL_URI with AWS_CONTAINER_AUTHORIZATION_TOKEN). It does not read shared
// config files or SSO profiles: their SDK support alone would push the
// service binaries over their size budget, and tasks never need them.
func LoadAWS() (*AWS, error) {
	region := firstEnv("AWS_REGION", "AWS_DEFAULT_REGION")
	if region == "" {
		return nil, errors.New("config: AWS_REGION is not set")
	}
	var creds aws.CredentialsProvider
	switch {
	case os.Getenv("AWS_ACCESS_KEY_ID") != "":
		creds = credentials.NewStaticCredentialsProvider(os.Getenv("AWS_ACCESS_KEY_ID"),
			os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SESSION_TOKEN"))
	case os.Getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") != "":
		creds = endpointcreds.New(ecsCredentialsHost + os.Getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"))
	case os.Getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI") != "":
		token := os.Getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN")
		if file := os.Getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"); file != "" {
			b, err := os.ReadFile(file)
			if err != nil {
				return nil, errors.New("config: AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE cannot be read")
			}
			token = strings.TrimSpace(string(b))
		}
		creds = endpointcreds.New(os.Getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI"), func(o *endpointcreds.Options) {
			o.AuthorizationToken = token
		})
	default:
		return nil, errors.New("config: no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run as an ECS task with a task role")
	}
	return &AWS{Region: region, Credentials: aws.NewCredentialsCache(creds)}, nil
}

// endpointFor is the endpoint override of an AWS service from the
// environment (AWS_ENDPOINT_URL_SSM, else AWS_ENDPOINT_URL), as the SDK's
// own configuration honours them; nil for the public endpoint.
func endpointFor(service string) *string {
	if u := firstEnv("AWS_ENDPOINT_URL_"+strings.ToUpper(service), "AWS_ENDPOINT_URL"); u != "" {
		return aws.String(u)
	}
	return nil
}

func firstEnv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}
