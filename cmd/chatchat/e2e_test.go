package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/client"
	"github.com/chatchat/chatchat/sqlite"
)

func isMessage(seq int64) func(client.Event) bool {
	return func(ev client.Event) bool {
		m, err := ev.Message()
		return err == nil && m.Seq == seq
	}
}

func TestTwoUsersChatLive(t *testing.T) {
	n := startNode(t, "", nil)
	ctx := context.Background()
	alice, aliceAuth := newUser(t, n, "alice")
	bob, bobAuth := newUser(t, n, "bob")

	room, created, err := alice.CreateRoom(ctx, client.NewRoom{Type: "direct", MemberIDs: []string{bobAuth.User.ID}})
	if err != nil || !created {
		t.Fatalf("create room: %v %v", created, err)
	}
	again, created, err := bob.CreateRoom(ctx, client.NewRoom{Type: "direct", MemberIDs: []string{aliceAuth.User.ID}})
	if err != nil || created || again.ID != room.ID {
		t.Fatalf("the direct room is not de-duplicated: %v %v %v", again.ID, created, err)
	}
	ac, bc := connect(t, alice), connect(t, bob)

	m1, _, err := alice.SendMessage(ctx, room.ID, client.NewMessage{Text: "hi bob"})
	if err != nil {
		t.Fatal(err)
	}
	if m1.Seq != 1 || m1.UnreadCount != 1 {
		t.Fatalf("first message: seq %d unread %d, want 1 and 1", m1.Seq, m1.UnreadCount)
	}
	got, _ := expect(t, bc, "MESSAGE_CREATED", isMessage(1)).Message()
	if got.Text != "hi bob" || got.SenderID != m1.SenderID || got.ID != m1.ID {
		t.Fatalf("bob got %+v", got)
	}
	expect(t, ac, "MESSAGE_CREATED", isMessage(1)) // the sender's other devices see it too

	if _, _, err := bob.SendMessage(ctx, room.ID, client.NewMessage{Text: "hi alice"}); err != nil {
		t.Fatal(err)
	}
	got, _ = expect(t, ac, "MESSAGE_CREATED", isMessage(2)).Message()
	if got.Text != "hi alice" {
		t.Fatalf("alice got %+v", got)
	}

	rooms, err := alice.Rooms(ctx)
	if err != nil || len(rooms) != 1 {
		t.Fatalf("rooms: %v %v", rooms, err)
	}
	if rooms[0].UnreadCount == nil || *rooms[0].UnreadCount != 1 || rooms[0].LastMessage == nil || rooms[0].LastMessage.Seq != 2 {
		t.Fatalf("alice's room list: %+v", rooms[0])
	}
}

func TestFocusAndReadReceipts(t *testing.T) {
	n := startNode(t, "", nil)
	ctx := context.Background()
	alice, _ := newUser(t, n, "alice")
	bob, bobA := newUser(t, n, "bob")
	carol, carolA := newUser(t, n, "carol")
	room, _, err := alice.CreateRoom(ctx, client.NewRoom{Type: "group", Name: "trio", MemberIDs: []string{bobA.User.ID, carolA.User.ID}})
	if err != nil {
		t.Fatal(err)
	}
	ac, bc := connect(t, alice), connect(t, bob)

	// Bob views the room: a message created now is read by him at once.
	if err := bc.Focus(ctx, room.ID); err != nil {
		t.Fatal(err)
	}
	roundTrip(t, bc)
	m, _, err := alice.SendMessage(ctx, room.ID, client.NewMessage{Text: "seen by bob"})
	if err != nil {
		t.Fatal(err)
	}
	if m.UnreadCount != 1 {
		t.Fatalf("unread with bob viewing = %d, want 1 (carol)", m.UnreadCount)
	}
	// Bob leaves the room view: the next message is unread by both.
	if err := bc.Unfocus(ctx, room.ID); err != nil {
		t.Fatal(err)
	}
	roundTrip(t, bc)
	m2, _, err := alice.SendMessage(ctx, room.ID, client.NewMessage{Text: "unseen"})
	if err != nil {
		t.Fatal(err)
	}
	if m2.UnreadCount != 2 {
		t.Fatalf("unread after unfocus = %d, want 2", m2.UnreadCount)
	}

	// Carol reads up to 2: alice sees the receipt live, and the counts fall.
	rr, err := carol.MarkRead(ctx, room.ID, 2)
	if err != nil || rr.LastReadSeq != 2 {
		t.Fatalf("mark read: %+v %v", rr, err)
	}
	ev := expect(t, ac, "READ_RECEIPT_UPDATED", nil)
	got, _ := ev.ReadReceipt()
	if got.UserID != carolA.User.ID || got.LastReadSeq != 2 || got.RoomID != room.ID {
		t.Fatalf("receipt %+v", got)
	}
	msgs, _, err := alice.History(ctx, room.ID, chat.HistoryQuery{})
	if err != nil || len(msgs) != 2 {
		t.Fatalf("history %v %v", msgs, err)
	}
	if msgs[0].UnreadCount != 0 || msgs[1].UnreadCount != 1 {
		t.Fatalf("unread counts after carol read: %d %d, want 0 1", msgs[0].UnreadCount, msgs[1].UnreadCount)
	}
	// A cursor never moves back.
	if rr, err := carol.MarkRead(ctx, room.ID, 1); err != nil || rr.LastReadSeq != 2 {
		t.Fatalf("cursor moved back: %+v %v", rr, err)
	}
	// Past the end is capped at the last seq.
	if rr, err := bob.MarkRead(ctx, room.ID, 99); err != nil || rr.LastReadSeq != 2 {
		t.Fatalf("cursor past the end: %+v %v", rr, err)
	}
}

func TestIdempotentSend(t *testing.T) {
	n := startNode(t, "", nil)
	ctx := context.Background()
	alice, _ := newUser(t, n, "alice")
	_, bobA := newUser(t, n, "bob")
	room, _, _ := alice.CreateRoom(ctx, client.NewRoom{Type: "direct", MemberIDs: []string{bobA.User.ID}})
	first, created, err := alice.SendMessage(ctx, room.ID, client.NewMessage{ClientMsgID: "retry-1", Text: "once"})
	if err != nil || !created {
		t.Fatal(created, err)
	}
	second, created, err := alice.SendMessage(ctx, room.ID, client.NewMessage{ClientMsgID: "retry-1", Text: "once"})
	if err != nil || created || second.ID != first.ID || second.Seq != first.Seq {
		t.Fatalf("retry stored again: %+v created=%v err=%v", second, created, err)
	}
	msgs, _, _ := alice.History(ctx, room.ID, chat.HistoryQuery{})
	if len(msgs) != 1 {
		t.Fatalf("history has %d messages, want 1", len(msgs))
	}
}

func TestNonMemberLearnsNothing(t *testing.T) {
	n := startNode(t, "", nil)
	ctx := context.Background()
	alice, _ := newUser(t, n, "alice")
	_, bobA := newUser(t, n, "bob")
	mallory, _ := newUser(t, n, "mallory")
	room, _, _ := alice.CreateRoom(ctx, client.NewRoom{Type: "direct", MemberIDs: []string{bobA.User.ID}})
	mc := connect(t, mallory)

	checks := map[string]error{}
	_, checks["room"] = mallory.Room(ctx, room.ID)
	_, _, checks["send"] = mallory.SendMessage(ctx, room.ID, client.NewMessage{Text: "let me in"})
	_, _, checks["history"] = mallory.History(ctx, room.ID, chat.HistoryQuery{})
	_, checks["read"] = mallory.MarkRead(ctx, room.ID, 1)
	_, checks["add"] = mallory.AddMembers(ctx, room.ID, "x")
	checks["leave"] = mallory.LeaveRoom(ctx, room.ID)
	for what, err := range checks {
		if client.ErrorStatus(err) != http.StatusNotFound {
			t.Errorf("%s by a non-member: %v, want 404", what, err)
		}
	}
	if err := mc.Focus(ctx, room.ID); err != nil {
		t.Fatal(err)
	}
	errEv, _ := expect(t, mc, "ERROR", nil).Error()
	if errEv.Code != "room_not_found" {
		t.Fatalf("focus on a foreign room: %+v", errEv)
	}
	if err := mc.Typing(ctx, room.ID); err != nil {
		t.Fatal(err)
	}
	expect(t, mc, "ERROR", nil)
	if err := mc.Resume(ctx, map[string]int64{room.ID: 0}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := alice.SendMessage(ctx, room.ID, client.NewMessage{Text: "private"}); err != nil {
		t.Fatal(err)
	}
	for _, ev := range drain(t, mc) {
		if ev.Type == "MESSAGE_CREATED" || ev.Type == "TYPING" || ev.Type == "READ_RECEIPT_UPDATED" {
			t.Fatalf("a non-member received %s: %s", ev.Type, ev.Data)
		}
	}
}

func TestResumeReplaysExactlyWhatWasMissed(t *testing.T) {
	n := startNode(t, "", nil)
	ctx := context.Background()
	alice, _ := newUser(t, n, "alice")
	bob, bobA := newUser(t, n, "bob")
	room, _, _ := alice.CreateRoom(ctx, client.NewRoom{Type: "direct", MemberIDs: []string{bobA.User.ID}})
	bc := connect(t, bob)
	alice.SendMessage(ctx, room.ID, client.NewMessage{Text: "1"})
	expect(t, bc, "MESSAGE_CREATED", isMessage(1))
	bc.Close()

	for _, text := range []string{"2", "3", "4"} {
		if _, _, err := alice.SendMessage(ctx, room.ID, client.NewMessage{Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	bc2 := connect(t, bob)
	if err := bc2.Resume(ctx, map[string]int64{room.ID: 1}); err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	for _, ev := range drain(t, bc2) {
		if ev.Type == "MESSAGE_CREATED" {
			m, _ := ev.Message()
			seqs = append(seqs, m.Seq)
		}
	}
	if len(seqs) != 3 || seqs[0] != 2 || seqs[1] != 3 || seqs[2] != 4 {
		t.Fatalf("resume replayed seqs %v, want [2 3 4]", seqs)
	}
}

func TestTypingReachesOthersOnly(t *testing.T) {
	n := startNode(t, "", nil)
	ctx := context.Background()
	alice, _ := newUser(t, n, "alice")
	bob, bobA := newUser(t, n, "bob")
	room, _, _ := alice.CreateRoom(ctx, client.NewRoom{Type: "direct", MemberIDs: []string{bobA.User.ID}})
	ac, bc := connect(t, alice), connect(t, bob)
	if err := ac.Typing(ctx, room.ID); err != nil {
		t.Fatal(err)
	}
	ty, _ := expect(t, bc, "TYPING", nil).Typing()
	if ty.RoomID != room.ID || ty.UserID == bobA.User.ID {
		t.Fatalf("typing %+v", ty)
	}
	for _, ev := range drain(t, ac) {
		if ev.Type == "TYPING" {
			t.Fatal("the typist got their own TYPING")
		}
	}
}

func TestPresenceOnlineAndOffline(t *testing.T) {
	n := startNode(t, "", nil)
	ctx := context.Background()
	alice, _ := newUser(t, n, "alice")
	bob, bobA := newUser(t, n, "bob")
	alice.CreateRoom(ctx, client.NewRoom{Type: "direct", MemberIDs: []string{bobA.User.ID}})
	ac := connect(t, alice)

	ps, err := alice.Presence(ctx, bobA.User.ID)
	if err != nil || len(ps) != 1 || ps[0].Status != "offline" {
		t.Fatalf("before connecting: %+v %v", ps, err)
	}
	bc := connect(t, bob)
	p, _ := expect(t, ac, "PRESENCE_UPDATED", func(ev client.Event) bool {
		p, _ := ev.Presence()
		return p.UserID == bobA.User.ID && p.Status == "online"
	}).Presence()
	if p.LastActiveAt == nil {
		t.Fatal("online presence without lastActiveAt")
	}
	u, err := alice.User(ctx, bobA.User.ID)
	if err != nil || u.Presence == nil || u.Presence.Status != "online" {
		t.Fatalf("profile presence: %+v %v", u.Presence, err)
	}
	bc.Close()
	expect(t, ac, "PRESENCE_UPDATED", func(ev client.Event) bool {
		p, _ := ev.Presence()
		return p.UserID == bobA.User.ID && p.Status == "offline"
	})
	ps, _ = alice.Presence(ctx, bobA.User.ID)
	if ps[0].Status != "offline" || ps[0].LastActiveAt == nil {
		t.Fatalf("after disconnect: %+v", ps[0])
	}
}

func TestRoomUpdatesReachMembersLive(t *testing.T) {
	n := startNode(t, "", nil)
	ctx := context.Background()
	alice, _ := newUser(t, n, "alice")
	bob, bobA := newUser(t, n, "bob")
	carol, carolA := newUser(t, n, "carol")
	bc, cc := connect(t, bob), connect(t, carol)
	room, _, err := alice.CreateRoom(ctx, client.NewRoom{Type: "group", Name: "g", MemberIDs: []string{bobA.User.ID}})
	if err != nil {
		t.Fatal(err)
	}
	expect(t, bc, "ROOM_UPDATED", nil) // bob learns of the new room, and is routed its events
	alice.SendMessage(ctx, room.ID, client.NewMessage{Text: "before carol"})
	expect(t, bc, "MESSAGE_CREATED", isMessage(1))

	if _, err := alice.AddMembers(ctx, room.ID, carolA.User.ID); err != nil {
		t.Fatal(err)
	}
	expect(t, cc, "ROOM_UPDATED", nil)
	alice.SendMessage(ctx, room.ID, client.NewMessage{Text: "with carol"})
	expect(t, cc, "MESSAGE_CREATED", isMessage(2))

	if err := bob.LeaveRoom(ctx, room.ID); err != nil {
		t.Fatal(err)
	}
	expect(t, bc, "ROOM_UPDATED", nil)
	alice.SendMessage(ctx, room.ID, client.NewMessage{Text: "after bob left"})
	expect(t, cc, "MESSAGE_CREATED", isMessage(3))
	for _, ev := range drain(t, bc) {
		if m, err := ev.Message(); err == nil && m.Seq == 3 {
			t.Fatal("bob received a message after leaving")
		}
	}
	if _, err := bob.Room(ctx, room.ID); client.ErrorStatus(err) != http.StatusNotFound {
		t.Fatalf("bob after leaving: %v", err)
	}
}

func TestRestartKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, dir, nil)
	ctx := context.Background()
	alice, aliceA := newUser(t, n, "alice")
	_, bobA := newUser(t, n, "bob")
	room, _, _ := alice.CreateRoom(ctx, client.NewRoom{Type: "direct", MemberIDs: []string{bobA.User.ID}})
	alice.SendMessage(ctx, room.ID, client.NewMessage{Text: "persist me"})
	tokens := alice.Tokens()
	n.stop(t)

	n2 := startNode(t, dir, nil)
	again := client.New(n2.URL, client.WithTokens(tokens))
	me, err := again.Me(ctx) // the old access token still verifies: the key was kept
	if err != nil || me.ID != aliceA.User.ID {
		t.Fatalf("me after restart: %+v %v", me, err)
	}
	if _, err := again.Refresh(ctx); err != nil {
		t.Fatalf("refresh after restart: %v", err)
	}
	msgs, _, err := again.History(ctx, room.ID, chat.HistoryQuery{})
	if err != nil || len(msgs) != 1 || msgs[0].Text != "persist me" {
		t.Fatalf("history after restart: %v %v", msgs, err)
	}
	login := client.New(n2.URL)
	if _, err := login.Login(ctx, aliceA.User.Username, "correct horse battery"); err != nil {
		t.Fatalf("login after restart: %v", err)
	}
}

func TestShutdownClosesSocketsWithGoingAway(t *testing.T) {
	n := startNode(t, "", nil)
	alice, _ := newUser(t, n, "alice")
	ac := connect(t, alice)
	n.stop(t)
	select {
	case <-ac.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("socket still open after shutdown")
	}
	if code := client.CloseCode(ac.Err()); code != 1001 {
		t.Fatalf("close code %d (%v), want 1001", code, ac.Err())
	}
}

func TestBackupWhileServing(t *testing.T) {
	n := startNode(t, "", nil)
	ctx := context.Background()
	_, aliceA := newUser(t, n, "alice")
	out := filepath.Join(t.TempDir(), "backup.db")
	var stdout strings.Builder
	if err := run(ctx, []string{"backup", "--data-dir", n.DataDir, "--out", out}, nil, &stdout, testLogWriter{t}); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if u, err := st.User(ctx, aliceA.User.ID); err != nil || u.Username != aliceA.User.Username {
		t.Fatalf("user in backup: %+v %v", u, err)
	}
	if err := run(ctx, []string{"backup", "--data-dir", n.DataDir, "--out", out}, nil, &stdout, testLogWriter{t}); err == nil {
		t.Fatal("backup over an existing file succeeded")
	}
}

func TestHelpListsEverySetting(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), []string{"serve", "--help"}, nil, &out, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"-addr", "CHATCHAT_ADDR", "-data-dir", "-roles", "-redis-url", "-mongo-uri", "-jwt-secret", "CHATCHAT_JWT_SECRET"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("serve --help does not mention %s", want)
		}
	}
}

func TestBadConfigurationIsAnError(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		env  map[string]string
	}{
		"unknown role":      {args: []string{"serve", "--roles", "api,bogus"}},
		"bad env duration":  {args: []string{"serve"}, env: map[string]string{"CHATCHAT_SHUTDOWN_TIMEOUT": "soon"}},
		"redis without key": {args: []string{"serve", "--redis-url", "redis://127.0.0.1:1/0", "--data-dir", os.TempDir()}},
		"unknown command":   {args: []string{"frobnicate"}},
	} {
		t.Run(name, func(t *testing.T) {
			var out strings.Builder
			err := run(context.Background(), tc.args, tc.env, &out, &out)
			if err == nil {
				t.Fatal("no error")
			}
		})
	}
}

// rawJSON does one request with a raw body and returns status and decoded error code.
func rawJSON(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	json.NewDecoder(resp.Body).Decode(&e)
	return resp.StatusCode, e.Error.Code
}

func TestBadInputGetsClearErrors(t *testing.T) {
	n := startNode(t, "", nil, "--max-body-bytes", "4096", "--max-text", "100")
	alice, _ := newUser(t, n, "alice")
	_, bobA := newUser(t, n, "bob")
	room, _, _ := alice.CreateRoom(context.Background(), client.NewRoom{Type: "direct", MemberIDs: []string{bobA.User.ID}})
	tok := alice.Tokens().AccessToken
	api := n.URL + "/api/v1"
	msgs := api + "/rooms/" + room.ID + "/messages"
	cases := []struct {
		name, method, url, token, body string
		status                         int
		code                           string
	}{
		{"bad json", "POST", msgs, tok, `{"text":`, 400, "bad_json"},
		{"not an object", "POST", msgs, tok, `[1,2]`, 400, "bad_request"},
		{"unknown field", "POST", msgs, tok, `{"text":"x","senderId":"someone"}`, 400, "bad_request"},
		{"trailing data", "POST", msgs, tok, `{"text":"x"} {"text":"y"}`, 400, "bad_json"},
		{"empty body", "POST", msgs, tok, ``, 400, "bad_json"},
		{"empty text", "POST", msgs, tok, `{"text":"   "}`, 400, "empty_text"},
		{"text too long", "POST", msgs, tok, `{"text":"` + strings.Repeat("a", 101) + `"}`, 413, "text_too_long"},
		{"body too large", "POST", msgs, tok, `{"text":"` + strings.Repeat("a", 5000) + `"}`, 413, "body_too_large"},
		{"bad type", "POST", msgs, tok, `{"type":"video","text":"x"}`, 400, "bad_request"},
		{"wrong field type", "POST", msgs, tok, `{"text":5}`, 400, "bad_request"},
		{"no token", "GET", api + "/rooms", "", ``, 401, "unauthorized"},
		{"bad token", "GET", api + "/rooms", "not.a.jwt", ``, 401, "invalid_token"},
		{"unknown room", "GET", api + "/rooms/nope", tok, ``, 404, "room_not_found"},
		{"bad limit", "GET", msgs + "?limit=101", tok, ``, 400, "bad_request"},
		{"negative seq", "GET", msgs + "?afterSeq=-1", tok, ``, 400, "bad_request"},
		{"non-numeric seq", "GET", msgs + "?beforeSeq=abc", tok, ``, 400, "bad_request"},
		{"read without seq", "POST", api + "/rooms/" + room.ID + "/read", tok, `{}`, 400, "bad_request"},
		{"direct with two others", "POST", api + "/rooms", tok, `{"type":"direct","memberIds":["a","b"]}`, 400, "bad_request"},
		{"unknown member", "POST", api + "/rooms", tok, `{"type":"group","memberIds":["nobody"]}`, 400, "unknown_user"},
		{"short password", "POST", api + "/auth/signup", "", `{"username":"zed","password":"short","displayName":"Z"}`, 400, "invalid_password"},
		{"taken username", "POST", api + "/auth/signup", "", `{"username":"` + bobA.User.Username + `","password":"long enough pw","displayName":"B"}`, 409, "username_taken"},
		{"wrong password", "POST", api + "/auth/login", "", `{"username":"` + bobA.User.Username + `","password":"wrong wrong"}`, 401, "invalid_credentials"},
		{"bad refresh", "POST", api + "/auth/refresh", "", `{"refreshToken":"forged"}`, 401, "invalid_refresh_token"},
		{"ws without token", "GET", n.URL + "/ws", "", ``, 401, "unauthorized"},
		{"ws with bad token", "GET", n.URL + "/ws", "forged", ``, 401, "invalid_token"},
		{"unknown endpoint", "GET", api + "/nothing", tok, ``, 404, "not_found"},
		{"unknown user", "GET", api + "/users/nobody", tok, ``, 404, "user_not_found"},
		{"too many presence ids", "GET", api + "/presence?userIds=" + strings.Repeat("a,", 101), tok, ``, 400, "bad_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, code := rawJSON(t, tc.method, tc.url, tc.token, tc.body)
			if status != tc.status || code != tc.code {
				t.Fatalf("%s %s: got %d %q, want %d %q", tc.method, tc.url, status, code, tc.status, tc.code)
			}
		})
	}
}

func TestRateLimits(t *testing.T) {
	n := startNode(t, "", nil, "--rate-login", "3", "--rate-send", "1")
	ctx := context.Background()
	alice, aliceA := newUser(t, n, "alice")
	_, bobA := newUser(t, n, "bob")
	var limited *client.APIError
	for i := 0; i < 10; i++ {
		_, err := client.New(n.URL).Login(ctx, aliceA.User.Username, "wrong password!")
		if errors.As(err, &limited) && limited.Status == http.StatusTooManyRequests {
			break
		}
		limited = nil
	}
	if limited == nil || limited.RetryAfter <= 0 {
		t.Fatalf("login attempts were not limited with Retry-After: %+v", limited)
	}
	room, _, _ := alice.CreateRoom(ctx, client.NewRoom{Type: "direct", MemberIDs: []string{bobA.User.ID}})
	var sendLimited bool
	for i := 0; i < 10 && !sendLimited; i++ {
		_, _, err := alice.SendMessage(ctx, room.ID, client.NewMessage{Text: "spam"})
		sendLimited = client.ErrorStatus(err) == http.StatusTooManyRequests
	}
	if !sendLimited {
		t.Fatal("sends were not rate limited")
	}
}

func TestOperationalEndpoints(t *testing.T) {
	n := startNode(t, "", nil)
	// /metrics last: the request counter has series only once a request has been counted.
	for _, tc := range []struct{ path, want string }{
		{"/healthz", `"ok"`}, {"/readyz", `"ok"`}, {"/metrics", "chatchat_http_requests_total"},
	} {
		path, want := tc.path, tc.want
		resp, err := http.Get(n.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		_, _ = io.Copy(&b, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(b.String(), want) {
			t.Errorf("%s: %d %.200s", path, resp.StatusCode, b.String())
		}
	}
}
