package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/chatchat/chatchat/chat"
)

// refreshTokenBytes is the entropy of a refresh token; refreshTokenLen its encoded length.
const (
	refreshTokenBytes = 32
	refreshTokenLen   = (refreshTokenBytes*8 + 5) / 6 // unpadded base64
)

// accessClaims are an access token's claims: the registered ones, and sid, the session
// (refresh token family) it was issued from.
type accessClaims struct {
	jwt.RegisteredClaims
	SessionID string `json:"sid"`
}

// signAccess returns an HS256 JWT for userID, of session familyID, issued at now.
func (s *Service) signAccess(userID, familyID string, now time.Time) (string, error) {
	claims := accessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   userID,
			Issuer:    s.cfg.Issuer,
			Audience:  jwt.ClaimStrings{s.cfg.Audience},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(s.cfg.AccessTTL)),
			ID:        chat.NewID(),
		},
		SessionID: familyID,
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.cfg.Secret)
	if err != nil {
		return "", fmt.Errorf("sign access token: %w", err)
	}
	return signed, nil
}

// key is the parser's Keyfunc. The parser has already refused every algorithm but HS256;
// the check here keeps the key from ever reaching another method if that option is lost.
func (s *Service) key(t *jwt.Token) (any, error) {
	if _, ok := t.Method.(*jwt.SigningMethodHMAC); !ok {
		return nil, fmt.Errorf("unexpected signing method %v", t.Header["alg"])
	}
	return s.cfg.Secret, nil
}

// newRefreshToken returns a new opaque refresh token: 32 random bytes, base64url.
func newRefreshToken() (string, error) {
	b := make([]byte, refreshTokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// hashRefreshToken is the form in which a refresh token is stored: whoever reads the
// store cannot use what they read. A fast hash suffices because the token is random.
func hashRefreshToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
