package secretsmanager_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chatchat/chatchat/secretsmanager"
	"github.com/chatchat/chatchat/secretsmanager/smtest"
)

const arn = "arn:aws:secretsmanager:eu-west-3:123456789012:secret:prod/chatchat/docdb-AbCdEf"

// awsEnv gives the SDK static credentials and nothing else from the machine.
func awsEnv(tb testing.TB) {
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "test-key", "AWS_SECRET_ACCESS_KEY": "test-secret",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_PROFILE": "", "AWS_REGION": "",
		"AWS_DEFAULT_REGION": "", "AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_SECRETS_MANAGER": "",
	} {
		tb.Setenv(k, v)
	}
}

func newSecret(tb testing.TB, srv *smtest.Server, cfg secretsmanager.Config) *secretsmanager.Secret {
	tb.Helper()
	cfg.Endpoint = srv.URL
	s, err := secretsmanager.New(tb.Context(), cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return s
}

// TestCredentials reads the DocumentDB secret's shape, signed for the ARN's region, and
// reads it again after a rotation.
func TestCredentials(t *testing.T) {
	awsEnv(t)
	srv := smtest.NewServer(t)
	srv.Put(arn, `{"username":"chatchat","password":"first","host":"docdb.example","port":27017,"engine":"mongo"}`)
	s := newSecret(t, srv, secretsmanager.Config{SecretID: arn})
	user, pass, err := s.Credentials(t.Context())
	if err != nil || user != "chatchat" || pass != "first" {
		t.Fatalf("Credentials = %q, %q, %v", user, pass, err)
	}
	if auth := srv.Reads()[0].Authorization; !strings.Contains(auth, "/eu-west-3/secretsmanager/aws4_request") {
		t.Errorf("request signed as %q, want the ARN's region and the service", auth)
	}
	srv.Put(arn, `{"username":"chatchat","password":"second"}`)
	if _, pass, err = s.Credentials(t.Context()); err != nil || pass != "second" {
		t.Errorf("after the rotation: %q, %v", pass, err)
	}
}

func TestCredentialsErrors(t *testing.T) {
	awsEnv(t)
	srv := smtest.NewServer(t)
	srv.Put("no-password", `{"username":"chatchat"}`)
	srv.Put("not-json", `hunter2-not-json`)
	tests := map[string]string{
		"missing":     "ResourceNotFoundException",
		"no-password": "no password",
		"not-json":    "not a JSON object",
	}
	for id, want := range tests {
		s := newSecret(t, srv, secretsmanager.Config{SecretID: id, Region: "us-east-1"})
		_, _, err := s.Credentials(t.Context())
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error saying %q", id, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the error quotes the secret: %v", id, err)
		}
	}
	if _, err := secretsmanager.New(t.Context(), secretsmanager.Config{SecretID: "by-name-only"}); err == nil {
		t.Error("New without any region succeeded")
	}
}

// TestCredentialsBounded: an endpoint that does not answer costs the caller the timeout,
// not the SDK's default of retries without end.
func TestCredentialsBounded(t *testing.T) {
	awsEnv(t)
	srv := smtest.NewServer(t)
	srv.Put(arn, `{"username":"u","password":"p"}`)
	srv.Hold(true)
	s := newSecret(t, srv, secretsmanager.Config{SecretID: arn, Timeout: 200 * time.Millisecond})
	if _, _, err := s.Credentials(t.Context()); err == nil {
		t.Fatal("Credentials from a silent endpoint succeeded")
	}
}
