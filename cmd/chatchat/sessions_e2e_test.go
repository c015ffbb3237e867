package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/chatchat/chatchat/client"
)

// closedWith waits until the server ends conn and fails unless it closed with code.
func closedWith(tb testing.TB, conn *client.Conn, code int) {
	tb.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case _, ok := <-conn.Events():
			if !ok {
				if got := client.CloseCode(conn.Err()); got != code {
					tb.Fatalf("connection ended with %v, want close code %d", conn.Err(), code)
				}
				return
			}
		case <-deadline:
			tb.Fatalf("connection still open after 15 s, want it closed with %d", code)
		}
	}
}

// TestSessionLogoutAcrossNodes: signing out on the API node ends the session everywhere: its
// socket on a chat node is closed with 4001, its access token is refused by every node, and
// the user's other session and other users are untouched; logout-all ends the rest.
func TestSessionLogoutAcrossNodes(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()
	laptop, alice := newUser(t, c.api, "alice")
	phone := client.New(c.api.URL, client.WithHeartbeat(0))
	if _, err := phone.Login(ctx, alice.User.Username, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	bob, _ := newUser(t, c.api, "bob")
	ended := laptop.Tokens()
	lc := connect(t, wsClient(c.ws2, laptop))
	pc := connect(t, wsClient(c.ws1, phone))
	bc := connect(t, wsClient(c.ws2, bob))

	if err := laptop.Logout(ctx); err != nil {
		t.Fatalf("logout: %v", err)
	}
	closedWith(t, lc, client.CloseUnauthorized)
	roundTrip(t, pc)
	roundTrip(t, bc)
	// Every node refuses the ended session's tokens: the API (and its refresh, which the
	// client tries next), and the chat nodes' handshake.
	if _, err := client.New(c.api.URL, client.WithTokens(ended)).Me(ctx); client.ErrorStatus(err) != http.StatusUnauthorized {
		t.Errorf("API with the ended session's tokens: %v, want 401", err)
	}
	for name, n := range map[string]*node{"ws1": c.ws1, "ws2": c.ws2} {
		accessOnly := client.Tokens{AccessToken: ended.AccessToken}
		_, err := client.New(n.URL, client.WithTokens(accessOnly), client.WithHeartbeat(0)).Connect(ctx)
		if client.ErrorStatus(err) != http.StatusUnauthorized {
			t.Errorf("%s handshake with the ended session's token: %v, want 401", name, err)
		}
	}

	if err := phone.LogoutAll(ctx); err != nil {
		t.Fatalf("logout-all: %v", err)
	}
	closedWith(t, pc, client.CloseUnauthorized)
	roundTrip(t, bc)
}

// TestSessionRenewalAndExpiry: with access tokens of 3 s, a Go client Session renews its
// connection with AUTH and keeps receiving; a connection that is not renewed is closed
// with 4001 within a sweep of its token's expiry.
func TestSessionRenewalAndExpiry(t *testing.T) {
	n := startNode(t, "", nil, "--access-token-ttl", "3s", "--ws-sweep-interval", "1s",
		"--rate-login", "0", "--rate-signup", "0", "--rate-send", "0")
	ctx := context.Background()
	ann, _ := newUser(t, n, "ann")
	ben, benA := newUser(t, n, "ben")
	room, _, err := ann.CreateRoom(ctx, client.NewRoom{Type: "group", Name: "x", MemberIDs: []string{benA.User.ID}})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := ben.NewSession(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	plain := connect(t, client.New(n.URL, client.WithTokens(ann.Tokens()), client.WithHeartbeat(0)))

	closedWith(t, plain, client.CloseUnauthorized)
	// Past its first token's expiry, the Session's connection still delivers.
	if _, _, err := ann.SendMessage(ctx, room.ID, client.NewMessage{Text: "still there?"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(15 * time.Second)
	var renewed bool
	for {
		select {
		case ev, ok := <-sess.Events():
			if !ok {
				t.Fatalf("session ended: %v", sess.Err())
			}
			if ev.Type == "AUTH_OK" {
				renewed = true
			}
			if m, err := ev.Message(); err == nil && m.Text == "still there?" {
				if !renewed {
					t.Error("the message came without an AUTH_OK before it")
				}
				return
			}
		case <-deadline:
			t.Fatal("the renewed session received nothing within 15 s")
		}
	}
}
