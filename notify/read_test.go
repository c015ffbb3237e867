package notify_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/fcm/fcmtest"
	"github.com/chatchat/chatchat/memory"
	"github.com/chatchat/chatchat/notify"
)

// TestReadClearsOtherDevices: a read cursor moved through the service reaches every device
// of the reader, online or not, as a data-only push with the room, the cursor and the new
// badge, through the real FCM client; nobody else is pushed, no history entry is written,
// and a read that does not move the cursor pushes nothing.
func TestReadClearsOtherDevices(t *testing.T) {
	e := newEnv(t)
	ann, bob := e.user(t, "Ann"), e.user(t, "Bob")
	e.device(t, ann, chat.PlatformAndroid, "ann-phone")
	e.device(t, bob, chat.PlatformAndroid, "bob-phone")
	e.device(t, bob, chat.PlatformIOS, "bob-tablet")
	e.device(t, bob, chat.PlatformWeb, "bob-browser")
	r := e.room(t, chat.RoomGroup, "Team", ann, bob)
	other := e.room(t, chat.RoomGroup, "Other", ann, bob)
	for i := range 3 {
		e.send(t, ann, r.ID, fmt.Sprint("m", i))
	}
	e.send(t, ann, other.ID, "elsewhere") // bob's badge counts his other rooms too

	srv := fcmtest.NewServer(t)
	e.online(t, e.presence, bob) // reading on the web: his phone gets the push all the same
	e.run(t, e.queue.(*memory.Queue).Consumer("w1"), sender(t, srv), notify.Config{Registerer: e.reg})
	e.drained(t)
	before := len(srv.Requests())
	if _, err := e.svc.MarkRead(context.Background(), bob.ID, r.ID, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.MarkRead(context.Background(), bob.ID, r.ID, 1); err != nil { // no move: no push
		t.Fatal(err)
	}
	e.drained(t)
	reqs := srv.Requests()[before:]
	byToken := map[string]fcmtest.Request{}
	for _, req := range reqs {
		byToken[req.Token] = req
	}
	if len(reqs) != 3 || len(byToken) != 3 {
		t.Fatalf("%d pushes to %v, want one to each of bob's three devices", len(reqs), keys(byToken))
	}
	// Badge: one unread in the room, one in the other.
	data := fmt.Sprintf(`{"type":"read","roomId":%q,"lastReadSeq":"2","badge":"2"}`, r.ID)
	sameJSON(t, "android", byToken["bob-phone"].Body, fmt.Sprintf(`{"message":{"token":"bob-phone","data":%s,
		"android":{"collapse_key":%q,"priority":"normal"}}}`, data, r.ID))
	sameJSON(t, "ios", byToken["bob-tablet"].Body, fmt.Sprintf(`{"message":{"token":"bob-tablet","data":%s,
		"apns":{"headers":{"apns-collapse-id":%q,"apns-priority":"5","apns-push-type":"background"},
			"payload":{"aps":{"content-available":1}}}}}`, data, r.ID))
	sameJSON(t, "web", byToken["bob-browser"].Body, fmt.Sprintf(`{"message":{"token":"bob-browser","data":%s,
		"webpush":{"headers":{"Topic":%q}}}}`, data, r.ID))
	for _, n := range e.history(t, bob) {
		if n.MessageID == "" {
			t.Errorf("a read push was recorded in the history: %+v", n)
		}
	}
	if got := metric(t, e.reg, "chatchat_push_read_total", "status", "sent"); got != 3 {
		t.Errorf("read pushes sent = %v, want 3", got)
	}
}

// TestReadPushUnregisteredTokenDeleted: a device the provider no longer knows is dropped.
func TestReadPushUnregisteredTokenDeleted(t *testing.T) {
	e := newEnv(t)
	ann, bob := e.user(t, "Ann"), e.user(t, "Bob")
	e.device(t, bob, chat.PlatformAndroid, "bob-old-phone")
	r := e.room(t, chat.RoomGroup, "Team", ann, bob)
	e.send(t, ann, r.ID, "hi")
	e.online(t, e.presence, bob)
	srv := fcmtest.NewServer(t)
	srv.SetReply(func(fcmtest.Request) fcmtest.Reply { return fcmtest.Reply{Status: 404, Code: "UNREGISTERED"} })
	e.run(t, e.queue.(*memory.Queue).Consumer("w1"), sender(t, srv), notify.Config{Registerer: e.reg})
	if _, err := e.svc.MarkRead(context.Background(), bob.ID, r.ID, 1); err != nil {
		t.Fatal(err)
	}
	e.drained(t)
	ds, err := e.store.Devices(context.Background(), []string{bob.ID})
	if err != nil || len(ds) != 0 {
		t.Fatalf("bob's devices %+v, %v; want the unregistered one gone", ds, err)
	}
	if got := metric(t, e.reg, "chatchat_push_read_total", "status", "failed"); got != 1 {
		t.Errorf("failed read pushes = %v, want 1", got)
	}
}
