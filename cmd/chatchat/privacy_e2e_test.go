package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/client"
)

// lockedBuffer collects a server's logs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestLogsCarryNoSecrets: with every log line on (debug), a session that signs up, sends
// a unique text, is pushed in the logged mode, registers and deletes a push token and
// refreshes its tokens leaves none of the text, the password, the push token or the
// access and refresh tokens in the logs.
func TestLogsCarryNoSecrets(t *testing.T) {
	logs := &lockedBuffer{}
	n := startNodeLogs(t, logs, "", nil, "--log-level", "debug")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const (
		password  = "zebra-PASSWORD-7c1f"
		text      = "unique-TEXT-9d2e <secret>"
		pushToken = "push-TOKEN-4b8a"
	)
	alice := client.New(n.URL, client.WithHeartbeat(0))
	bob := client.New(n.URL, client.WithHeartbeat(0))
	if _, err := alice.Signup(ctx, "privalice", password, "Alice"); err != nil {
		t.Fatal(err)
	}
	ba, err := bob.Signup(ctx, "privbob", password, "Bob")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.RegisterDevice(ctx, chat.PlatformWeb, pushToken); err != nil {
		t.Fatal(err)
	}
	room, _, err := alice.CreateRoom(ctx, client.NewRoom{Type: chat.RoomDirect, MemberIDs: []string{ba.User.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := alice.SendMessage(ctx, room.ID, client.NewMessage{Text: text}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		ns, _, err := bob.Notifications(ctx, "", 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(ns) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("bob was not pushed")
		}
	}
	if err := bob.DeleteDevice(ctx, pushToken); err != nil {
		t.Fatal(err)
	}
	before := alice.Tokens()
	if _, err := alice.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	after := alice.Tokens()
	conn, err := alice.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()

	got := logs.String()
	if !strings.Contains(got, "push notification") || !strings.Contains(got, "http request") {
		t.Fatalf("the logs lack the lines this test reads; debug logging is off?\n%s", got)
	}
	for what, secret := range map[string]string{
		"message text": "unique-TEXT-9d2e", "password": password, "push token": pushToken,
		"access token": before.AccessToken, "refresh token": before.RefreshToken,
		"new access token": after.AccessToken, "new refresh token": after.RefreshToken,
	} {
		if strings.Contains(got, secret) {
			t.Errorf("the logs carry the %s", what)
		}
	}
}
