package fcm_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/fcm"
	"github.com/chatchat/chatchat/fcm/fcmtest"
)

// serviceAccount returns a service-account key whose token endpoint is a local server that
// hands out the access token "tok-<project>".
func serviceAccount(tb testing.TB, project string) []byte {
	tb.Helper()
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "tok-" + project, "token_type": "Bearer", "expires_in": 3600})
	}))
	tb.Cleanup(tokens.Close)
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		tb.Fatal(err)
	}
	key, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": project, "private_key_id": "k1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "push@" + project + ".iam.gserviceaccount.com",
		"token_uri":    tokens.URL,
	})
	return key
}

// TestCredentialsJSON: the key itself, as the AWS template injects it from Parameter Store
// (CHATCHAT_FCM_CREDENTIALS_JSON), names the project and authenticates the pushes, as a
// key file does.
func TestCredentialsJSON(t *testing.T) {
	srv := fcmtest.NewServer(t)
	s, err := fcm.New(t.Context(), fcm.Config{CredentialsJSON: serviceAccount(t, "from-json"), Endpoint: srv.Endpoint})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if s.Project() != "from-json" {
		t.Errorf("project %q, want the key's", s.Project())
	}
	if err := s.Push(t.Context(), push(chat.PlatformAndroid)); err != nil {
		t.Fatalf("Push: %v", err)
	}
	req := srv.Requests()[0]
	if got := req.Header.Get("Authorization"); got != "Bearer tok-from-json" || req.Project != "from-json" {
		t.Errorf("push to project %q with Authorization %q, want from-json with the key's token", req.Project, got)
	}
}

func TestCredentialsJSONChecked(t *testing.T) {
	file := filepath.Join(t.TempDir(), "key.json")
	if err := os.WriteFile(file, serviceAccount(t, "p"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]fcm.Config{
		"both":        {CredentialsFile: file, CredentialsJSON: serviceAccount(t, "q")},
		"notJSON":     {CredentialsJSON: []byte("/run/secrets/fcm.json")},
		"notAService": {CredentialsJSON: []byte(`{"type":"external_account","audience":"x","token_url":"http://127.0.0.1:1/"}`)},
	} {
		if _, err := fcm.New(t.Context(), cfg); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}
