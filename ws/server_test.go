package ws

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// handshake sends a WebSocket upgrade request with the given extra headers and query, and
// returns the response.
func handshake(t *testing.T, e *testEnv, query string, header http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.http.URL+"/ws"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestHandshakeRefusals(t *testing.T) {
	e := newTestEnv(t, Config{})
	tests := []struct {
		name   string
		query  string
		header http.Header
		status int
		code   string
	}{
		{name: "no token", status: http.StatusUnauthorized, code: "unauthorized"},
		{name: "bad bearer", header: http.Header{"Authorization": {"Bearer nope"}}, status: http.StatusUnauthorized, code: "unauthorized"},
		{name: "not bearer", header: http.Header{"Authorization": {"Basic tok-alice"}}, status: http.StatusUnauthorized, code: "unauthorized"},
		{name: "bad query token", query: "?access_token=nope", status: http.StatusUnauthorized, code: "unauthorized"},
		{
			name:   "foreign origin",
			header: http.Header{"Authorization": {"Bearer tok-alice"}, "Origin": {"https://evil.example"}},
			status: http.StatusForbidden, code: "forbidden",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := handshake(t, e, tt.query, tt.header)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if resp.Header.Get("Upgrade") != "" {
				t.Fatalf("refused handshake has Upgrade: %q", resp.Header.Get("Upgrade"))
			}
			var body struct {
				Error errorData `json:"error"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("body: %v", err)
			}
			if body.Error.Code != tt.code || body.Error.Message == "" {
				t.Fatalf("error %+v, want code %q and a message", body.Error, tt.code)
			}
		})
	}
	if n := e.metric(t, "chatchat_ws_connections"); n != 0 {
		t.Fatalf("connections gauge %v after refusals", n)
	}
}

func TestHandshakeAccepts(t *testing.T) {
	e := newTestEnv(t, Config{})
	host := strings.TrimPrefix(e.http.URL, "http://")
	tests := []struct {
		name   string
		query  string
		header http.Header
	}{
		{name: "bearer header", header: http.Header{"Authorization": {"Bearer tok-alice"}}},
		{name: "query token", query: "?access_token=" + url.QueryEscape("tok-alice")},
		{name: "same-host origin", query: "?access_token=tok-alice", header: http.Header{"Origin": {"http://" + host}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := handshake(t, e, tt.query, tt.header)
			if resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("status %d, want 101", resp.StatusCode)
			}
		})
	}
}

func TestAllowedOrigins(t *testing.T) {
	e := newTestEnv(t, Config{AllowedOrigins: []string{"https://chat.example"}})
	auth := []string{"Bearer tok-alice"}
	if resp := handshake(t, e, "", http.Header{"Authorization": auth, "Origin": {"https://chat.example"}}); resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("listed origin: status %d", resp.StatusCode)
	}
	host := strings.TrimPrefix(e.http.URL, "http://")
	if resp := handshake(t, e, "", http.Header{"Authorization": auth, "Origin": {"http://" + host}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("unlisted origin: status %d, want 403", resp.StatusCode)
	}
}

func TestConnectAndCloseReachPresence(t *testing.T) {
	e := newTestEnv(t, Config{})
	e.chat.setRooms("alice", "r1")
	c := e.dial(t, "alice")
	if got := e.metric(t, "chatchat_ws_connections"); got != 1 {
		t.Fatalf("connections gauge %v, want 1", got)
	}
	hb := e.chat.lastHeartbeat()
	if hb.UserID != "alice" || hb.SessionID == "" {
		t.Fatalf("heartbeat %+v", hb)
	}
	c.conn.Close()
	eventually(t, "SessionClosed", func() bool { return e.chat.closedCount() == 1 })
	eventually(t, "the gauge to drop", func() bool { return e.metric(t, "chatchat_ws_connections") == 0 })
}

func TestMessageReachesOnlyTheRoomsSessions(t *testing.T) {
	e := newTestEnv(t, Config{})
	e.chat.setRooms("alice", "r1")
	e.chat.setRooms("bob", "r1", "r2")
	e.chat.setRooms("carol", "r2")
	alice1 := e.dial(t, "alice")
	alice2 := e.dial(t, "alice") // a second device
	bob := e.dial(t, "bob")
	carol := e.dial(t, "carol")

	e.srv.HandleEvent(messageEvent(t, "r1", 1, "hello"))
	for _, c := range []*client{alice1, alice2, bob} {
		if m := decodeMessage(t, c.expect(chat.EventMessageCreated)); m.Seq != 1 || m.Text != "hello" {
			t.Fatalf("got %+v", m)
		}
	}
	carol.expectNothingQueued()

	receipt, _ := json.Marshal(chat.ReadReceipt{RoomID: "r2", UserID: "bob", LastReadSeq: 4})
	e.srv.HandleEvent(chat.Event{Type: chat.EventReadReceiptUpdated, RoomID: "r2", Data: receipt})
	bob.expect(chat.EventReadReceiptUpdated)
	carol.expect(chat.EventReadReceiptUpdated)
	alice1.expectNothingQueued()

	// Events for others (push) are not for clients; a type this server does not know (a
	// newer server's) is routed by its envelope like any other.
	e.srv.HandleEvent(chat.Event{Type: chat.EventFCMTokenMessage, RoomID: "r1", Data: []byte(`{}`)})
	alice1.expectNothingQueued()
	e.srv.HandleEvent(chat.Event{Type: "SOMETHING_NEW", RoomID: "r2", Data: []byte(`{}`)})
	bob.expect("SOMETHING_NEW")
	carol.expect("SOMETHING_NEW")
	alice1.expectNothingQueued()

	if got := e.metric(t, "chatchat_ws_events_delivered_total"); got != 7 {
		t.Fatalf("delivered %v, want 7", got)
	}
	eventually(t, "latency samples", func() bool { return e.metric(t, "chatchat_ws_delivery_latency_seconds") >= 3 })
}

func TestTypingExcludesTheAuthor(t *testing.T) {
	e := newTestEnv(t, Config{})
	e.chat.setRooms("alice", "r1")
	e.chat.setRooms("bob", "r1")
	alice := e.dial(t, "alice")
	bob := e.dial(t, "bob")

	alice.send(chat.EventTyping, map[string]string{"roomId": "r1"})
	var d chat.Typing
	if err := json.Unmarshal(bob.expect(chat.EventTyping), &d); err != nil || d.UserID != "alice" || d.RoomID != "r1" {
		t.Fatalf("TYPING data %+v, %v", d, err)
	}
	alice.expectNothingQueued()
}

func TestPresenceReachesEachSessionOnce(t *testing.T) {
	e := newTestEnv(t, Config{})
	e.chat.setRooms("alice", "r1", "r2", "r3")
	e.chat.setRooms("bob", "r2")
	alice := e.dial(t, "alice")
	bob := e.dial(t, "bob")

	data, _ := json.Marshal(chat.Presence{UserID: "dave", Status: chat.StatusOnline})
	e.srv.HandleEvent(chat.Event{Type: chat.EventPresenceUpdated, RoomIDs: []string{"r1", "r2", "r3", "r4"}, Data: data})
	alice.expect(chat.EventPresenceUpdated)
	alice.expectNothingQueued()
	bob.expect(chat.EventPresenceUpdated)
	bob.expectNothingQueued()
}

func TestRoomUpdatedChangesRoutingLive(t *testing.T) {
	e := newTestEnv(t, Config{})
	e.chat.setRooms("alice", "r1")
	e.chat.setRooms("bob", "r1")
	alice := e.dial(t, "alice")
	bob := e.dial(t, "bob")
	carol := e.dial(t, "carol") // in no room yet

	// carol is added, bob removed (and told, through UserIDs).
	room := chat.Room{ID: "r1", Type: chat.RoomGroup, MemberIDs: []string{"alice", "carol"}}
	data, _ := json.Marshal(chat.RoomUpdated{Room: room})
	e.srv.HandleEvent(chat.Event{Type: chat.EventRoomUpdated, RoomID: "r1", Data: data, UserIDs: []string{"bob"}})
	for _, c := range []*client{alice, bob, carol} {
		c.expect(chat.EventRoomUpdated)
	}

	e.srv.HandleEvent(messageEvent(t, "r1", 1, "after the change"))
	alice.expect(chat.EventMessageCreated)
	carol.expect(chat.EventMessageCreated)
	bob.expectNothingQueued()

	// A second device of carol's connecting later gets the room from the store as usual;
	// one already connected was joined live, so both receive.
	e.chat.setRooms("carol", "r1")
	carol2 := e.dial(t, "carol")
	e.srv.HandleEvent(messageEvent(t, "r1", 2, "two"))
	carol.expect(chat.EventMessageCreated)
	carol2.expect(chat.EventMessageCreated)
}

func TestBadClientFramesGetErrors(t *testing.T) {
	e := newTestEnv(t, Config{})
	e.chat.setRooms("alice", "r1")
	alice := e.dial(t, "alice")
	tests := []struct {
		name  string
		frame string
		code  string
	}{
		{name: "not JSON", frame: `{"type":`, code: "bad_request"},
		{name: "no type", frame: `{"data":{}}`, code: "bad_request"},
		{name: "JSON array", frame: `[1,2]`, code: "bad_request"},
		{name: "unknown type", frame: `{"type":"LAUNCH","data":{}}`, code: "unknown_type"},
		{name: "focus without roomId", frame: `{"type":"ROOM_FOCUSED","data":{}}`, code: "bad_request"},
		{name: "typing without data", frame: `{"type":"TYPING"}`, code: "bad_request"},
		{name: "focus on a foreign room", frame: `{"type":"ROOM_FOCUSED","data":{"roomId":"r9"}}`, code: "room_not_found"},
		{name: "typing in a foreign room", frame: `{"type":"TYPING","data":{"roomId":"r9"}}`, code: "room_not_found"},
		{name: "resume without rooms", frame: `{"type":"RESUME","data":{}}`, code: "bad_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			alice.sendRaw([]byte(tt.frame))
			alice.expectError(tt.code)
			alice.expectNothingQueued() // the connection survives
		})
	}
	if got := e.metric(t, "chatchat_ws_frames_received_total"); got < float64(len(tests)) {
		t.Fatalf("frames received %v, want at least %d", got, len(tests))
	}
}

func TestFocusIsSentWithHeartbeats(t *testing.T) {
	e := newTestEnv(t, Config{})
	e.chat.setRooms("alice", "r1", "r2")
	alice := e.dial(t, "alice")
	alice.send(chat.EventRoomFocused, map[string]string{"roomId": "r1"})
	alice.send(chat.EventRoomFocused, map[string]string{"roomId": "r2"})
	alice.send(chat.EventRoomUnfocused, map[string]string{"roomId": "r1"})
	alice.expectNothingQueued()
	if hb := e.chat.lastHeartbeat(); len(hb.Focused) != 1 || hb.Focused[0] != "r2" {
		t.Fatalf("heartbeat focused %v, want [r2]", hb.Focused)
	}
}

func TestResumeSendsMissedMessages(t *testing.T) {
	e := newTestEnv(t, Config{})
	e.chat.setRooms("alice", "r1")
	for seq := int64(1); seq <= 3; seq++ {
		e.chat.addMessage(message("r1", seq, "m"))
		e.chat.addMessage(message("r9", seq, "not hers"))
	}
	alice := e.dial(t, "alice")
	alice.send(chat.EventResume, map[string]any{"rooms": map[string]int64{"r1": 1, "r9": 0}})
	for want := int64(2); want <= 3; want++ {
		if m := decodeMessage(t, alice.expect(chat.EventMessageCreated)); m.RoomID != "r1" || m.Seq != want {
			t.Fatalf("got %s/%d, want r1/%d", m.RoomID, m.Seq, want)
		}
	}
	var ok chat.ResumeOK
	if err := json.Unmarshal(alice.expect(chat.EventResumeOK), &ok); err != nil || !ok.Complete ||
		len(ok.Rooms) != 1 || ok.Rooms["r1"] != 3 {
		t.Fatalf("RESUME_OK %+v, %v; want r1 at 3, complete (r9 is not hers: not named)", ok, err)
	}
	alice.expectNothingQueued()
	// A room she is not in was never looked up.
	e.chat.mu.Lock()
	asked := slices.Clone(e.chat.after)
	e.chat.mu.Unlock()
	if slices.Contains(asked, "r9") {
		t.Fatalf("the store was asked about a room she is not in: %v", asked)
	}
}

// TestResumeRefusesMoreRoomsThanTheUserHas: a RESUME naming far more rooms than the user
// is in is bad input, refused before any look-up; a huge one costs no store query per id.
func TestResumeRefusesMoreRoomsThanTheUserHas(t *testing.T) {
	e := newTestEnv(t, Config{MaxFrameBytes: 1 << 20})
	e.chat.setRooms("alice", "r1")
	alice := e.dial(t, "alice")
	rooms := map[string]int64{"r1": 0}
	for i := 0; i < resumeSlack+5; i++ {
		rooms[fmt.Sprint("made-up-", i)] = 0
	}
	alice.send(chat.EventResume, map[string]any{"rooms": rooms})
	alice.expectError("bad_request")
	e.chat.mu.Lock()
	defer e.chat.mu.Unlock()
	if len(e.chat.resumed) != 0 || len(e.chat.after) != 0 {
		t.Fatalf("the service was asked: resumes %v, rooms %v", e.chat.resumed, e.chat.after)
	}
}

// TestOneResumeInFlight: a client that sends RESUME after RESUME without reading gets
// resume_in_progress while a catch-up waits in its queue, instead of the server piling up
// one catch-up per RESUME (five such sockets once took the server from 63 MiB to 2 GiB):
// at most one is being written and one queued.
func TestOneResumeInFlight(t *testing.T) {
	e := newTestEnv(t, Config{})
	e.chat.setRooms("alice", "r1")
	for seq := int64(1); seq <= 2000; seq++ {
		e.chat.addMessage(message("r1", seq, strings.Repeat("x", 10000))) // 20 MB: more than socket buffers hold
	}
	alice := e.dial(t, "alice")
	for i := 0; i < 5; i++ {
		alice.send(chat.EventResume, map[string]any{"rooms": map[string]int64{"r1": 0}})
	}
	// The replies are read only now: one catch-up, then an ERROR per refused RESUME
	// (refusals may come first, as they are not held up behind the catch-up's bytes).
	created, refused, oks := 0, 0, 0
	for created < 2000*oks || oks < 1 || refused+oks < 5 {
		typ, data, err := alice.read()
		if err != nil {
			t.Fatalf("after %d messages, %d refusals, %d RESUME_OK: %v", created, refused, oks, err)
		}
		switch typ {
		case chat.EventMessageCreated:
			created++
		case chat.EventResumeOK:
			oks++
		case chat.EventError:
			if !strings.Contains(string(data), "resume_in_progress") {
				t.Fatalf("error %s", data)
			}
			refused++
		}
	}
	// One reply may be in the writer's hands and one queued behind it; the rest wait.
	if oks > 2 || refused != 5-oks || created != 2000*oks {
		t.Fatalf("%d catch-ups (%d messages), %d refused; want at most 2, the rest refused", oks, created, refused)
	}
}

func TestProtocolViolationsClose(t *testing.T) {
	tests := []struct {
		name string
		send func(c *client) error
		code ws.StatusCode
	}{
		{
			name: "binary frame",
			send: func(c *client) error { return wsutil.WriteClientBinary(c.conn, []byte(`{"type":"HEART_BEAT"}`)) },
			code: CloseUnsupportedData,
		},
		{
			name: "oversized frame",
			send: func(c *client) error { return wsutil.WriteClientText(c.conn, []byte(strings.Repeat("x", 2000))) },
			code: CloseTooBig,
		},
		{
			name: "oversized fragments",
			send: func(c *client) error {
				part := []byte(strings.Repeat("x", 600))
				if err := ws.WriteFrame(c.conn, ws.MaskFrame(ws.NewFrame(ws.OpText, false, part))); err != nil {
					return err
				}
				return ws.WriteFrame(c.conn, ws.MaskFrame(ws.NewFrame(ws.OpContinuation, true, part)))
			},
			code: CloseTooBig,
		},
		{
			name: "unmasked frame",
			send: func(c *client) error { return ws.WriteFrame(c.conn, ws.NewTextFrame([]byte(`{}`))) },
			code: CloseProtocolError,
		},
		{
			name: "invalid UTF-8",
			send: func(c *client) error { return wsutil.WriteClientText(c.conn, []byte{'"', 0xff, '"'}) },
			code: CloseInvalidPayload,
		},
		{
			name: "client close",
			send: func(c *client) error {
				return ws.WriteFrame(c.conn, ws.MaskFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(CloseNormal, "bye"))))
			},
			code: CloseNormal,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t, Config{MaxFrameBytes: 1024})
			c := e.dial(t, "alice")
			if err := tt.send(c); err != nil {
				t.Fatalf("send: %v", err)
			}
			c.expectClose(tt.code)
			eventually(t, "SessionClosed", func() bool { return e.chat.closedCount() == 1 })
		})
	}
}

func TestFragmentedMessageIsAssembled(t *testing.T) {
	e := newTestEnv(t, Config{})
	c := e.dial(t, "alice")
	frame := []byte(`{"type":"HEART_BEAT","data":{}}`)
	if err := ws.WriteFrame(c.conn, ws.MaskFrame(ws.NewFrame(ws.OpText, false, frame[:10]))); err != nil {
		t.Fatal(err)
	}
	if err := ws.WriteFrame(c.conn, ws.MaskFrame(ws.NewPingFrame([]byte("mid")))); err != nil {
		t.Fatal(err)
	}
	if err := ws.WriteFrame(c.conn, ws.MaskFrame(ws.NewFrame(ws.OpContinuation, true, frame[10:]))); err != nil {
		t.Fatal(err)
	}
	// The pong is answered inside read; then the ACK of the assembled heartbeat.
	c.expect(chat.EventHeartBeatAck)
}

func TestRateLimit(t *testing.T) {
	e := newTestEnv(t, Config{FrameRate: 0.001, FrameBurst: 3})
	c := e.dialWith(t, ws.Dialer{Header: ws.HandshakeHeaderHTTP(http.Header{"Authorization": {"Bearer tok-alice"}})})
	for range 10 {
		c.send(chat.EventHeartBeat, struct{}{})
	}
	acks, limited := 0, 0
	for {
		typ, data, err := c.read()
		var closed wsutil.ClosedError
		if errors.As(err, &closed) {
			if closed.Code != CloseRateLimited {
				t.Fatalf("closed with %d, want %d", closed.Code, CloseRateLimited)
			}
			break
		}
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		switch typ {
		case chat.EventHeartBeatAck:
			acks++
		case chat.EventError:
			var d errorData
			_ = json.Unmarshal(data, &d)
			if d.Code != "rate_limited" {
				t.Fatalf("ERROR %s", data)
			}
			limited++
		}
	}
	if acks != 3 || limited != maxStrikes {
		t.Fatalf("got %d ACKs and %d rate_limited errors, want 3 and %d", acks, limited, maxStrikes)
	}
}

func TestSlowConsumerIsDroppedOthersGetEverything(t *testing.T) {
	// Either limit drops the slow session: the frame count (with a byte limit far off) and
	// the bytes queued (with a frame count far off).
	t.Run("frames", func(t *testing.T) {
		testSlowConsumer(t, Config{SendQueue: 16, SendQueueBytes: 64 << 20, WriteTimeout: time.Second})
	})
	t.Run("bytes", func(t *testing.T) {
		testSlowConsumer(t, Config{SendQueue: 1 << 20, SendQueueBytes: 256 << 10, WriteTimeout: time.Second})
	})
}

func testSlowConsumer(t *testing.T, cfg Config) {
	e := newTestEnv(t, cfg)
	e.chat.setRooms("fast", "r1")
	e.chat.setRooms("slow", "r1")
	fast := e.dial(t, "fast")
	slow := e.dialWith(t, ws.Dialer{
		Header: ws.HandshakeHeaderHTTP(http.Header{"Authorization": {"Bearer tok-slow"}}),
		NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil {
				_ = conn.(*net.TCPConn).SetReadBuffer(64 << 10) // small, to fill up soon; not below a segment, or draining crawls
			}
			return conn, err
		},
	})
	slow.send(chat.EventHeartBeat, struct{}{}) // registered once this is answered
	slow.expect(chat.EventHeartBeatAck)

	// The slow client never reads: once the kernel's buffers are full its queue fills
	// and it is dropped, while the fast one keeps receiving every event.
	text := strings.Repeat("y", 16<<10)
	const most = 4000 // far more than loopback buffers hold
	dropped := -1
	for seq := int64(1); seq <= most; seq++ {
		e.srv.HandleEvent(messageEvent(t, "r1", seq, text))
		if m := decodeMessage(t, fast.expect(chat.EventMessageCreated)); m.Seq != seq {
			t.Fatalf("fast got seq %d, want %d", m.Seq, seq)
		}
		if dropped < 0 && e.metric(t, "chatchat_ws_send_queue_drops_total") == 1 {
			dropped = int(seq)
		}
		if dropped > 0 && seq >= int64(dropped+50) {
			break
		}
	}
	if dropped < 0 {
		t.Fatalf("slow consumer not dropped after %d events", most)
	}
	t.Logf("slow consumer dropped after %d events of 16 KiB", dropped)

	// The slow client's connection ends: whatever it still reads, then the end.
	_ = slow.conn.SetReadDeadline(time.Now().Add(readTimeout))
	if _, err := io.Copy(io.Discard, slow.conn); err != nil && !isConnEnd(err) {
		t.Fatalf("slow client: %v", err)
	}
	eventually(t, "the slow session to be cleaned up", func() bool { return e.chat.closedCount() == 1 })
	fast.expectNothingQueued()
}

// TestHandleGapResyncsChanges: changes whose MESSAGE_UPDATED the bus lost are re-sent
// after the gap, from the highest rev fanned out before it, as MESSAGE_UPDATED.
func TestHandleGapResyncsChanges(t *testing.T) {
	e := newTestEnv(t, Config{})
	e.chat.setRooms("alice", "r1")
	alice := e.dial(t, "alice")

	m1, m2 := message("r1", 1, "one"), message("r1", 2, "two")
	m1.Rev, m2.Rev = 1, 2
	e.chat.addMessage(m1)
	e.chat.addMessage(m2)
	for _, m := range []chat.Message{m1, m2} {
		ev := messageEvent(t, "r1", m.Seq, m.Text)
		ev.Rev = m.Rev
		e.srv.HandleEvent(ev)
		alice.expect(chat.EventMessageCreated)
	}
	// m1 is edited (rev 3) and its event lost; m2's edit (rev 4) too.
	e.chat.mu.Lock()
	e.chat.msgs["r1"][0].Text, e.chat.msgs["r1"][0].Rev = "one, edited", 3
	e.chat.msgs["r1"][1].Text, e.chat.msgs["r1"][1].Rev = "two, edited", 4
	e.chat.mu.Unlock()
	e.srv.HandleGap()
	for _, want := range []string{"one, edited", "two, edited"} {
		var d chat.MessageUpdated
		if err := json.Unmarshal(alice.expect(chat.EventMessageUpdated), &d); err != nil {
			t.Fatal(err)
		}
		if d.Message.Text != want {
			t.Fatalf("re-synced %q, want %q", d.Message.Text, want)
		}
	}
	// The next gap starts after rev 4: nothing more.
	e.srv.HandleGap()
	eventually(t, "the re-sync goroutine to end", func() bool {
		e.srv.mu.Lock()
		defer e.srv.mu.Unlock()
		return !e.srv.resync.running
	})
	alice.expectNothingQueued()
}

// isConnEnd reports whether err is how a dropped connection ends for its peer.
func isConnEnd(err error) bool {
	var ne net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) ||
		(errors.As(err, &ne) && !ne.Timeout()) || strings.Contains(err.Error(), "reset")
}

func TestHandleGapResyncs(t *testing.T) {
	e := newTestEnv(t, Config{})
	e.chat.setRooms("alice", "r1", "r2")
	alice := e.dial(t, "alice")

	e.chat.addMessage(message("r1", 1, "seen"))
	e.srv.HandleEvent(messageEvent(t, "r1", 1, "seen"))
	alice.expect(chat.EventMessageCreated)

	// Two messages whose events the bus lost.
	e.chat.addMessage(message("r1", 2, "lost"))
	e.chat.addMessage(message("r1", 3, "lost too"))
	e.chat.addMessage(message("r2", 1, "r2 has no known seq"))
	e.srv.HandleGap()
	for want := int64(2); want <= 3; want++ {
		if m := decodeMessage(t, alice.expect(chat.EventMessageCreated)); m.RoomID != "r1" || m.Seq != want {
			t.Fatalf("got %s/%d, want r1/%d", m.RoomID, m.Seq, want)
		}
	}
	// A second gap asks from the new high-water mark: nothing more.
	e.srv.HandleGap()
	eventually(t, "the second re-sync", func() bool {
		e.chat.mu.Lock()
		defer e.chat.mu.Unlock()
		return len(e.chat.after) == 2
	})
	eventually(t, "the re-sync goroutine to end", func() bool {
		e.srv.mu.Lock()
		defer e.srv.mu.Unlock()
		return !e.srv.resync.running
	})
	alice.expectNothingQueued()
	e.chat.mu.Lock()
	defer e.chat.mu.Unlock()
	for _, room := range e.chat.after {
		if room != "r1" {
			t.Fatalf("re-synced %s, whose seq this node never saw", room)
		}
	}
}

func TestShutdownClosesWithGoingAway(t *testing.T) {
	e := newTestEnv(t, Config{})
	e.chat.setRooms("alice", "r1")
	clients := []*client{e.dial(t, "alice"), e.dial(t, "alice"), e.dial(t, "bob")}

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
		defer cancel()
		done <- e.srv.Shutdown(ctx)
	}()
	for _, c := range clients {
		c.expectClose(CloseGoingAway)
	}
	if err := <-done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if n := e.chat.closedCount(); n != len(clients) {
		t.Fatalf("SessionClosed %d times, want %d", n, len(clients))
	}
	if got := e.metric(t, "chatchat_ws_connections"); got != 0 {
		t.Fatalf("connections gauge %v after shutdown", got)
	}
	resp := handshake(t, e, "?access_token=tok-alice", nil)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("handshake after shutdown: %d, want 503", resp.StatusCode)
	}
}

func TestShutdownGivesUpOnPeersThatDoNotAnswer(t *testing.T) {
	e := newTestEnv(t, Config{})
	c := e.dial(t, "alice")
	_ = c // never reads: the close handshake cannot complete before the deadline
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.srv.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("shutdown with a done context: %v", err)
	}
}

func TestSweeperPingsThenDropsSilentSessions(t *testing.T) {
	e := newTestEnv(t, Config{PingInterval: 50 * time.Millisecond, IdleTimeout: 300 * time.Millisecond, SweepInterval: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.srv.Run(ctx)

	c := e.dial(t, "alice")
	// Read raw frames, answering nothing: a ping comes, then the connection ends.
	_ = c.conn.SetReadDeadline(time.Now().Add(readTimeout))
	h, err := ws.ReadHeader(c.conn)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if h.OpCode != ws.OpPing {
		t.Fatalf("got opcode %v, want ping", h.OpCode)
	}
	if _, err := io.Copy(io.Discard, bufio.NewReader(c.conn)); err != nil && !isConnEnd(err) {
		t.Fatalf("after ping: %v", err)
	}
	eventually(t, "the dead session to be cleaned up", func() bool { return e.chat.closedCount() == 1 })
}

func TestCloseCodeTable(t *testing.T) {
	tests := []struct {
		err  error
		want ws.StatusCode
	}{
		{chat.Errorf(chat.Unauthorized, "unauthorized", "x"), CloseUnauthorized},
		{chat.Errorf(chat.Forbidden, "forbidden", "x"), CloseForbidden},
		{chat.Errorf(chat.RateLimited, "rate_limited", "x"), CloseRateLimited},
		{chat.Errorf(chat.Invalid, "bad_request", "x"), ClosePolicyViolation},
		{errors.New("boom"), CloseInternalError},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			if got := CloseCode(tt.err); got != tt.want {
				t.Fatalf("CloseCode = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestEventFrameEncoding(t *testing.T) {
	for _, n := range []int{0, 10, 125, 126, 200, 70000} {
		data := []byte(`"` + strings.Repeat("a", n) + `"`)
		b := eventFrame("X", data)
		f, err := ws.ReadFrame(strings.NewReader(string(b)))
		if err != nil {
			t.Fatalf("%d: %v", n, err)
		}
		if !f.Header.Fin || f.Header.OpCode != ws.OpText || f.Header.Masked {
			t.Fatalf("%d: header %+v", n, f.Header)
		}
		var got clientFrame
		if err := json.Unmarshal(f.Payload, &got); err != nil || got.Type != "X" || string(got.Data) != string(data) {
			t.Fatalf("%d: payload %q: %v", n, f.Payload, err)
		}
		if cap(b) != len(b) {
			t.Fatalf("%d: frame of %d bytes in a buffer of %d", n, len(b), cap(b))
		}
	}
}

// TestLongCatchUpIsNotASlowConsumer: a RESUME whose replay is larger than the send-queue
// byte limit is delivered whole, and the session stays.
func TestLongCatchUpIsNotASlowConsumer(t *testing.T) {
	e := newTestEnv(t, Config{SendQueueBytes: 4 << 10})
	e.chat.setRooms("alice", "r1")
	const n = 200 // ≈ 40 KiB of frames, ten times the limit
	for seq := int64(1); seq <= n; seq++ {
		e.chat.addMessage(message("r1", seq, strings.Repeat("x", 100)))
	}
	alice := e.dial(t, "alice")
	alice.send(chat.EventResume, map[string]any{"rooms": map[string]int64{"r1": 0}})
	for want := int64(1); want <= n; want++ {
		if m := decodeMessage(t, alice.expect(chat.EventMessageCreated)); m.Seq != want {
			t.Fatalf("got seq %d, want %d", m.Seq, want)
		}
	}
	alice.expect(chat.EventResumeOK)
	alice.send(chat.EventHeartBeat, map[string]any{})
	alice.expect(chat.EventHeartBeatAck)
}

// TestGapResyncsQuietRooms: a message lost on the bus in a room that had no traffic on
// this node since its session joined is still re-synced: the room's re-sync point is its
// last seq at join time, not "unknown".
func TestGapResyncsQuietRooms(t *testing.T) {
	e := newTestEnv(t, Config{})
	e.chat.setRooms("alice", "quiet")
	for seq := int64(1); seq <= 3; seq++ {
		e.chat.addMessage(message("quiet", seq, "old"))
	}
	alice := e.dial(t, "alice")
	e.chat.addMessage(message("quiet", 4, "lost on the bus")) // stored, never published
	e.srv.HandleGap()
	if m := decodeMessage(t, alice.expect(chat.EventMessageCreated)); m.Seq != 4 {
		t.Fatalf("re-synced seq %d, want 4 (and not the old ones)", m.Seq)
	}
	alice.expectNothingQueued()
}

// TestMembershipChangeWhileConnecting: a room the user joins while the new session's rooms
// are being loaded is not missed, and one they leave in that window is not kept.
func TestMembershipChangeWhileConnecting(t *testing.T) {
	e := newTestEnv(t, Config{})
	e.chat.setRooms("alice", "kept", "left")
	roomEvent := func(id string, members ...string) chat.Event {
		b, _ := json.Marshal(chat.RoomUpdated{Room: chat.Room{ID: id, MemberIDs: members}})
		return chat.Event{Type: chat.EventRoomUpdated, RoomID: id, Data: b}
	}
	e.chat.afterLoad = func() {
		e.chat.setRooms("alice", "kept", "joined")
		e.srv.HandleEvent(roomEvent("joined", "alice"))
		e.srv.HandleEvent(roomEvent("left", "bob"))
	}
	alice := e.dial(t, "alice")
	alice.send(chat.EventHeartBeat, map[string]any{})
	alice.expect(chat.EventHeartBeatAck)
	e.srv.HandleEvent(messageEvent(t, "left", 1, "not for alice any more"))
	e.srv.HandleEvent(messageEvent(t, "joined", 1, "for alice"))
	if m := decodeMessage(t, alice.expect(chat.EventMessageCreated)); m.RoomID != "joined" {
		t.Fatalf("got a message of %q, want only the joined room's", m.RoomID)
	}
	alice.expectNothingQueued()
}

// TestLeftRoomIsNoLongerViewed: after ROOM_UPDATED removes the user from a room they were
// viewing, their heartbeats stop naming it.
func TestLeftRoomIsNoLongerViewed(t *testing.T) {
	e := newTestEnv(t, Config{})
	e.chat.setRooms("alice", "r1", "r2")
	alice := e.dial(t, "alice")
	alice.send(chat.EventRoomFocused, map[string]string{"roomId": "r1"})
	alice.send(chat.EventRoomFocused, map[string]string{"roomId": "r2"})
	alice.send(chat.EventHeartBeat, map[string]any{})
	alice.expect(chat.EventHeartBeatAck)
	if got := e.chat.lastHeartbeat().Focused; len(got) != 2 {
		t.Fatalf("focused %v, want r1 and r2", got)
	}
	e.chat.setRooms("alice", "r2")
	b, _ := json.Marshal(chat.RoomUpdated{Room: chat.Room{ID: "r1", MemberIDs: []string{"bob"}}})
	e.srv.HandleEvent(chat.Event{Type: chat.EventRoomUpdated, RoomID: "r1", Data: b, UserIDs: []string{"alice"}})
	alice.expect(chat.EventRoomUpdated)
	alice.send(chat.EventHeartBeat, map[string]any{})
	alice.expect(chat.EventHeartBeatAck)
	if got := e.chat.lastHeartbeat().Focused; len(got) != 1 || got[0] != "r2" {
		t.Fatalf("focused after leaving r1: %v, want [r2]", got)
	}
}

// TestWriteTimeoutCountsAsASlowConsumer: a client that stops reading is dropped by the write
// timeout when its queue limits are far off, and that drop is counted like a full queue's
// (a loaded machine reaches either first; the metric and the log must say the same).
func TestWriteTimeoutCountsAsASlowConsumer(t *testing.T) {
	e := newTestEnv(t, Config{WriteTimeout: 200 * time.Millisecond, SendQueue: 1 << 20, SendQueueBytes: 1 << 30})
	e.chat.setRooms("slow", "r1")
	slow := e.dial(t, "slow")
	_ = slow // never reads
	big := strings.Repeat("x", 16<<10)
	for seq := int64(1); seq <= 2000 && e.metric(t, "chatchat_ws_send_queue_drops_total") == 0; seq++ {
		e.srv.HandleEvent(messageEvent(t, "r1", seq, big))
		if seq%100 == 0 {
			time.Sleep(50 * time.Millisecond) // let the writer block and its deadline pass
		}
	}
	eventually(t, "the write timeout counted as a drop", func() bool {
		return e.metric(t, "chatchat_ws_send_queue_drops_total") == 1
	})
}

// TestResyncSkipsWhatArrivedLive: after a bus gap, messages that reach the node live before
// the re-sync's fetch returns are not sent again by the re-sync: each client gets the lost
// ones once from the re-sync and the rest once, live. (A Pub/Sub kill once sent each client
// 75 messages twice.)
func TestResyncSkipsWhatArrivedLive(t *testing.T) {
	e := newTestEnv(t, Config{})
	e.chat.setRooms("alice", "r1")
	alice := e.dial(t, "alice")
	e.chat.addMessage(message("r1", 1, "seen"))
	e.srv.HandleEvent(messageEvent(t, "r1", 1, "seen"))
	alice.expect(chat.EventMessageCreated)

	for seq := int64(2); seq <= 6; seq++ { // 2-4 lost in the gap, 5-6 will come live
		e.chat.addMessage(message("r1", seq, "m"))
	}
	var once sync.Once
	e.chat.mu.Lock()
	e.chat.beforeAfter = func(string) {
		once.Do(func() {
			// The subscription is back and delivers before the re-sync's fetch returns.
			e.srv.HandleEvent(messageEvent(t, "r1", 5, "m"))
			e.srv.HandleEvent(messageEvent(t, "r1", 6, "m"))
		})
	}
	e.chat.mu.Unlock()
	e.srv.HandleGap()

	got := map[int64]int{}
	for len(got) < 5 {
		m := decodeMessage(t, alice.expect(chat.EventMessageCreated))
		got[m.Seq]++
	}
	alice.expectNothingQueued()
	for seq := int64(2); seq <= 6; seq++ {
		if got[seq] != 1 {
			t.Fatalf("seq %d arrived %d times (all: %v)", seq, got[seq], got)
		}
	}
}
