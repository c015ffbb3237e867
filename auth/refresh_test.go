package auth_test

import (
	"context"
	"encoding/base64"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/chatchat/chatchat/auth"
	"github.com/chatchat/chatchat/chat"
)

func TestRefreshRotation(t *testing.T) {
	ctx := context.Background()
	svc, _, c := newService(t)
	u, t0 := signup(t, svc, "heidi")
	session := wantUser(t, svc, t0.AccessToken, u.ID).SessionID

	c.Advance(20 * time.Minute) // the access token is dead; refreshing is why.
	t1, err := svc.Refresh(ctx, t0.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if t1.RefreshToken == t0.RefreshToken || t1.ExpiresIn != 15*60 {
		t.Fatalf("refresh gave %+v", t1)
	}
	// A refresh stays in the session: the access token says the same one.
	if got := wantUser(t, svc, t1.AccessToken, u.ID).SessionID; got != session {
		t.Errorf("refreshed token's session = %q, want %q", got, session)
	}

	t2, err := svc.Refresh(ctx, t1.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	wantUser(t, svc, t2.AccessToken, u.ID)

	// Each refresh gives the token a fresh lifetime: a family in use does not die.
	c.Advance(29 * 24 * time.Hour)
	t3, err := svc.Refresh(ctx, t2.RefreshToken)
	if err != nil {
		t.Fatalf("refresh within the lifetime of the latest token: %v", err)
	}
	wantUser(t, svc, t3.AccessToken, u.ID)
}

func TestRefreshReplayRevokesFamily(t *testing.T) {
	ctx := context.Background()
	svc, _, c := newService(t)
	_, stolen := signup(t, svc, "ivan")
	_, other := signup(t, svc, "judy")
	_, ivanPhone, err := svc.Login(ctx, "ivan", "correct horse") // a second family of ivan's
	if err != nil {
		t.Fatal(err)
	}

	newer, err := svc.Refresh(ctx, stolen.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	// After the grace period a second use is a replay, not a lost answer.
	c.Advance(31 * time.Second)
	_, err = svc.Refresh(ctx, stolen.RefreshToken)
	wantCode(t, err, chat.Unauthorized, "invalid_refresh_token")

	// The replay revoked the family: the newer token fails too, and so does the access
	// token issued with it.
	_, err = svc.Refresh(ctx, newer.RefreshToken)
	wantCode(t, err, chat.Unauthorized, "invalid_refresh_token")
	_, err = svc.Authenticate(newer.AccessToken)
	wantCode(t, err, chat.Unauthorized, "invalid_token")

	// Other families, of the same user or another, are untouched.
	for name, tok := range map[string]auth.Tokens{"same user, other login": ivanPhone, "other user": other} {
		if _, err := svc.Refresh(ctx, tok.RefreshToken); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestRefreshRefused(t *testing.T) {
	ctx := context.Background()
	svc, _, c := newService(t)
	_, tok := signup(t, svc, "mallory")
	random := base64.RawURLEncoding.EncodeToString(make([]byte, 32))

	for _, tc := range []struct{ name, token string }{
		{"empty", ""},
		{"unknown", random},
		{"malformed", "short"},
		{"access token", tok.AccessToken},
		{"one character changed", flip(tok.RefreshToken)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := svc.Refresh(ctx, tc.token)
			wantCode(t, err, chat.Unauthorized, "invalid_refresh_token")
		})
	}

	c.Advance(30*24*time.Hour + time.Second)
	_, err := svc.Refresh(ctx, tok.RefreshToken)
	wantCode(t, err, chat.Unauthorized, "invalid_refresh_token")
}

// claims are an access token's claims as the service writes them.
type claims struct {
	jwt.RegisteredClaims
	SessionID string `json:"sid"`
}

func flip(s string) string {
	b := []byte(s)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}
