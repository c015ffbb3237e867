package auth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/chatchat/chatchat/auth"
	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/sqlite"
)

// stores is what auth needs of storage.
type stores interface {
	chat.UserStore
	chat.TokenStore
	chat.RevocationStore
}

// newStore returns a fresh, empty store for one test: the real SQLite store, in a file of
// the test's own temporary directory.
func newStore(tb testing.TB) stores {
	tb.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "chat.db"))
	if err != nil {
		tb.Fatalf("open sqlite store: %v", err)
	}
	tb.Cleanup(func() {
		if err := st.Close(); err != nil {
			tb.Errorf("close sqlite store: %v", err)
		}
	})
	return st
}

// clock is a settable time source, so that expiry is tested without sleeping.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fastArgon2 keeps the tests quick: the cost parameters do not change what is tested.
var fastArgon2 = auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}

const testSecret = "0123456789abcdef0123456789abcdef"

// newService returns a Service with fast hashing, a test clock and a fresh store.
func newService(tb testing.TB) (*auth.Service, stores, *clock) {
	tb.Helper()
	st := newStore(tb)
	c := newClock()
	svc := auth.New(auth.Config{Secret: []byte(testSecret), Argon2: fastArgon2, Now: c.Now}, st, st, st)
	return svc, st, c
}

// signup signs a user up and fails the test if that fails.
func signup(tb testing.TB, svc *auth.Service, username string) (chat.User, auth.Tokens) {
	tb.Helper()
	u, t, err := svc.Signup(context.Background(), username, "correct horse", "Name of "+username)
	if err != nil {
		tb.Fatalf("Signup(%q): %v", username, err)
	}
	return u, t
}

// wantCode fails the test unless err is a chat.Error of kind and code.
func wantCode(tb testing.TB, err error, kind chat.Kind, code string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("err = nil, want %s", code)
	}
	if chat.ErrorKind(err) != kind || chat.ErrorCode(err) != code {
		tb.Fatalf("err = %v (kind %d), want kind %d code %s", err, chat.ErrorKind(err), kind, code)
	}
}

// wantUser fails the test unless the access token authenticates userID, and returns what
// it says.
func wantUser(tb testing.TB, svc *auth.Service, token, userID string) chat.Identity {
	tb.Helper()
	got, err := svc.Authenticate(token)
	if err != nil {
		tb.Fatalf("Authenticate: %v", err)
	}
	if got.UserID != userID || got.SessionID == "" {
		tb.Fatalf("Authenticate = %+v, want user %q and a session", got, userID)
	}
	return got
}

func TestSignupAndLogin(t *testing.T) {
	ctx := context.Background()
	svc, st, _ := newService(t)

	u, tok, err := svc.Signup(ctx, "Alice.B-1_", "correct horse", "  Alice 🐇  ")
	if err != nil {
		t.Fatal(err)
	}
	if u.ID == "" || u.Username != "Alice.B-1_" || u.DisplayName != "Alice 🐇" || u.CreatedAt.IsZero() {
		t.Fatalf("user = %+v", u)
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.ExpiresIn != 15*60 {
		t.Fatalf("tokens = %+v", tok)
	}
	wantUser(t, svc, tok.AccessToken, u.ID)

	_, hash, err := st.UserByUsername(ctx, "alice.b-1_")
	if err != nil {
		t.Fatal(err)
	}
	phc := regexp.MustCompile(`^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !phc.MatchString(hash) {
		t.Fatalf("stored hash %q is not an argon2id PHC string", hash)
	}
	if strings.Contains(hash, "correct horse") {
		t.Fatal("stored hash contains the password")
	}

	// The username matches in any letter case, as the store promises.
	lu, ltok, err := svc.Login(ctx, "ALICE.b-1_", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if lu.ID != u.ID {
		t.Fatalf("Login user = %+v, want id %s", lu, u.ID)
	}
	wantUser(t, svc, ltok.AccessToken, u.ID)
	if ltok.RefreshToken == tok.RefreshToken || ltok.AccessToken == tok.AccessToken {
		t.Fatal("login returned the sign-up's tokens again")
	}
}

func TestSignupDefaultParams(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	svc := auth.New(auth.Config{Secret: []byte(testSecret)}, st, st, st)
	if _, _, err := svc.Signup(ctx, "bob", "correct horse", "Bob"); err != nil {
		t.Fatal(err)
	}
	_, hash, err := st.UserByUsername(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q does not use OWASP's parameters", hash)
	}
}

func TestSignupInvalid(t *testing.T) {
	svc, _, _ := newService(t)
	long := strings.Repeat("x", 129)
	for _, tc := range []struct {
		name, username, password, display, code string
	}{
		{"username too short", "ab", "correct horse", "A", "invalid_username"},
		{"username too long", strings.Repeat("a", 33), "correct horse", "A", "invalid_username"},
		{"username with space", "al ice", "correct horse", "A", "invalid_username"},
		{"username with at", "al@ice", "correct horse", "A", "invalid_username"},
		{"username non-ascii", "alicé", "correct horse", "A", "invalid_username"},
		{"username empty", "", "correct horse", "A", "invalid_username"},
		{"password too short", "alice", "1234567", "A", "invalid_password"},
		{"password too long", "alice", long, "A", "invalid_password"},
		{"display name empty", "alice", "correct horse", "", "invalid_display_name"},
		{"display name blank", "alice", "correct horse", " \t\n ", "invalid_display_name"},
		{"display name too long", "alice", "correct horse", strings.Repeat("가", 65), "invalid_display_name"},
		{"display name control", "alice", "correct horse", "Al\x00ice", "invalid_display_name"},
		{"display name newline inside", "alice", "correct horse", "Al\nice", "invalid_display_name"},
		{"display name bad utf-8", "alice", "correct horse", "Al\xffice", "invalid_display_name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := svc.Signup(context.Background(), tc.username, tc.password, tc.display)
			wantCode(t, err, chat.Invalid, tc.code)
		})
	}

	// The limits themselves are allowed.
	for _, tc := range []struct{ username, password, display string }{
		{"abc", "12345678", "A"},
		{strings.Repeat("z", 32), strings.Repeat("p", 128), strings.Repeat("가", 64)},
	} {
		if _, _, err := svc.Signup(context.Background(), tc.username, tc.password, tc.display); err != nil {
			t.Errorf("Signup(%q) at the limits: %v", tc.username, err)
		}
	}
}

func TestSignupDuplicate(t *testing.T) {
	svc, _, _ := newService(t)
	signup(t, svc, "carol")
	for _, name := range []string{"carol", "CAROL", "Carol"} {
		_, _, err := svc.Signup(context.Background(), name, "another password", "Other")
		wantCode(t, err, chat.Conflict, "username_taken")
	}
}

func TestLoginRefused(t *testing.T) {
	svc, _, _ := newService(t)
	signup(t, svc, "dave")
	var first *chat.Error
	for _, tc := range []struct{ name, username, password string }{
		{"wrong password", "dave", "wrong horse"},
		{"unknown user", "nobody", "correct horse"},
		{"unknown user twice", "nobody2", "correct horse"},
		{"password too long", "dave", strings.Repeat("x", 129)},
		{"invalid username", "d", "correct horse"},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, tok, err := svc.Login(context.Background(), tc.username, tc.password)
			wantCode(t, err, chat.Unauthorized, "invalid_credentials")
			if tok != (auth.Tokens{}) {
				t.Fatalf("tokens issued on a refused login: %+v", tok)
			}
			// Every refusal reads the same, so that none reveals whether the user exists.
			var e *chat.Error
			if !errors.As(err, &e) {
				t.Fatalf("err %v is not a *chat.Error", err)
			}
			if first == nil {
				first = e
			} else if *e != *first {
				t.Fatalf("refusal %+v differs from %+v", *e, *first)
			}
		})
	}
}

// A hash made with other parameters still verifies: Login reads them from the hash.
func TestLoginUsesStoredParams(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	old := auth.New(auth.Config{Secret: []byte(testSecret), Argon2: fastArgon2}, st, st, st)
	u, _ := signup(t, old, "erin")

	stronger := auth.New(auth.Config{
		Secret: []byte(testSecret),
		Argon2: auth.Argon2Params{Memory: 256, Time: 3, Threads: 2, SaltLen: 32, KeyLen: 64},
	}, st, st, st)
	lu, _, err := stronger.Login(ctx, "erin", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if lu.ID != u.ID {
		t.Fatalf("Login = %+v, want %s", lu, u.ID)
	}
	_, _, err = stronger.Login(ctx, "erin", "correct horsf")
	wantCode(t, err, chat.Unauthorized, "invalid_credentials")
}

func TestAuthenticateRefuses(t *testing.T) {
	svc, _, c := newService(t)
	u, tok := signup(t, svc, "frank")
	now := c.Now()

	// sign makes a token with the given method, key and claims.
	sign := func(t *testing.T, m jwt.SigningMethod, key any, claims jwt.Claims) string {
		t.Helper()
		s, err := jwt.NewWithClaims(m, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := func() claims {
		return claims{RegisteredClaims: jwt.RegisteredClaims{
			Subject:   u.ID,
			Issuer:    "chatchat",
			Audience:  jwt.ClaimStrings{"chatchat"},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute)),
		}, SessionID: "some-session"}
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok.AccessToken, ".")
	b64 := base64.RawURLEncoding

	// The hand-made good token is accepted, so the refusals below are for the fault named.
	if _, err := svc.Authenticate(sign(t, jwt.SigningMethodHS256, []byte(testSecret), good())); err != nil {
		t.Fatalf("well-formed token refused: %v", err)
	}

	for _, tc := range []struct {
		name  string
		token func(t *testing.T) string
	}{
		{"empty", func(*testing.T) string { return "" }},
		{"garbage", func(*testing.T) string { return "not.a.jwt" }},
		{"oversized", func(t *testing.T) string {
			c := good()
			c.ID = strings.Repeat("x", 5000)
			return sign(t, jwt.SigningMethodHS256, []byte(testSecret), c)
		}},
		{"tampered payload", func(*testing.T) string {
			claims := good()
			claims.Subject = "someone-else"
			payload := sign(t, jwt.SigningMethodHS256, []byte("other key"), claims)
			return parts[0] + "." + strings.Split(payload, ".")[1] + "." + parts[2]
		}},
		{"tampered signature", func(*testing.T) string {
			sig, _ := b64.DecodeString(parts[2])
			sig[0] ^= 1
			return parts[0] + "." + parts[1] + "." + b64.EncodeToString(sig)
		}},
		{"signature removed", func(*testing.T) string { return parts[0] + "." + parts[1] + "." }},
		{"other secret", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, []byte("another secret of 32 bytes......"), good())
		}},
		{"alg none", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, good())
		}},
		{"alg none header on a real token", func(*testing.T) string {
			return b64.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
		}},
		{"alg RS256", func(t *testing.T) string { return sign(t, jwt.SigningMethodRS256, rsaKey, good()) }},
		{"RS256 header, HMAC signature", func(*testing.T) string {
			// The classic confusion: the HMAC key presented as if it were a public key.
			hdr := b64.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`))
			sig, _ := jwt.SigningMethodHS256.Sign(hdr+"."+parts[1], []byte(testSecret))
			return hdr + "." + parts[1] + "." + b64.EncodeToString(sig)
		}},
		{"alg HS512 with the same secret", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS512, []byte(testSecret), good())
		}},
		{"wrong audience", func(t *testing.T) string {
			c := good()
			c.Audience = jwt.ClaimStrings{"someone-else"}
			return sign(t, jwt.SigningMethodHS256, []byte(testSecret), c)
		}},
		{"no audience", func(t *testing.T) string {
			c := good()
			c.Audience = nil
			return sign(t, jwt.SigningMethodHS256, []byte(testSecret), c)
		}},
		{"wrong issuer", func(t *testing.T) string {
			c := good()
			c.Issuer = "evil"
			return sign(t, jwt.SigningMethodHS256, []byte(testSecret), c)
		}},
		{"no expiry", func(t *testing.T) string {
			c := good()
			c.ExpiresAt = nil
			return sign(t, jwt.SigningMethodHS256, []byte(testSecret), c)
		}},
		{"no subject", func(t *testing.T) string {
			c := good()
			c.Subject = ""
			return sign(t, jwt.SigningMethodHS256, []byte(testSecret), c)
		}},
		{"no session", func(t *testing.T) string {
			// As issued before sessions could end: refreshing gives one that has.
			c := good()
			c.SessionID = ""
			return sign(t, jwt.SigningMethodHS256, []byte(testSecret), c)
		}},
		{"issued in the future", func(t *testing.T) string {
			c := good()
			c.IssuedAt = jwt.NewNumericDate(now.Add(time.Hour))
			c.ExpiresAt = jwt.NewNumericDate(now.Add(2 * time.Hour))
			return sign(t, jwt.SigningMethodHS256, []byte(testSecret), c)
		}},
		{"expired and wrong audience", func(t *testing.T) string {
			c := good()
			c.Audience = jwt.ClaimStrings{"someone-else"}
			c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Hour))
			return sign(t, jwt.SigningMethodHS256, []byte(testSecret), c)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := svc.Authenticate(tc.token(t))
			wantCode(t, err, chat.Unauthorized, "invalid_token")
			if id != (chat.Identity{}) {
				t.Fatalf("Authenticate returned %+v with an error", id)
			}
		})
	}
}

func TestAccessTokenExpiry(t *testing.T) {
	svc, _, c := newService(t)
	start := c.Now()
	u, tok := signup(t, svc, "grace")
	if id := wantUser(t, svc, tok.AccessToken, u.ID); !id.ExpiresAt.Equal(start.Add(15 * time.Minute)) {
		t.Errorf("ExpiresAt = %v, want %v", id.ExpiresAt, start.Add(15*time.Minute))
	}

	// Within the lifetime plus the leeway for clock skew, the token works.
	c.Advance(15*time.Minute + 10*time.Second)
	wantUser(t, svc, tok.AccessToken, u.ID)

	c.Advance(time.Minute)
	_, err := svc.Authenticate(tok.AccessToken)
	wantCode(t, err, chat.Unauthorized, "token_expired")
}

func TestNewPanicsWithoutSecret(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("New with no secret did not panic")
		}
	}()
	st := newStore(t)
	auth.New(auth.Config{}, st, st, st)
}

func TestConcurrentSignupLogin(t *testing.T) {
	ctx := context.Background()
	svc, _, _ := newService(t)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 20 {
		name := "user" + string(rune('a'+i))
		wg.Go(func() {
			if _, _, err := svc.Signup(ctx, name, "correct horse", name); err != nil {
				errs <- err
				return
			}
			if _, _, err := svc.Login(ctx, name, "correct horse"); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
