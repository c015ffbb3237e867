package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
)

// sealLabel names the key derived from the signing secret for sealing refresh successors,
// so that it is never the secret itself nor any other key derived from it.
const sealLabel = "chatchat/v1/refresh-successor-seal"

// newSealer returns AES-256-GCM keyed with HMAC-SHA256(secret, sealLabel).
func newSealer(secret []byte) cipher.AEAD {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(sealLabel))
	block, err := aes.NewCipher(mac.Sum(nil))
	if err != nil {
		panic(err) // a 32-byte key always makes a cipher
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}

// seal encrypts t for the used token whose hash is given: the hash is the additional data,
// so a sealed pair opens only on the row it was written to.
func (s *Service) seal(hash string, t Tokens) ([]byte, error) {
	plain, err := json.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("seal successor: %w", err)
	}
	nonce := make([]byte, s.sealer.NonceSize(), s.sealer.NonceSize()+len(plain)+s.sealer.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal successor: %w", err)
	}
	return s.sealer.Seal(nonce, nonce, plain, []byte(hash)), nil
}

// open decrypts what seal made for the same hash.
func (s *Service) open(hash string, sealed []byte) (Tokens, error) {
	n := s.sealer.NonceSize()
	if len(sealed) < n {
		return Tokens{}, errors.New("open successor: too short")
	}
	plain, err := s.sealer.Open(nil, sealed[:n], sealed[n:], []byte(hash))
	if err != nil {
		return Tokens{}, fmt.Errorf("open successor: %w", err)
	}
	var t Tokens
	if err := json.Unmarshal(plain, &t); err != nil {
		return Tokens{}, fmt.Errorf("open successor: %w", err)
	}
	return t, nil
}
