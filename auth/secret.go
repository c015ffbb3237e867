package auth

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// SecretFile is the name of the signing key's file in the data directory.
const SecretFile = "jwt-secret"

// secretBytes is the length of a generated signing key: as long as HS256's output.
const secretBytes = 32

// LoadOrCreateSecret returns the token signing key kept in dir/jwt-secret, generating 32
// random bytes and writing them there (mode 0600, base64url text) on the first start, so
// that tokens survive restarts. Several processes starting at once agree on one key.
func LoadOrCreateSecret(dir string) ([]byte, error) {
	path := filepath.Join(dir, SecretFile)
	secret, err := readSecret(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return secret, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("auth: create secret dir: %w", err)
	}
	secret = make([]byte, secretBytes)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("auth: generate secret: %w", err)
	}
	// Write a temporary file, then link it into place: the link fails if the file exists,
	// so a concurrent start never overwrites a key already handed out, and no reader ever
	// sees a half-written file.
	tmp, err := os.CreateTemp(dir, SecretFile+".tmp*")
	if err != nil {
		return nil, fmt.Errorf("auth: write secret: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("auth: write secret: %w", err)
	}
	_, err = tmp.WriteString(base64.RawURLEncoding.EncodeToString(secret) + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("auth: write secret: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readSecret(path)
		}
		return nil, fmt.Errorf("auth: write secret: %w", err)
	}
	return secret, nil
}

// readSecret reads and decodes a secret file.
func readSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("auth: read secret: %w", err)
	}
	secret, err := base64.RawURLEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("auth: decode secret %s: %w", path, err)
	}
	if len(secret) < secretBytes {
		return nil, fmt.Errorf("auth: secret in %s is %d bytes, want at least %d", path, len(secret), secretBytes)
	}
	return secret, nil
}
