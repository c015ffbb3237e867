package main

import (
	"context"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/client"
	"github.com/chatchat/chatchat/internal/testenv"
)

// TestOutboxSurvivesACrashAfterStore: an API process that dies right after storing a
// message, before publishing it (the fault hook exits there, as kill -9 would), leaves the
// message pending; restarted, its outbox relay publishes it: the members' sockets on a chat
// node receive MESSAGE_CREATED without asking, and the offline member's device is pushed
// exactly once.
func TestOutboxSurvivesACrashAfterStore(t *testing.T) {
	bin := buildBinary(t)
	r := testenv.Redis(t)
	common := []string{"--redis-url", r.URL(), "--redis-prefix", r.Prefix(t),
		"--jwt-secret", testSecret, "--rate-send", "0", "--rate-signup", "0", "--rate-login", "0",
		"--outbox-relay-interval", "100ms", "--outbox-relay-age", "200ms"}
	common = append(common, clusterStoreArgs(t)...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	api := startProc(t, bin, append(common, "--data-dir", t.TempDir(), "--roles", "api", "--fault-exit-after-store")...)
	chats := startProc(t, bin, append(common, "--data-dir", t.TempDir(), "--roles", "ws,notify")...)
	signup := func(name string) (*client.Client, client.Auth) {
		c := client.New(api.url.String(), client.WithHeartbeat(0))
		a, err := c.Signup(ctx, name, "correct horse battery", name)
		if err != nil {
			t.Fatal(err)
		}
		return c, a
	}
	alice, _ := signup("crashalice")
	carol, ca := signup("crashcarol")
	bob, ba := signup("crashbob")
	room, _, err := alice.CreateRoom(ctx, client.NewRoom{Type: chat.RoomGroup, Name: "crash", MemberIDs: []string{ba.User.ID, ca.User.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.RegisterDevice(ctx, chat.PlatformAndroid, "bob-phone"); err != nil {
		t.Fatal(err)
	}
	var conns []*client.Conn
	for _, c := range []*client.Client{alice, carol} {
		conns = append(conns, connect(t, client.New(chats.url.String(), client.WithTokens(c.Tokens()), client.WithHeartbeat(0))))
	}

	// The send stores the message, then the process exits: the request gets no answer.
	if _, _, err := alice.SendMessage(ctx, room.ID, client.NewMessage{ClientMsgID: "c1", Text: "survives"}); err == nil {
		t.Fatal("the send answered; the fault hook should have ended the process first")
	}
	select {
	case <-api.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the API process did not exit after the store")
	}

	api = startProc(t, bin, append(common, "--data-dir", t.TempDir(), "--roles", "api")...)
	var id string
	for _, conn := range conns {
		m, err := expect(t, conn, "MESSAGE_CREATED", nil).Message()
		if err != nil || m.Text != "survives" || m.Seq != 1 {
			t.Fatalf("got %+v, %v; want the stored message", m, err)
		}
		id = m.ID
	}

	bob = client.New(api.url.String(), client.WithTokens(bob.Tokens()), client.WithHeartbeat(0))
	var ns []client.Notification
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && len(ns) == 0; time.Sleep(100 * time.Millisecond) {
		if ns, _, err = bob.Notifications(ctx, "", 10); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(time.Second) // room for a second push to be recorded, were there one
	if ns, _, err = bob.Notifications(ctx, "", 10); err != nil {
		t.Fatal(err)
	}
	if len(ns) != 1 || ns[0].MessageID != id {
		t.Fatalf("bob's push history: %+v; want one entry for %s", ns, id)
	}
	// The retry of the send the client never heard back from is the stored message.
	alice = client.New(api.url.String(), client.WithTokens(alice.Tokens()), client.WithHeartbeat(0))
	got, created, err := alice.SendMessage(ctx, room.ID, client.NewMessage{ClientMsgID: "c1", Text: "survives"})
	if err != nil || created || got.ID != id {
		t.Fatalf("retry: %+v created %t, %v", got, created, err)
	}
	for _, conn := range conns {
		for _, ev := range drain(t, conn) {
			if ev.Type == "MESSAGE_CREATED" {
				t.Fatalf("the retry of a published message published it again: %s", ev.Data)
			}
		}
	}
}
