package auth_test

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/chatchat/chatchat/auth"
)

func TestLoadOrCreateSecret(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // not there yet: created on first start
	first, err := auth.LoadOrCreateSecret(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 32 {
		t.Fatalf("secret is %d bytes, want 32", len(first))
	}
	fi, err := os.Stat(filepath.Join(dir, "jwt-secret"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file mode %v, want 0600", fi.Mode().Perm())
	}

	again, err := auth.LoadOrCreateSecret(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, again) {
		t.Fatal("second start read a different secret")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("data dir holds %d entries, want only the secret", len(entries))
	}

	other, err := auth.LoadOrCreateSecret(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(first, other) {
		t.Fatal("two data dirs got the same secret")
	}
}

// Tokens signed with the secret of one start verify after the next.
func TestSecretSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	st := newStore(t)
	start := func() *auth.Service {
		secret, err := auth.LoadOrCreateSecret(dir)
		if err != nil {
			t.Fatal(err)
		}
		return auth.New(auth.Config{Secret: secret, Argon2: fastArgon2}, st, st, st)
	}
	u, tok := signup(t, start(), "ruth")
	wantUser(t, start(), tok.AccessToken, u.ID)
}

func TestLoadOrCreateSecretConcurrent(t *testing.T) {
	dir := t.TempDir()
	const n = 8
	secrets := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { secrets[i], errs[i] = auth.LoadOrCreateSecret(dir) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !bytes.Equal(secrets[i], secrets[0]) {
			t.Fatal("concurrent starts disagree on the secret")
		}
	}
}

func TestLoadOrCreateSecretCorrupt(t *testing.T) {
	for name, content := range map[string]string{
		"not base64": "!!!\n",
		"too short":  "c2hvcnQ\n",
		"empty":      "",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "jwt-secret"), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			// A damaged key is reported, never silently replaced: replacing it would
			// sign everyone out without saying why.
			if _, err := auth.LoadOrCreateSecret(dir); err == nil {
				t.Fatal("corrupt secret accepted")
			}
		})
	}
}
