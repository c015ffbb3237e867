// Package auth signs users up and in: it validates credentials, hashes passwords with
// argon2id, issues short-lived JWT access tokens and rotating opaque refresh tokens, and
// verifies access tokens for the API and chat servers. It also ends sessions (logout,
// logout-all, a detected replay): the ended ones are kept in a small revocation set, in the
// store and in every process, so that their access tokens are refused at once.
package auth

import (
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"log/slog"
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
	// RefreshGrace is how long after a refresh token's first use it may be used once more
	// and get the same new pair, so that an answer lost on the way does not sign the user
	// out. A use after it, or a second repeat, is a replay and ends the session. Default
	// 30 seconds.
	RefreshGrace time.Duration
	// ReloadInterval is how often Run reloads the revocation set from the store, which
	// catches the revocations whose bus event this process missed. Default 5 seconds.
	ReloadInterval time.Duration
	// PruneInterval is how often Run deletes expired refresh tokens and revocations.
	// Default 1 hour; negative: never (processes that only verify tokens).
	PruneInterval time.Duration
	// Bus carries SESSIONS_REVOKED to every process (chat servers close the sockets); nil
	// in tests: other processes then learn of revocations by reloading.
	Bus chat.Bus
	// NodeID is the origin of the events published.
	NodeID string
	// Logger receives the service's background errors. Default: discarded.
	Logger *slog.Logger
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

	DefaultRefreshGrace   = 30 * time.Second
	DefaultReloadInterval = 5 * time.Second
	DefaultPruneInterval  = time.Hour
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
	cfg         Config
	users       chat.UserStore
	tokens      chat.TokenStore
	revocations chat.RevocationStore
	hasher      *hasher
	parser      *jwt.Parser
	log         *slog.Logger
	// sealer keeps the pair issued for a refresh sealed on the used token, for the grace
	// period's repeat: the store never holds a usable token.
	sealer cipher.AEAD
	// revoked is this process's copy of the live revocations, checked on every request.
	revoked revocationSet
	// gap asks Run to reload the revocations at once: the bus may have lost some.
	gap chan struct{}

	// dummyHash is verified against when the user is unknown, so that an unknown user
	// costs the same hash as a wrong password and logins do not reveal which usernames
	// exist. Made on first need: computing it in New would slow every start.
	dummyOnce sync.Once
	dummyHash string
	dummyErr  error
}

// New returns a Service over the given stores. It panics if cfg.Secret is empty: running
// with a guessable signing key is never what the caller wants. A nil revocations store
// keeps revocations in this process only (tests, benchmarks).
func New(cfg Config, users chat.UserStore, tokens chat.TokenStore, revocations chat.RevocationStore) *Service {
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
	if cfg.RefreshGrace <= 0 {
		cfg.RefreshGrace = DefaultRefreshGrace
	}
	if cfg.ReloadInterval <= 0 {
		cfg.ReloadInterval = DefaultReloadInterval
	}
	if cfg.PruneInterval == 0 {
		cfg.PruneInterval = DefaultPruneInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{
		cfg:         cfg,
		users:       users,
		tokens:      tokens,
		revocations: revocations,
		log:         cfg.Logger.With("component", "auth"),
		sealer:      newSealer(cfg.Secret),
		gap:         make(chan struct{}, 1),
		hasher:      newHasher(cfg.Argon2, cfg.MaxConcurrentHashes),
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
	s.revoked.init()
	return s
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
	if err == nil && hash == "" {
		err = chat.ErrNotFound // an erased user has no password: logs in like nobody
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
	// Said only to whoever knows the password.
	if u.SuspendedAt != nil {
		return chat.User{}, Tokens{}, chat.Errorf(chat.Forbidden, "suspended", "this account is suspended")
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

// issue makes an access token for userID and stores a new refresh token in familyID.
func (s *Service) issue(ctx context.Context, userID, familyID string) (Tokens, error) {
	now := s.cfg.Now()
	access, err := s.signAccess(userID, familyID, now)
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

// Authenticate verifies an access token and returns whose it is, the session it was
// issued from and its expiry. A token past its expiry gives Unauthorized "token_expired",
// so that clients know to refresh; a token of an ended session (signed out, or revoked
// after a replay) and any other fault give Unauthorized "invalid_token". The revocation
// check is a look-up in this process's copy of the revocation set: no store call.
func (s *Service) Authenticate(token string) (chat.Identity, error) {
	// Ours are about 350 bytes; a huge one is garbage not worth decoding.
	if len(token) > maxAccessTokenLen {
		return chat.Identity{}, errInvalidToken("access token is not valid")
	}
	var claims accessClaims
	_, err := s.parser.ParseWithClaims(token, &claims, s.key)
	switch {
	case err == nil && claims.Subject != "" && claims.SessionID != "":
		if s.revoked.has(claims.SessionID) {
			return chat.Identity{}, errInvalidToken("the session has ended; sign in again")
		}
		return chat.Identity{UserID: claims.Subject, SessionID: claims.SessionID, ExpiresAt: claims.ExpiresAt.Time}, nil
	case err == nil && claims.Subject == "":
		return chat.Identity{}, errInvalidToken("token has no subject")
	case err == nil:
		// Tokens issued before sessions could end carry none: refreshing gives one.
		return chat.Identity{}, errInvalidToken("token has no session")
	case expiredOnly(err):
		return chat.Identity{}, chat.Errorf(chat.Unauthorized, "token_expired", "access token has expired")
	default:
		return chat.Identity{}, errInvalidToken("access token is not valid")
	}
}

func errInvalidToken(msg string) error {
	return chat.Errorf(chat.Unauthorized, "invalid_token", "%s", msg)
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

// CheckPassword verifies the password of userID, for what a signed-in user must confirm
// (erasing their account): 403 bad_password when it is not theirs.
func (s *Service) CheckPassword(ctx context.Context, userID, password string) error {
	u, err := s.users.User(ctx, userID)
	if err != nil {
		return fmt.Errorf("auth: check password: %w", err)
	}
	_, hash, err := s.users.UserByUsername(ctx, u.Username)
	if err != nil {
		return fmt.Errorf("auth: check password: %w", err)
	}
	if hash == "" || ValidatePassword(password) != nil {
		return errBadPassword()
	}
	ok, err := s.hasher.verify(ctx, password, hash)
	if err != nil {
		return fmt.Errorf("auth: check password: %w", err)
	}
	if !ok {
		return errBadPassword()
	}
	return nil
}

func errBadPassword() error {
	return chat.Errorf(chat.Forbidden, "bad_password", "the password is not right")
}
