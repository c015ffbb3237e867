package auth_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	"github.com/chatchat/chatchat/auth"
	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/memory"
)

// refused fails the test unless the access token is refused as invalid.
func refused(tb testing.TB, svc *auth.Service, token string) {
	tb.Helper()
	_, err := svc.Authenticate(token)
	wantCode(tb, err, chat.Unauthorized, "invalid_token")
}

func TestLogout(t *testing.T) {
	ctx := context.Background()
	svc, _, _ := newService(t)
	u, laptop := signup(t, svc, "anna")
	_, phone, err := svc.Login(ctx, "anna", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	_, other := signup(t, svc, "bert")

	if err := svc.Logout(ctx, u.ID, laptop.RefreshToken); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	// At once, with no reload: the session's access token and refresh token are dead.
	refused(t, svc, laptop.AccessToken)
	_, err = svc.Refresh(ctx, laptop.RefreshToken)
	wantCode(t, err, chat.Unauthorized, "invalid_refresh_token")
	// The user's other session, and other users, are untouched.
	wantUser(t, svc, phone.AccessToken, u.ID)
	if _, err := svc.Refresh(ctx, other.RefreshToken); err != nil {
		t.Errorf("another user's refresh after the logout: %v", err)
	}

	// Logging out again, with the same or a spent token of the session, is no error.
	if err := svc.Logout(ctx, u.ID, laptop.RefreshToken); err != nil {
		t.Errorf("second Logout: %v", err)
	}
	phone2, err := svc.Refresh(ctx, phone.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Logout(ctx, u.ID, phone.RefreshToken); err != nil {
		t.Errorf("Logout with a spent token of the session: %v", err)
	}
	refused(t, svc, phone2.AccessToken)

	// A token that is not the caller's is not found: unknown, malformed, or another user's.
	for name, tok := range map[string]string{
		"unknown": flip(other.RefreshToken), "malformed": "short", "another user's": other.RefreshToken,
	} {
		err := svc.Logout(ctx, u.ID, tok)
		if chat.ErrorKind(err) != chat.NotFound || chat.ErrorCode(err) != "session_not_found" {
			t.Errorf("Logout(%s token) = %v, want session_not_found", name, err)
		}
	}
}

func TestLogoutAll(t *testing.T) {
	ctx := context.Background()
	svc, _, c := newService(t)
	u, a := signup(t, svc, "carl")
	_, b, err := svc.Login(ctx, "carl", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	// A session whose last token is older than an access token's lifetime has no live
	// access token, but its refresh token must die all the same.
	c.Advance(time.Hour)
	_, fresh, err := svc.Login(ctx, "carl", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	dora, other := signup(t, svc, "dora")

	if err := svc.LogoutAll(ctx, u.ID); err != nil {
		t.Fatalf("LogoutAll: %v", err)
	}
	refused(t, svc, fresh.AccessToken)
	for name, tok := range map[string]auth.Tokens{"first": a, "second": b, "fresh": fresh} {
		_, err := svc.Refresh(ctx, tok.RefreshToken)
		if chat.ErrorCode(err) != "invalid_refresh_token" {
			t.Errorf("refresh of the %s session after LogoutAll = %v, want invalid_refresh_token", name, err)
		}
	}
	wantUser(t, svc, other.AccessToken, dora.ID)

	// Signing in again afterwards starts a session that works.
	_, again, err := svc.Login(ctx, "carl", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	wantUser(t, svc, again.AccessToken, u.ID)
}

// TestLogoutReachesOtherProcesses: a process that did not end the session refuses its
// tokens at once when the bus tells it, and by its next reload when the bus did not.
func TestLogoutReachesOtherProcesses(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	bus := memory.NewBus()
	cfg := auth.Config{Secret: []byte(testSecret), Argon2: fastArgon2, Bus: bus}
	api, listening, deaf := auth.New(cfg, st, st, st), auth.New(cfg, st, st, st), auth.New(cfg, st, st, st)
	defer bus.Subscribe(chat.TopicSessions, listening)()
	u, tok := signup(t, api, "emma")

	if err := api.Logout(ctx, u.ID, tok.RefreshToken); err != nil {
		t.Fatal(err)
	}
	refused(t, listening, tok.AccessToken)
	wantUser(t, deaf, tok.AccessToken, u.ID) // it missed the event...
	if err := deaf.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	refused(t, deaf, tok.AccessToken) // ...and the store told it
	// What chat servers ask of their open sockets.
	session, err := auth.New(cfg, nil, nil, nil).Authenticate(tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if !deaf.Revoked(session.SessionID) || !listening.Revoked(session.SessionID) {
		t.Error("Revoked(session) = false after the logout")
	}
}

// TestRevocationsExpire: a revocation is kept while an access token of its session may be
// alive, and then forgotten, in the store and in memory.
func TestRevocationsExpire(t *testing.T) {
	ctx := context.Background()
	svc, st, c := newService(t)
	u, tok := signup(t, svc, "finn")
	if err := svc.Logout(ctx, u.ID, tok.RefreshToken); err != nil {
		t.Fatal(err)
	}
	rs, err := st.Revocations(ctx, c.Now())
	if err != nil || len(rs) != 1 {
		t.Fatalf("Revocations = %v, %v; want the one session", rs, err)
	}
	// 15 min of token lifetime, and the 30 s leeway twice (the issuer's and the checker's).
	if want := c.Now().Add(16 * time.Minute); !rs[0].ExpiresAt.Equal(want) {
		t.Errorf("revocation expires at %v, want %v", rs[0].ExpiresAt, want)
	}
	c.Advance(16*time.Minute + time.Second)
	if rs, err := st.Revocations(ctx, c.Now()); err != nil || len(rs) != 0 {
		t.Errorf("Revocations after the lifetime = %v, %v; want none", rs, err)
	}
	// The token it covered is dead of old age by now.
	_, err = svc.Authenticate(tok.AccessToken)
	wantCode(t, err, chat.Unauthorized, "token_expired")
}

func TestRefreshGrace(t *testing.T) {
	ctx := context.Background()
	svc, _, c := newService(t)
	u, t0 := signup(t, svc, "gus")
	t1, err := svc.Refresh(ctx, t0.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	// The answer was lost; the client retries with the same token within the grace.
	c.Advance(20 * time.Second)
	again, err := svc.Refresh(ctx, t0.RefreshToken)
	if err != nil {
		t.Fatalf("repeat within the grace period: %v", err)
	}
	if again != t1 {
		t.Fatalf("repeat gave %+v, want the first answer %+v", again, t1)
	}
	wantUser(t, svc, t1.AccessToken, u.ID)
	// Once only: a third use is a replay, which ends the session.
	_, err = svc.Refresh(ctx, t0.RefreshToken)
	wantCode(t, err, chat.Unauthorized, "invalid_refresh_token")
	refused(t, svc, t1.AccessToken)
	_, err = svc.Refresh(ctx, t1.RefreshToken)
	wantCode(t, err, chat.Unauthorized, "invalid_refresh_token")
}

func TestRefreshGraceThenRotate(t *testing.T) {
	ctx := context.Background()
	svc, _, _ := newService(t)
	_, t0 := signup(t, svc, "hugo")
	t1, err := svc.Refresh(ctx, t0.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Refresh(ctx, t0.RefreshToken); err != nil {
		t.Fatal(err)
	}
	// The successor both answers carried rotates as usual.
	if _, err := svc.Refresh(ctx, t1.RefreshToken); err != nil {
		t.Errorf("refresh of the successor after a repeat: %v", err)
	}
}

// gatedStore holds back the recording of a refresh's successor until released, and tells
// when a grace claim was tried: the moment two uses of one token overlap.
type gatedStore struct {
	stores
	release chan struct{}
	claimed chan struct{}
	once    sync.Once
	// revokeFirst, when set, runs before the next token is created: a logout that
	// comes between a refresh's consuming its token and issuing the successor.
	revokeFirst func()
	mu          sync.Mutex
	created     []string
}

func (g *gatedStore) SetSuccessor(ctx context.Context, hash string, sealed []byte) (bool, error) {
	if g.release != nil {
		<-g.release
	}
	return g.stores.SetSuccessor(ctx, hash, sealed)
}

func (g *gatedStore) ClaimGrace(ctx context.Context, hash string) (chat.RefreshToken, bool, error) {
	if g.claimed != nil {
		g.once.Do(func() { close(g.claimed) })
	}
	return g.stores.ClaimGrace(ctx, hash)
}

func (g *gatedStore) CreateRefreshToken(ctx context.Context, t chat.RefreshToken) error {
	if g.revokeFirst != nil {
		g.revokeFirst()
	}
	g.mu.Lock()
	g.created = append(g.created, t.Hash)
	g.mu.Unlock()
	return g.stores.CreateRefreshToken(ctx, t)
}

// TestRefreshConcurrentDuplicate: a second use that arrives while the first is still being
// answered waits for it and gets the same pair; the session is not ended.
func TestRefreshConcurrentDuplicate(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	g := &gatedStore{stores: st}
	svc := auth.New(auth.Config{Secret: []byte(testSecret), Argon2: fastArgon2}, st, g, st)
	_, t0 := signup(t, svc, "iris")
	g.release, g.claimed = make(chan struct{}), make(chan struct{})

	var first auth.Tokens
	var firstErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		first, firstErr = svc.Refresh(ctx, t0.RefreshToken)
	}()
	second := make(chan auth.Tokens, 1)
	go func() {
		tok, err := svc.Refresh(ctx, t0.RefreshToken)
		if err != nil {
			t.Errorf("the duplicate: %v", err)
		}
		second <- tok
	}()
	<-g.claimed // the duplicate found the token used, with no successor yet
	close(g.release)
	<-done
	if firstErr != nil {
		t.Fatalf("the first use: %v", firstErr)
	}
	if got := <-second; got != first {
		t.Fatalf("the duplicate got %+v, want the first use's %+v", got, first)
	}
	g.release = nil
	if _, err := svc.Refresh(ctx, first.RefreshToken); err != nil {
		t.Errorf("the session was ended by a duplicate: refresh of the successor: %v", err)
	}
}

// TestRefreshRacingLogout: a refresh whose token is revoked after it was consumed but
// before its successor was created fails, and leaves no live token in the session.
func TestRefreshRacingLogout(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	g := &gatedStore{stores: st}
	svc := auth.New(auth.Config{Secret: []byte(testSecret), Argon2: fastArgon2}, st, g, st)
	u, t0 := signup(t, svc, "jane")
	g.revokeFirst = func() {
		g.revokeFirst = nil
		if err := svc.LogoutAll(ctx, u.ID); err != nil {
			t.Errorf("LogoutAll: %v", err)
		}
	}
	_, err := svc.Refresh(ctx, t0.RefreshToken)
	wantCode(t, err, chat.Unauthorized, "invalid_refresh_token")
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, h := range g.created {
		rt, err := st.RefreshToken(ctx, h)
		if err != nil || !rt.Revoked {
			t.Errorf("token %s after the race: Revoked %v, %v; want revoked", h[:8], rt.Revoked, err)
		}
	}
}

// TestRunPrunes: expired refresh tokens (used ones included) and revocations are deleted
// in the background; live ones stay.
func TestRunPrunes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	st := newStore(t)
	c := newClock()
	svc := auth.New(auth.Config{Secret: []byte(testSecret), Argon2: fastArgon2, Now: c.Now,
		PruneInterval: 10 * time.Millisecond, RefreshTTL: time.Hour}, st, st, st)
	u, old := signup(t, svc, "kurt")
	if _, err := svc.Refresh(ctx, old.RefreshToken); err != nil {
		t.Fatal(err)
	}
	if err := svc.Logout(ctx, u.ID, old.RefreshToken); err != nil {
		t.Fatal(err)
	}
	c.Advance(2 * time.Hour)
	_, live := signup(t, svc, "lena")

	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := st.RefreshToken(ctx, hashOf(old.RefreshToken))
		rs, rerr := st.Revocations(ctx, time.Time{})
		if chat.IsNotFound(err) && rerr == nil && len(rs) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not pruned within 10 s: old token %v, revocations %v %v", err, rs, rerr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := st.RefreshToken(ctx, hashOf(live.RefreshToken)); err != nil {
		t.Errorf("a live token was pruned: %v", err)
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
}

// TestRunDropsSealedPairs: the pair kept sealed for a repeat is removed once the grace
// period is over.
func TestRunDropsSealedPairs(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	st := newStore(t)
	c := newClock()
	svc := auth.New(auth.Config{Secret: []byte(testSecret), Argon2: fastArgon2, Now: c.Now,
		PruneInterval: 10 * time.Millisecond}, st, st, st)
	_, t0 := signup(t, svc, "mira")
	if _, err := svc.Refresh(ctx, t0.RefreshToken); err != nil {
		t.Fatal(err)
	}
	if rt, err := st.RefreshToken(ctx, hashOf(t0.RefreshToken)); err != nil || len(rt.Successor) == 0 {
		t.Fatalf("the spent token holds no sealed pair: %+v, %v", rt, err)
	}
	c.Advance(31 * time.Second)
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rt, err := st.RefreshToken(ctx, hashOf(t0.RefreshToken))
		if err != nil {
			t.Fatal(err)
		}
		if len(rt.Successor) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sealed pair outlived its grace period by 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
}

// hashOf is a refresh token as the store keys it.
func hashOf(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
