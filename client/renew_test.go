package client_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/chatchat/chatchat/client"
)

// jwtLike returns a token whose claims say it was issued now and expires after life: all a
// client reads of a token. The signature is not one; the test server does not check.
func jwtLike(name string, life time.Duration) string {
	now := time.Now()
	enc := base64.RawURLEncoding.EncodeToString
	claims := fmt.Sprintf(`{"sub":"u1","iat":%d,"exp":%d}`, now.Unix(), now.Add(life).Unix())
	return enc([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc([]byte(claims)) + "." + enc([]byte(name))
}

// TestSessionRenewsBeforeExpiry: before its access token expires, a Session refreshes the
// tokens and sends AUTH with the new access token on the open connection, which the server
// answers with AUTH_OK; it does not reconnect.
func TestSessionRenewsBeforeExpiry(t *testing.T) {
	short := jwtLike("short", 2*time.Second) // due half a second before it expires
	fresh := jwtLike("fresh", time.Hour)
	s := newServer(t)
	s.reply("GET /api/v1/rooms", 200, roomsAnswer())
	s.reply("POST /api/v1/auth/refresh", 200, client.Tokens{AccessToken: fresh, RefreshToken: "rt2"})
	renewed := make(chan string, 1)
	s.handleWS(t, short, func(p *peer) {
		p.expectFrame(`{"type":"RESUME","data":{"rooms":{"r1":5,"r2":3},"revs":{"r1":0,"r2":0}}}`)
		ev := p.readType("AUTH")
		var d struct {
			AccessToken string `json:"accessToken"`
		}
		_ = json.Unmarshal(ev.Data, &d)
		renewed <- d.AccessToken
		p.send("AUTH_OK", map[string]string{"expiresAt": "2026-11-24T11:00:00.000Z"})
		p.waitClosed()
	})
	c := newClient(t, s, client.WithTokens(client.Tokens{AccessToken: short, RefreshToken: "rt1"}))
	sess, err := c.NewSession(testContext(t), client.WithBackoff(time.Millisecond, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()

	select {
	case got := <-renewed:
		if got != fresh {
			t.Errorf("AUTH with %q, want the refreshed token", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no AUTH within 10 s of a token that expires in 2 s")
	}
	ev := next(t, sess.Events())
	if exp, err := ev.AuthOK(); err != nil || !exp.Equal(time.Date(2026, 11, 24, 11, 0, 0, 0, time.UTC)) {
		t.Errorf("event %s: AuthOK = %v, %v", ev.Type, exp, err)
	}
	if n := s.count("POST", "/api/v1/auth/refresh"); n != 1 {
		t.Errorf("%d refreshes, want 1", n)
	}
	if n := s.count("GET", "/ws"); n != 1 {
		t.Errorf("%d connections, want the one renewed", n)
	}
	if got := c.Tokens(); got.AccessToken != fresh || got.RefreshToken != "rt2" {
		t.Errorf("client tokens %+v, want the refreshed ones", got)
	}
}

func TestLogout(t *testing.T) {
	for _, tc := range []struct {
		name, path, body string
		call             func(c *client.Client) error
	}{
		{"Logout", "/api/v1/auth/logout", `{"refreshToken":"rt1"}`, func(c *client.Client) error { return c.Logout(testContext(t)) }},
		{"LogoutAll", "/api/v1/auth/logout-all", ``, func(c *client.Client) error { return c.LogoutAll(testContext(t)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t)
			s.reply("POST "+tc.path, 204, nil)
			c := newClient(t, s)
			if err := tc.call(c); err != nil {
				t.Fatal(err)
			}
			reqs := s.requests()
			if len(reqs) != 1 || reqs[0].Path != tc.path || string(trimNL(reqs[0].Body)) != tc.body ||
				reqs[0].Header.Get("Authorization") != "Bearer at1" {
				t.Fatalf("requests %+v, want one POST %s with %s and the access token", reqs, tc.path, tc.body)
			}
			if got := c.Tokens(); got != (client.Tokens{}) {
				t.Errorf("tokens after %s: %+v, want none", tc.name, got)
			}
		})
	}
	t.Run("refused", func(t *testing.T) {
		s := newServer(t)
		s.reply("POST /api/v1/auth/logout", 404, apiError("session_not_found", "not yours"))
		c := newClient(t, s)
		if err := c.Logout(testContext(t)); client.ErrorCode(err) != "session_not_found" {
			t.Errorf("Logout = %v, want session_not_found", err)
		}
		if got := c.Tokens(); got.RefreshToken != "rt1" {
			t.Errorf("tokens %+v: a failed logout dropped them", got)
		}
	})
}
