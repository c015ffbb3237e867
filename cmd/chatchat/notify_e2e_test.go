package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/client"
	"github.com/chatchat/chatchat/fcm/fcmtest"
	"github.com/chatchat/chatchat/internal/testenv"
)

// waitNotifications polls c's push history until it holds n entries, and returns them.
func waitNotifications(t *testing.T, c *client.Client, n int) []client.Notification {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ns, _, err := c.Notifications(context.Background(), "", 100)
		if err != nil {
			t.Fatalf("GET /notifications: %v", err)
		}
		if len(ns) >= n {
			return ns
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d notifications after 20 s, want %d: %+v", len(ns), n, ns)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitOffline polls presence until the user is offline (the server handles a close
// asynchronously).
func waitOffline(t *testing.T, c *client.Client, userID string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ps, err := c.Presence(context.Background(), userID)
		if err != nil {
			t.Fatal(err)
		}
		if ps[0].Status == chat.StatusOffline {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still online", userID)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func send(t *testing.T, c *client.Client, roomID, text string) chat.Message {
	t.Helper()
	m, _, err := c.SendMessage(context.Background(), roomID, client.NewMessage{Text: text})
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	return m
}

// TestPushesLoggedWithoutFCM is the single-node default: no FCM settings, so pushes to an
// offline member are logged and listed by GET /notifications, and a member with a live
// session gets none.
func TestPushesLoggedWithoutFCM(t *testing.T) {
	n := startNode(t, "", nil, "--notify-concurrency", "1")
	ctx := context.Background()
	ann, _ := newUser(t, n, "ann")
	bob, bobAuth := newUser(t, n, "bob")
	if created, err := bob.RegisterDevice(ctx, client.PlatformAndroid, "bob-phone-token"); err != nil || !created {
		t.Fatalf("RegisterDevice = %v, %v; want created", created, err)
	}
	if created, err := bob.RegisterDevice(ctx, client.PlatformAndroid, "bob-phone-token"); err != nil || created {
		t.Fatalf("RegisterDevice again = %v, %v; want 200, not created", created, err)
	}
	room, _, err := ann.CreateRoom(ctx, client.NewRoom{Type: chat.RoomDirect, MemberIDs: []string{bobAuth.User.ID}})
	if err != nil {
		t.Fatal(err)
	}

	m1 := send(t, ann, room.ID, "are you there?")
	ns := waitNotifications(t, bob, 1)
	want := client.Notification{ID: ns[0].ID, MessageID: m1.ID, RoomID: room.ID, Seq: 1, Platform: client.PlatformAndroid,
		Status: client.NotificationLogged, Title: "Ann", Body: "Ann: are you there?", CreatedAt: ns[0].CreatedAt}
	if ns[0] != want {
		t.Errorf("notification = %+v, want %+v", ns[0], want)
	}

	// Online: no push. The worker handles one job at a time, in order, so once cat has the
	// push of a message sent after the one to bob, bob's was decided while he was online.
	cat, catAuth := newUser(t, n, "cat")
	if _, err := cat.RegisterDevice(ctx, client.PlatformWeb, "cat-browser-token"); err != nil {
		t.Fatal(err)
	}
	catRoom, _, err := ann.CreateRoom(ctx, client.NewRoom{Type: chat.RoomDirect, MemberIDs: []string{catAuth.User.ID}})
	if err != nil {
		t.Fatal(err)
	}
	conn := connect(t, bob)
	m2 := send(t, ann, room.ID, "now you are")
	send(t, ann, catRoom.ID, "marker")
	waitNotifications(t, cat, 1)
	conn.Close()
	waitOffline(t, ann, bobAuth.User.ID)
	m3 := send(t, ann, room.ID, "gone again")
	ns = waitNotifications(t, bob, 2)
	if len(ns) != 2 || ns[0].MessageID != m3.ID || ns[1].MessageID != m1.ID {
		t.Errorf("history = %+v, want the pushes of %s and %s, newest first, and none of %s", ns, m3.ID, m1.ID, m2.ID)
	}
	if hs, _, err := ann.Notifications(ctx, "", 0); err != nil || len(hs) != 0 {
		t.Errorf("the sender's history = %+v, %v; want empty", hs, err)
	}
	page, more, err := bob.Notifications(ctx, ns[0].ID, 1)
	if err != nil || len(page) != 1 || page[0].ID != ns[1].ID || more {
		t.Errorf("page before %s = %+v, more %v, %v; want the older entry alone", ns[0].ID, page, more, err)
	}
	metrics, err := ann.Metrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(metrics, `chatchat_push_sent_total{status="logged"} 3`) {
		t.Errorf("metrics lack the 3 logged pushes")
	}
}

// TestPushesThroughFCM points the notify role at a local FCM v1 server: the push's request
// is FCM's, the history says sent, and a token FCM reports unregistered is deleted.
func TestPushesThroughFCM(t *testing.T) {
	srv := fcmtest.NewServer(t)
	n := startNode(t, "", nil, "--fcm-endpoint", srv.Endpoint, "--fcm-project-id", "chatchat-e2e")
	ctx := context.Background()
	ann, _ := newUser(t, n, "ann")
	bob, bobAuth := newUser(t, n, "bob")
	if _, err := bob.RegisterDevice(ctx, client.PlatformIOS, "bob-ios-token"); err != nil {
		t.Fatal(err)
	}
	room, _, err := ann.CreateRoom(ctx, client.NewRoom{Type: chat.RoomGroup, Name: "Hikers", MemberIDs: []string{bobAuth.User.ID}})
	if err != nil {
		t.Fatal(err)
	}
	m := send(t, ann, room.ID, "summit at noon")
	req := srv.WaitRequests(t, 1)[0]
	if req.Project != "chatchat-e2e" || req.Token != "bob-ios-token" {
		t.Errorf("request to project %q for %q", req.Project, req.Token)
	}
	var body struct {
		Message struct {
			Notification struct{ Title, Body string }
			Data         map[string]string
			APNS         struct {
				Payload struct {
					Aps struct {
						Badge    int
						ThreadID string `json:"thread-id"`
					}
				}
			} `json:"apns"`
		}
	}
	if err := json.Unmarshal(req.Body, &body); err != nil {
		t.Fatal(err)
	}
	msg := body.Message
	if msg.Notification.Title != "Hikers" || msg.Notification.Body != "Ann: summit at noon" ||
		msg.Data["roomId"] != room.ID || msg.Data["messageId"] != m.ID || msg.Data["seq"] != "1" ||
		msg.APNS.Payload.Aps.Badge != 1 || msg.APNS.Payload.Aps.ThreadID != room.ID {
		t.Errorf("push = %s", req.Body)
	}
	if ns := waitNotifications(t, bob, 1); ns[0].Status != client.NotificationSent {
		t.Errorf("history = %+v, want sent", ns)
	}

	srv.SetReply(func(fcmtest.Request) fcmtest.Reply { return fcmtest.Reply{Status: 404, Code: "UNREGISTERED"} })
	send(t, ann, room.ID, "hello?")
	ns := waitNotifications(t, bob, 2)
	if ns[0].Status != client.NotificationFailed || ns[0].Error != chat.PushUnregistered {
		t.Errorf("history = %+v, want the newest failed as unregistered", ns[0])
	}
	if err := bob.DeleteDevice(ctx, "bob-ios-token"); client.ErrorStatus(err) != http.StatusNotFound {
		t.Errorf("DELETE of the unregistered token: %v, want 404: it was deleted already", err)
	}
}

// TestDeviceEndpoints covers registration, moving, deleting and the errors.
func TestDeviceEndpoints(t *testing.T) {
	n := startNode(t, "", nil)
	ctx := context.Background()
	bob, bobAuth := newUser(t, n, "bob")
	cat, _ := newUser(t, n, "cat")
	url := n.URL + "/api/v1"
	for _, tc := range []struct {
		body, code string
		status     int
	}{
		{`{"platform":"android","token":"a b"}`, "bad_request", 400},
		{`{"platform":"blackberry","token":"t"}`, "bad_request", 400},
		{`{"platform":"web"}`, "bad_request", 400},
		{`{"platform":"web","token":"t","extra":1}`, "bad_request", 400},
		{`{"platform":"web","token":"` + strings.Repeat("x", 2000) + `"}`, "bad_request", 400},
		{`not json`, "bad_json", 400}, // as on every route since the API has one decoder
	} {
		if status, code := rawJSON(t, "POST", url+"/devices", bobAuth.AccessToken, tc.body); status != tc.status || code != tc.code {
			t.Errorf("POST /devices %.40s = %d %s, want %d %s", tc.body, status, code, tc.status, tc.code)
		}
	}
	if status, _ := rawJSON(t, "POST", url+"/devices", "", `{"platform":"web","token":"t"}`); status != 401 {
		t.Errorf("POST /devices without a token = %d, want 401", status)
	}
	if status, code := rawJSON(t, "GET", url+"/notifications?limit=500", bobAuth.AccessToken, ""); status != 400 {
		t.Errorf("GET /notifications?limit=500 = %d %s, want 400", status, code)
	}

	const tok = "fcm:abc/def_ghi-jkl"
	if created, err := bob.RegisterDevice(ctx, client.PlatformWeb, tok); err != nil || !created {
		t.Fatalf("bob registers = %v, %v", created, err)
	}
	if created, err := cat.RegisterDevice(ctx, client.PlatformWeb, tok); err != nil || !created {
		t.Fatalf("cat registers bob's token = %v, %v; want 201: it moves to her", created, err)
	}
	if err := bob.DeleteDevice(ctx, tok); client.ErrorStatus(err) != http.StatusNotFound {
		t.Errorf("bob deletes the moved token: %v, want 404", err)
	}
	if err := cat.DeleteDevice(ctx, tok); err != nil {
		t.Errorf("cat deletes her token: %v", err)
	}
	if err := cat.DeleteDevice(ctx, tok); client.ErrorStatus(err) != http.StatusNotFound {
		t.Errorf("delete twice: %v, want 404", err)
	}
}

// TestClusterPushesWaitForNotifyProcess runs the roles as separate processes over Redis
// and MongoDB: pushes queued while no notification process runs wait in the stream, and a
// member online on a chat node is not pushed.
func TestClusterPushesWaitForNotifyProcess(t *testing.T) {
	r := testenv.Redis(t)
	dataDir := t.TempDir()
	args := append([]string{"--redis-url", r.URL(), "--redis-prefix", r.Prefix(t), "--jwt-secret", testSecret,
		"--rate-send", "0", "--rate-login", "0", "--rate-signup", "0"}, clusterStoreArgs(t)...)
	apiNode := startNode(t, dataDir, nil, append(args, "--roles", "api")...)
	wsNode := startNode(t, dataDir, nil, append(args, "--roles", "ws")...)
	ctx := context.Background()

	ann, _ := newUser(t, apiNode, "ann")
	bob, bobAuth := newUser(t, apiNode, "bob")
	cat, catAuth := newUser(t, apiNode, "cat")
	for c, tok := range map[*client.Client]string{bob: "bob-token", cat: "cat-token"} {
		if _, err := c.RegisterDevice(ctx, client.PlatformAndroid, tok); err != nil {
			t.Fatal(err)
		}
	}
	bobRoom, _, err := ann.CreateRoom(ctx, client.NewRoom{Type: chat.RoomDirect, MemberIDs: []string{bobAuth.User.ID}})
	if err != nil {
		t.Fatal(err)
	}
	catRoom, _, err := ann.CreateRoom(ctx, client.NewRoom{Type: chat.RoomDirect, MemberIDs: []string{catAuth.User.ID}})
	if err != nil {
		t.Fatal(err)
	}
	connect(t, wsClient(wsNode, bob)) // bob is online, on the chat node
	send(t, ann, bobRoom.ID, "you are online")
	m := send(t, ann, catRoom.ID, "you are not")

	// One job at a time, in order: once cat's push is listed, bob's job was decided.
	startNode(t, dataDir, nil, append(args, "--roles", "notify", "--notify-concurrency", "1")...)
	if ns := waitNotifications(t, cat, 1); ns[0].MessageID != m.ID || ns[0].Status != client.NotificationLogged {
		t.Errorf("cat's history = %+v, want the logged push of %s", ns, m.ID)
	}
	if ns, _, err := bob.Notifications(ctx, "", 0); err != nil || len(ns) != 0 {
		t.Errorf("bob's history = %+v, %v; want none: he was online on a chat node", ns, err)
	}
}
