package main

import (
	"log/slog"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/internal/testenv"
	"github.com/chatchat/chatchat/secretsmanager/smtest"
)

// TestMongoSecretRotationNeedsNoRestart runs the wiring of the AWS deployment: the
// DocumentDB login comes from the secret named by CHATCHAT_MONGO_SECRET_ARN (read through
// aws-sdk-go-v2 from a local Secrets Manager), the password is rotated on the server and
// in the secret, and once the store's connections are gone it logs in again with the new
// one, without a restart.
func TestMongoSecretRotationNeedsNoRestart(t *testing.T) {
	const arn = "arn:aws:secretsmanager:eu-west-3:123456789012:secret:prod/chatchat/docdb-AbCdEf"
	sm := smtest.NewServer(t)
	sm.Put(arn, `{"username":"chatchat","password":"old","host":"docdb","port":27017}`)
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "test-key", "AWS_SECRET_ACCESS_KEY": "test-secret",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_PROFILE": "", "AWS_REGION": "",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": sm.URL,
	} {
		t.Setenv(k, v)
	}
	srv := testenv.Mongo(t)
	gate := testenv.StartAuthGate(t, srv, "old")
	s, err := parseServe(nil, map[string]string{
		"CHATCHAT_MONGO_URI":        gate.URI,
		"CHATCHAT_MONGO_DATABASE":   srv.Database(t),
		"CHATCHAT_MONGO_SECRET_ARN": arn,
		"CHATCHAT_DATA_DIR":         t.TempDir(),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(testLogWriter{t}, nil))
	b, err := openBackends(t.Context(), s, log, nil)
	if err != nil {
		t.Fatalf("openBackends: %v", err)
	}
	defer b.close(log)

	ctx := t.Context()
	u := chat.User{ID: chat.NewID(), Username: "ann", DisplayName: "Ann", CreatedAt: chat.At(time.Now())}
	if err := b.store.CreateUser(ctx, u, "h"); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	gate.SetPassword("new")
	sm.Put(arn, `{"username":"chatchat","password":"new","host":"docdb","port":27017}`)
	gate.DropConnections()
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := b.store.User(ctx, u.ID)
		if err == nil {
			break
		}
		if chat.ErrorKind(err) != chat.Unavailable || time.Now().After(deadline) {
			t.Fatalf("User after the rotation: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(sm.Reads()); n < 2 || gate.Refused() == 0 {
		t.Errorf("secret read %d times, %d logins refused: want the first login and a read after a refusal", n, gate.Refused())
	}
}
