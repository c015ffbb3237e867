// Package auth signs users up and in: it validates credentials, hashes passwords with
// argon2id, issues short-lived JWT access tokens and rotating opaque refresh tokens, and
// verifies access tokens for the API and chat servers.
package auth

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/chatchat/chatchat/chat"
)

// Config configures a Service. Zero fields take the defaults named on each field.
type Config struct {
	// Secret is the HMAC key of access tokens; required. Use 32 random bytes
	// (LoadOrCreateSecret makes and keeps one).
	Secret []byte
	// Issuer and Audience are the iss and aud claims written and required. Default "chatchat".
	Issuer   string
	Audience string
	// AccessTTL is the lifetime of access tokens. Default 15 minutes.
	AccessTTL time.Duration
	// RefreshTTL is the lifetime of a refresh token; each refresh issues a new one with a
	// fresh lifetime. Default 30 days.
	RefreshTTL time.Duration
	// Leeway is the clock skew tolerated when checking exp and iat. Default 30 seconds.
	Leeway time.Duration
	// Argon2 are the cost parameters of new password hashes. Default DefaultArgon2Params.
	Argon2 Argon2Params
	// MaxConcurrentHashes bounds the password hashes computed at once, and so the memory
	// they take (Argon2.Memory each). Default GOMAXPROCS.
	MaxConcurrentHashes int
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Defaults of Config.
const (
	DefaultIssuer     = "chatchat"
	DefaultAudience   = "chatchat"
	DefaultAccessTTL  = 15 * time.Minute
	DefaultRefreshTTL = 30 * 24 * time.Hour
	DefaultLeeway     = 30 * time.Second
)

// Tokens are what a client receives on sign-up, login and refresh.
type Tokens struct {
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
	// ExpiresIn is the access token's lifetime in seconds.
	ExpiresIn int `json:"expiresIn"`
}

// Service signs users up and in, and issues and verifies their tokens. It is safe for
// concurrent use.
type Service struct {
	cfg    Config
	users  chat.UserStore
	tokens chat.TokenStore
	hasher *hasher
	parser *jwt.Parser

	// dummyHash is verified against when the user is unknown, so that an unknown user
	// costs the same hash as a wrong password and logins do not reveal which usernames
	// exist. Made on first need: computing it in New would slow every start.
	dummyOnce sync.Once
	dummyHash string
	dummyErr  error
}

// New returns a Service over the given stores. It panics if cfg.Secret is empty: running
// with a guessable signing key is never what the caller wants.
func New(cfg Config, users chat.UserStore, tokens chat.TokenStore) *Service {
	if len(cfg.Secret) == 0 {
		panic("auth: Config.Secret is required")
	}
	cfg.Secret = append([]byte(nil), cfg.Secret...)
	if cfg.Issuer == "" {
		cfg.Issuer = DefaultIssuer
	}
	if cfg.Audience == "" {
		cfg.Audience = DefaultAudience
	}
	if cfg.AccessTTL <= 0 {
		cfg.AccessTTL = DefaultAccessTTL
	}
	if cfg.RefreshTTL <= 0 {
		cfg.RefreshTTL = DefaultRefreshTTL
	}
	if cfg.Leeway <= 0 {
		cfg.Leeway = DefaultLeeway
	}
	cfg.Argon2 = cfg.Argon2.withDefaults()
	if cfg.MaxConcurrentHashes <= 0 {
		cfg.MaxConcurrentHashes = runtime.GOMAXPROCS(0)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{
		cfg:    cfg,
		users:  users,
		tokens: tokens,
		hasher: newHasher(cfg.Argon2, cfg.MaxConcurrentHashes),
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithIssuer(cfg.Issuer),
			jwt.WithAudience(cfg.Audience),
			jwt.WithLeeway(cfg.Leeway),
			jwt.WithTimeFunc(cfg.Now),
		),
	}
}

// Signup creates a user and signs them in. Bad input gives Invalid errors with the codes
// invalid_username, invalid_password and invalid_display_name; a username taken in any
// letter case gives Conflict "username_taken".
func (s *Service) Signup(ctx context.Context, username, password, displayName string) (chat.User, Tokens, error) {
	if err := ValidateUsername(username); err != nil {
		return chat.User{}, Tokens{}, err
	}
	if err := ValidatePassword(password); err != nil {
		return chat.User{}, Tokens{}, err
	}
	displayName, err := NormalizeDisplayName(displayName)
	if err != nil {
		return chat.User{}, Tokens{}, err
	}
	hash, err := s.hasher.hash(ctx, password)
	if err != nil {
		return chat.User{}, Tokens{}, err
	}
	u := chat.User{
		ID:          chat.NewID(),
		Username:    username,
		DisplayName: displayName,
		CreatedAt:   chat.At(s.cfg.Now()),
	}
	if err := s.users.CreateUser(ctx, u, hash); err != nil {
		if chat.IsConflict(err) {
			return chat.User{}, Tokens{}, chat.Errorf(chat.Conflict, "username_taken",
				"username %q is taken", username)
		}
		return chat.User{}, Tokens{}, fmt.Errorf("auth: signup: %w", err)
	}
	t, err := s.issue(ctx, u.ID, chat.NewID())
	if err != nil {
		return chat.User{}, Tokens{}, fmt.Errorf("auth: signup: %w", err)
	}
	return u, t, nil
}

// errInvalidCredentials is returned for every failed login alike, so that the answer does
// not tell an unknown user from a wrong password.
func errInvalidCredentials() error {
	return chat.Errorf(chat.Unauthorized, "invalid_credentials", "wrong username or password")
}

// Login checks a username (any letter case) and password and signs the user in with a
// new token family. Any mismatch gives Unauthorized "invalid_credentials".
func (s *Service) Login(ctx context.Context, username, password string) (chat.User, Tokens, error) {
	// Inputs that sign-up would have refused cannot match anyone; refusing them before
	// the look-up reveals nothing about which users exist, and saves a hash.
	if ValidateUsername(username) != nil || ValidatePassword(password) != nil {
		return chat.User{}, Tokens{}, errInvalidCredentials()
	}
	u, hash, err := s.users.UserByUsername(ctx, username)
	if err != nil && !chat.IsNotFound(err) {
		return chat.User{}, Tokens{}, fmt.Errorf("auth: login: %w", err)
	}
	if err != nil {
		// Unknown user: spend the same hash a known one would.
		if hash, err = s.dummy(ctx); err != nil {
			return chat.User{}, Tokens{}, fmt.Errorf("auth: login: %w", err)
		}
		if _, err := s.hasher.verify(ctx, password, hash); err != nil {
			return chat.User{}, Tokens{}, fmt.Errorf("auth: login: %w", err)
		}
		return chat.User{}, Tokens{}, errInvalidCredentials()
	}
	ok, err := s.hasher.verify(ctx, password, hash)
	if err != nil {
		return chat.User{}, Tokens{}, fmt.Errorf("auth: login: user %s: %w", u.ID, err)
	}
	if !ok {
		return chat.User{}, Tokens{}, errInvalidCredentials()
	}
	t, err := s.issue(ctx, u.ID, chat.NewID())
	if err != nil {
		return chat.User{}, Tokens{}, fmt.Errorf("auth: login: %w", err)
	}
	return u, t, nil
}

// dummy returns the hash that unknown users are verified against.
func (s *Service) dummy(ctx context.Context) (string, error) {
	s.dummyOnce.Do(func() {
		// A cancelled first caller must not leave every later one without a hash.
		s.dummyHash, s.dummyErr = s.hasher.hash(context.WithoutCancel(ctx), "not a password of anyone")
	})
	return s.dummyHash, s.dummyErr
}

// Refresh trades a refresh token for a new access token and a new refresh token of the
// same family; the old one is spent. An unknown, expired or revoked token gives
// Unauthorized "invalid_refresh_token". A token presented a second time means that
// someone else holds a copy: the whole family is revoked, so that neither the thief nor
// the owner can refresh again and the owner must log in.
func (s *Service) Refresh(ctx context.Context, token string) (Tokens, error) {
	if len(token) != refreshTokenLen {
		return Tokens{}, errInvalidRefresh("refresh token is not valid")
	}
	rt, firstUse, err := s.tokens.ConsumeRefreshToken(ctx, hashRefreshToken(token), s.cfg.Now())
	if chat.IsNotFound(err) {
		return Tokens{}, errInvalidRefresh("refresh token is not valid")
	}
	if err != nil {
		return Tokens{}, fmt.Errorf("auth: refresh: %w", err)
	}
	if rt.Revoked {
		return Tokens{}, errInvalidRefresh("refresh token was revoked")
	}
	if !firstUse {
		if err := s.tokens.RevokeTokenFamily(ctx, rt.FamilyID); err != nil {
			return Tokens{}, fmt.Errorf("auth: refresh: revoke family %s of user %s: %w", rt.FamilyID, rt.UserID, err)
		}
		return Tokens{}, errInvalidRefresh("refresh token was already used; sign in again")
	}
	if !s.cfg.Now().Before(rt.ExpiresAt) {
		return Tokens{}, errInvalidRefresh("refresh token has expired")
	}
	t, err := s.issue(ctx, rt.UserID, rt.FamilyID)
	if err != nil {
		return Tokens{}, fmt.Errorf("auth: refresh: %w", err)
	}
	return t, nil
}

func errInvalidRefresh(msg string) error {
	return chat.Errorf(chat.Unauthorized, "invalid_refresh_token", "%s", msg)
}

// issue makes an access token for userID and stores a new refresh token in familyID.
func (s *Service) issue(ctx context.Context, userID, familyID string) (Tokens, error) {
	now := s.cfg.Now()
	access, err := s.signAccess(userID, now)
	if err != nil {
		return Tokens{}, err
	}
	refresh, err := newRefreshToken()
	if err != nil {
		return Tokens{}, err
	}
	err = s.tokens.CreateRefreshToken(ctx, chat.RefreshToken{
		Hash:      hashRefreshToken(refresh),
		UserID:    userID,
		FamilyID:  familyID,
		CreatedAt: now,
		ExpiresAt: now.Add(s.cfg.RefreshTTL),
	})
	if err != nil {
		return Tokens{}, fmt.Errorf("store refresh token: %w", err)
	}
	return Tokens{
		AccessToken:  access,
		RefreshToken: refresh,
		ExpiresIn:    int(s.cfg.AccessTTL / time.Second),
	}, nil
}

// Authenticate verifies an access token and returns its user id. A token past its expiry
// gives Unauthorized "token_expired", so that clients know to refresh; any other fault
// gives Unauthorized "invalid_token".
func (s *Service) Authenticate(token string) (userID string, err error) {
	// Ours are about 300 bytes; a huge one is garbage not worth decoding.
	if len(token) > maxAccessTokenLen {
		return "", chat.Errorf(chat.Unauthorized, "invalid_token", "access token is not valid")
	}
	var claims jwt.RegisteredClaims
	_, err = s.parser.ParseWithClaims(token, &claims, s.key)
	switch {
	case err == nil && claims.Subject != "":
		return claims.Subject, nil
	case err == nil:
		return "", chat.Errorf(chat.Unauthorized, "invalid_token", "token has no subject")
	case expiredOnly(err):
		return "", chat.Errorf(chat.Unauthorized, "token_expired", "access token has expired")
	default:
		return "", chat.Errorf(chat.Unauthorized, "invalid_token", "access token is not valid")
	}
}

// maxAccessTokenLen bounds the tokens Authenticate decodes.
const maxAccessTokenLen = 4096

// expiredOnly reports whether err says the token expired and nothing worse: a token of
// the wrong audience or issuer is invalid, expired or not, and refreshing would not help.
func expiredOnly(err error) bool {
	if !errors.Is(err, jwt.ErrTokenExpired) {
		return false
	}
	for _, worse := range []error{
		jwt.ErrTokenInvalidAudience, jwt.ErrTokenInvalidIssuer,
		jwt.ErrTokenUsedBeforeIssued, jwt.ErrTokenNotValidYet, jwt.ErrTokenRequiredClaimMissing,
	} {
		if errors.Is(err, worse) {
			return false
		}
	}
	return true
}
