package config

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"
)

// SSMPathVar names the SSM Parameter Store path whose parameters fill the
// configuration.
const SSMPathVar = Prefix + "_SSM_PATH"

// ParametersByPath is the part of the SSM API that the loader calls.
type ParametersByPath interface {
	GetParametersByPath(ctx context.Context, in *ssm.GetParametersByPathInput, optFns ...func(*ssm.Options)) (*ssm.GetParametersByPathOutput, error)
}

// LoadSSM reads every parameter under path (recursively, SecureStrings
// decrypted, every page) and returns them by the variable each stands for:
// /chirper/prod/users/SIGNING_KEY under /chirper/prod/users is
// CHIRPER_SIGNING_KEY. Errors name the path and the AWS error code, never a
// value.
func LoadSSM(ctx context.Context, client ParametersByPath, path string) (map[string]string, error) {
	path = "/" + strings.Trim(path, "/")
	vars := make(map[string]string)
	p := ssm.NewGetParametersByPathPaginator(client, &ssm.GetParametersByPathInput{
		Path:           aws.String(path),
		Recursive:      aws.Bool(true),
		WithDecryption: aws.Bool(true),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			var apiErr smithy.APIError
			if errors.As(err, &apiErr) {
				return nil, fmt.Errorf("config: reading SSM parameters under %s: %s: %s", path, apiErr.ErrorCode(), apiErr.ErrorMessage())
			}
			return nil, fmt.Errorf("config: reading SSM parameters under %s: %w", path, err)
		}
		for _, param := range page.Parameters {
			name := strings.TrimPrefix(aws.ToString(param.Name), path+"/")
			vars[VarName(name)] = aws.ToString(param.Value)
		}
	}
	return vars, nil
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
	client := ssm.New(ssm.Options{Region: a.Region, Credentials: a.Credentials, BaseEndpoint: endpointFor("ssm")})
	vars, err := LoadSSM(ctx, client, path)
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
