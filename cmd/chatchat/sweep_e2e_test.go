package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chatchat/chatchat/client"
	"github.com/gobwas/ws"
)

// TestDeadSocketIsSweptAndGoesOffline: a client that stops answering (no frames, no pongs)
// is closed by the sweeper after the idle timeout, and its user goes offline for the
// others at once.
func TestDeadSocketIsSweptAndGoesOffline(t *testing.T) {
	n := startNode(t, "", nil, "--ws-ping-interval", "200ms", "--ws-idle-timeout", "1s", "--ws-sweep-interval", "100ms")
	ctx := context.Background()
	alice, _ := newUser(t, n, "alice")
	bob, bobA := newUser(t, n, "bob")
	alice.CreateRoom(ctx, client.NewRoom{Type: "direct", MemberIDs: []string{bobA.User.ID}})
	ac := connect(t, alice)

	// Bob's "device" completes the handshake and then never reads or writes again.
	d := ws.Dialer{Header: ws.HandshakeHeaderHTTP(http.Header{"Authorization": {"Bearer " + bob.Tokens().AccessToken}})}
	conn, _, _, err := d.Dial(ctx, "ws://"+strings.TrimPrefix(n.URL, "http://")+"/ws")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	expect(t, ac, "PRESENCE_UPDATED", func(ev client.Event) bool {
		p, _ := ev.Presence()
		return p.UserID == bobA.User.ID && p.Status == "online"
	})
	expect(t, ac, "PRESENCE_UPDATED", func(ev client.Event) bool {
		p, _ := ev.Presence()
		return p.UserID == bobA.User.ID && p.Status == "offline"
	})
	// The server has closed its end: the socket reads the pings it sent, then EOF.
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, conn); err != nil {
		t.Fatalf("the dead socket was not closed by the server: %v", err)
	}
}
