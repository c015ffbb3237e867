package ws

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// quiet keeps the sweeper from pinging or dropping sessions in tests that call sweep with
// times far ahead: only expiry and revocation are under test.
var quiet = Config{PingInterval: 48 * time.Hour, IdleTimeout: 48 * time.Hour}

// token is a testAuth token of user in session that expires at exp.
func token(user, session string, exp time.Time) string {
	return fmt.Sprintf("tok-%s@%s#%d", user, session, exp.UnixMilli())
}

// authOK reads AUTH_OK and returns its expiresAt.
func (c *client) authOK() time.Time {
	c.tb.Helper()
	var d struct {
		ExpiresAt chat.Time `json:"expiresAt"`
	}
	if err := json.Unmarshal(c.expect(chat.EventAuthOK), &d); err != nil {
		c.tb.Fatalf("AUTH_OK data: %v", err)
	}
	return d.ExpiresAt.Time
}

func TestAuthRenewsTheSession(t *testing.T) {
	e := newTestEnv(t, quiet)
	now := time.Now().Truncate(time.Millisecond)
	c := e.dialToken(t, token("alice", "s1", now.Add(time.Minute)))

	// A fresh token of another session of the same user: accepted, and answered with its
	// expiry.
	renewed := now.Add(time.Hour)
	c.send(chat.EventAuth, map[string]string{"accessToken": token("alice", "s2", renewed)})
	if got := c.authOK(); !got.Equal(renewed) {
		t.Fatalf("AUTH_OK expiresAt = %v, want %v", got, renewed)
	}
	// Past the first token's expiry the session lives on...
	e.srv.sweep(now.Add(2 * time.Minute))
	c.expectNothingQueued()
	// ...and it belongs to the new session now: ending the old one leaves it open.
	e.srv.HandleEvent(revokedEvent(t, chat.SessionsRevoked{UserID: "alice", SessionIDs: []string{"s1"}}))
	c.expectNothingQueued()
	// Past the new token's expiry, within one sweep, it is closed.
	e.srv.sweep(renewed.Add(time.Second))
	c.expectClose(CloseUnauthorized)
}

func TestAuthRefusalsClose(t *testing.T) {
	for _, tc := range []struct {
		name  string
		token string
	}{
		{"another user's token", "tok-bob"},
		{"a bad token", "nonsense"},
		{"a revoked session's token", "tok-alice@gone"},
		{"an empty token", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t, quiet)
			e.auth.revoke("gone")
			c := e.dial(t, "alice")
			c.send(chat.EventAuth, map[string]string{"accessToken": tc.token})
			c.expectError("unauthorized")
			c.expectClose(CloseUnauthorized)
			eventually(t, "SessionClosed", func() bool { return e.chat.closedCount() == 1 })
		})
	}
}

// TestAuthMalformedKeepsTheConnection: AUTH whose data is not an object is a bad frame, not
// a bad token.
func TestAuthMalformedKeepsTheConnection(t *testing.T) {
	e := newTestEnv(t, quiet)
	c := e.dial(t, "alice")
	c.sendRaw([]byte(`{"type":"AUTH","data":"tok-alice"}`))
	c.expectError("bad_request")
	c.expectNothingQueued()
}

// TestExpiredSessionIsClosedBySweeper runs the real sweeper: a session whose token expires
// and is not renewed is closed with 4001 by a sweep after the expiry.
func TestExpiredSessionIsClosedBySweeper(t *testing.T) {
	cfg := quiet
	cfg.SweepInterval = 10 * time.Millisecond
	e := newTestEnv(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.srv.Run(ctx)

	expires := time.Now().Add(300 * time.Millisecond).Truncate(time.Millisecond)
	c := e.dialToken(t, token("alice", "s1", expires))
	other := e.dial(t, "bob") // an hour's token
	c.expectClose(CloseUnauthorized)
	if time.Now().Before(expires) {
		t.Fatalf("closed before the token expired (at %v)", expires)
	}
	other.expectNothingQueued()
}

func TestSweepIntervalIsAtMostFiveSeconds(t *testing.T) {
	for _, in := range []time.Duration{0, -time.Second, time.Minute} {
		c := Config{SweepInterval: in}
		c.fill()
		if c.SweepInterval != MaxSweepInterval {
			t.Errorf("SweepInterval %v → %v, want %v", in, c.SweepInterval, MaxSweepInterval)
		}
	}
	c := Config{SweepInterval: time.Second}
	c.fill()
	if c.SweepInterval != time.Second {
		t.Errorf("SweepInterval 1s → %v", c.SweepInterval)
	}
}

func revokedEvent(tb testing.TB, d chat.SessionsRevoked) chat.Event {
	tb.Helper()
	data, err := json.Marshal(d)
	if err != nil {
		tb.Fatal(err)
	}
	return chat.Event{Type: chat.EventSessionsRevoked, UserIDs: []string{d.UserID}, Data: data}
}

// TestRevokedSessionsAreClosed: SESSIONS_REVOKED closes the sockets of the sessions it names,
// or of every session of the user; nobody else's, and it never reaches a client as a frame.
func TestRevokedSessionsAreClosed(t *testing.T) {
	e := newTestEnv(t, quiet)
	e.chat.setRooms("alice", "r1")
	e.chat.setRooms("bob", "r1")
	laptop := e.dialToken(t, "tok-alice@s1")
	phone := e.dialToken(t, "tok-alice@s2")
	tablet := e.dialToken(t, "tok-alice@s3")
	bob := e.dial(t, "bob")

	e.srv.HandleEvent(revokedEvent(t, chat.SessionsRevoked{UserID: "alice", SessionIDs: []string{"s1"}}))
	laptop.expectClose(CloseUnauthorized)
	phone.expectNothingQueued()

	// A session id of another user's name is theirs alone.
	e.srv.HandleEvent(revokedEvent(t, chat.SessionsRevoked{UserID: "bob", SessionIDs: []string{"s2"}}))
	phone.expectNothingQueued()
	bob.expectNothingQueued()

	e.srv.HandleEvent(revokedEvent(t, chat.SessionsRevoked{UserID: "alice", All: true}))
	phone.expectClose(CloseUnauthorized)
	tablet.expectClose(CloseUnauthorized)
	// The room's events still reach bob, and the revocations never did.
	e.srv.HandleEvent(messageEvent(t, "r1", 1, "still here"))
	bob.expect(chat.EventMessageCreated)
	bob.expectNothingQueued()
}

// TestRevokedSessionIsClosedBySweep: a revocation whose event this node missed closes the
// socket at the next sweep.
func TestRevokedSessionIsClosedBySweep(t *testing.T) {
	e := newTestEnv(t, quiet)
	c := e.dialToken(t, "tok-alice@s1")
	other := e.dialToken(t, "tok-alice@s2")
	e.auth.revoke("s1")
	e.srv.sweep(time.Now())
	c.expectClose(CloseUnauthorized)
	other.expectNothingQueued()
}
