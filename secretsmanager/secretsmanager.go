// Package secretsmanager reads a login kept in AWS Secrets Manager, through aws-sdk-go-v2:
// on AWS, the DocumentDB user and password, which a rotation Lambda changes while the
// servers run, so that the store can log in again without a restart.
package secretsmanager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	awssm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// Config configures New. AWS credentials come from the standard chain (environment, shared
// files, the ECS task role).
type Config struct {
	// SecretID is the secret's ARN or name.
	SecretID string
	// Region; empty takes the one in the ARN, else the AWS environment's.
	Region string
	// Endpoint replaces Secrets Manager's URL (a test server); empty is AWS, or
	// AWS_ENDPOINT_URL_SECRETS_MANAGER.
	Endpoint string
	// Timeout bounds one read, the SDK's retries included; 5 s by default.
	Timeout time.Duration
	// HTTPClient, when set, carries the requests (tests).
	HTTPClient *http.Client
}

// Secret is one secret whose value is a JSON object with "username" and "password", as
// the DocumentDB secret and its rotation keep it. It is safe for concurrent use.
type Secret struct {
	client  *awssm.Client
	id      string
	timeout time.Duration
}

// New returns the Secret. It does not contact AWS: Credentials does.
func New(ctx context.Context, cfg Config) (*Secret, error) {
	if cfg.SecretID == "" {
		return nil, errors.New("secretsmanager: no secret id")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	region := cfg.Region
	if region == "" {
		region = arnRegion(cfg.SecretID)
	}
	var opts []func(*config.LoadOptions) error
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	if cfg.HTTPClient != nil {
		opts = append(opts, config.WithHTTPClient(cfg.HTTPClient))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("secretsmanager: load AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		return nil, fmt.Errorf("secretsmanager: no region for %s: give the secret's ARN, or set AWS_REGION", cfg.SecretID)
	}
	client := awssm.NewFromConfig(awsCfg, func(o *awssm.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	})
	return &Secret{client: client, id: cfg.SecretID, timeout: cfg.Timeout}, nil
}

// arnRegion returns the region of a secret's ARN
// (arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME), or "" for a name. Tasks in
// bridge networking cannot ask the instance metadata for their region.
func arnRegion(id string) string {
	parts := strings.SplitN(id, ":", 7)
	if len(parts) == 7 && parts[0] == "arn" && parts[2] == "secretsmanager" {
		return parts[3]
	}
	return ""
}

// Credentials reads the secret's current version (AWSCURRENT) and returns its username and
// password. Errors name the secret, never its value.
func (s *Secret) Credentials(ctx context.Context) (username, password string, err error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	out, err := s.client.GetSecretValue(ctx, &awssm.GetSecretValueInput{SecretId: aws.String(s.id)})
	if err != nil {
		return "", "", fmt.Errorf("secretsmanager: read %s: %w", s.id, err)
	}
	if out.SecretString == nil {
		return "", "", fmt.Errorf("secretsmanager: %s holds no string", s.id)
	}
	var v struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	// The decoder's error is left out: its text may quote the value.
	if json.Unmarshal([]byte(*out.SecretString), &v) != nil {
		return "", "", fmt.Errorf("secretsmanager: %s is not a JSON object", s.id)
	}
	if v.Username == "" || v.Password == "" {
		return "", "", fmt.Errorf("secretsmanager: %s has no username or no password", s.id)
	}
	return v.Username, v.Password, nil
}
