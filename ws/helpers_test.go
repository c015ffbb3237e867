package ws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/prometheus/client_golang/prometheus"
)

// readTimeout bounds every wait of a test for a frame: a safety net against hangs, not a
// measure of speed.
const readTimeout = 10 * time.Second

// testChat is this package's own Chat interface implemented over in-memory tables.
type testChat struct {
	mu         sync.Mutex
	members    map[string][]string       // user → rooms
	msgs       map[string][]chat.Message // room → messages, ascending
	afterLoad  func()                    // run once, after the next UserRoomSeqs has read its answer
	heartbeats []chat.Heartbeat
	closed     []string // session ids
	after      []string // rooms MessagesAfter was asked about
	resumed    []int    // how many rooms each Resume was asked about
	// beforeAfter, when set, runs at the start of MessagesAfter, outside the lock.
	beforeAfter func(roomID string)
	// publish stands in for the bus: Typing publishes through it.
	publish func(chat.Event)
}

func newTestChat() *testChat {
	return &testChat{members: map[string][]string{}, msgs: map[string][]chat.Message{}}
}

func (c *testChat) setRooms(userID string, rooms ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.members[userID] = rooms
}

func (c *testChat) addMessage(m chat.Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs[m.RoomID] = append(c.msgs[m.RoomID], m)
}

func (c *testChat) isMember(userID, roomID string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Contains(c.members[userID], roomID)
}

func (c *testChat) UserRoomSeqs(_ context.Context, userID string) (map[string]int64, error) {
	c.mu.Lock()
	out := map[string]int64{}
	for _, id := range c.members[userID] {
		out[id] = 0
		for _, m := range c.msgs[id] {
			out[id] = max(out[id], m.Seq)
		}
	}
	hook := c.afterLoad
	c.afterLoad = nil
	c.mu.Unlock()
	if hook != nil {
		hook() // something changes after the answer was read, before it arrives
	}
	return out, nil
}

func (c *testChat) Heartbeat(_ context.Context, hb chat.Heartbeat) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.heartbeats = append(c.heartbeats, hb)
	return nil
}

func (c *testChat) SessionClosed(_ context.Context, _, sessionID string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = append(c.closed, sessionID)
	return nil
}

func (c *testChat) closedCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.closed)
}

func (c *testChat) lastHeartbeat() chat.Heartbeat {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.heartbeats[len(c.heartbeats)-1]
}

func (c *testChat) member(userID, roomID string) error {
	if roomID == "" {
		return chat.Errorf(chat.Invalid, "bad_request", "roomId is required")
	}
	if !c.isMember(userID, roomID) {
		return chat.Errorf(chat.NotFound, "room_not_found", "no such room")
	}
	return nil
}

func (c *testChat) Focus(_ context.Context, userID, _, roomID string) error {
	return c.member(userID, roomID)
}

func (c *testChat) Unfocus(context.Context, string, string, string) error { return nil }

func (c *testChat) Typing(_ context.Context, userID, roomID string) error {
	if err := c.member(userID, roomID); err != nil {
		return err
	}
	data, _ := json.Marshal(chat.Typing{RoomID: roomID, UserID: userID})
	c.publish(chat.Event{Type: chat.EventTyping, RoomID: roomID, Data: data, Exclude: userID, At: time.Now().UnixMilli()})
	return nil
}

// MarkDelivered records the call and publishes the receipt at once (the service's
// coalescing has its own tests).
func (c *testChat) MarkDelivered(_ context.Context, userID, roomID string, seq int64) (chat.DeliveryReceipt, error) {
	if err := c.member(userID, roomID); err != nil {
		return chat.DeliveryReceipt{}, err
	}
	if seq < 0 {
		return chat.DeliveryReceipt{}, chat.Errorf(chat.Invalid, "bad_request", "seq is not negative")
	}
	dr := chat.DeliveryReceipt{RoomID: roomID, UserID: userID, LastDeliveredSeq: seq}
	data, _ := json.Marshal(dr)
	c.publish(chat.Event{Type: chat.EventDeliveryReceiptUpdated, RoomID: roomID, Data: data, At: time.Now().UnixMilli()})
	return dr, nil
}

func (c *testChat) Replay(ctx context.Context, userID string, req chat.ResumeRequest) (chat.Replay, error) {
	msgs, complete, err := c.resume(ctx, userID, req.Rooms)
	return chat.Replay{Created: msgs, Complete: complete}, err
}

func (c *testChat) resume(ctx context.Context, userID string, rooms map[string]int64) ([]chat.Message, bool, error) {
	c.mu.Lock()
	c.resumed = append(c.resumed, len(rooms))
	c.mu.Unlock()
	var out []chat.Message
	for id, seq := range rooms {
		if !c.isMember(userID, id) {
			continue
		}
		msgs, _ := c.MessagesAfter(ctx, id, seq)
		out = append(out, msgs...)
	}
	return out, true, nil
}

func (c *testChat) MessagesAfter(_ context.Context, roomID string, afterSeq int64) ([]chat.Message, error) {
	c.mu.Lock()
	hook := c.beforeAfter
	c.mu.Unlock()
	if hook != nil {
		hook(roomID)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.after = append(c.after, roomID)
	var out []chat.Message
	for _, m := range c.msgs[roomID] {
		if m.Seq > afterSeq {
			out = append(out, m)
		}
	}
	return out, nil
}

func (c *testChat) ChangesAfter(_ context.Context, roomID string, afterRev int64) ([]chat.Message, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []chat.Message
	for _, m := range c.msgs[roomID] {
		if m.Rev > afterRev {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b chat.Message) int { return int(a.Rev - b.Rev) })
	return out, nil
}

// testAuth accepts "tok-<userID>[@<sessionID>][#<expiry, unix ms>]": session "s-<userID>"
// and an hour's life unless the token says otherwise. Tokens of revoked sessions are refused.
type testAuth struct {
	mu      sync.Mutex
	revoked map[string]bool
}

func (a *testAuth) Authenticate(token string) (chat.Identity, error) {
	rest, ok := strings.CutPrefix(token, "tok-")
	if !ok || rest == "" {
		return chat.Identity{}, chat.Errorf(chat.Unauthorized, "unauthorized", "bad token")
	}
	exp := time.Now().Add(time.Hour)
	if r, ms, ok := strings.Cut(rest, "#"); ok {
		n, err := strconv.ParseInt(ms, 10, 64)
		if err != nil {
			return chat.Identity{}, chat.Errorf(chat.Unauthorized, "invalid_token", "bad expiry")
		}
		rest, exp = r, time.UnixMilli(n)
	}
	user, session, ok := strings.Cut(rest, "@")
	if !ok {
		session = "s-" + user
	}
	if a.Revoked(session) {
		return chat.Identity{}, chat.Errorf(chat.Unauthorized, "invalid_token", "the session has ended")
	}
	return chat.Identity{UserID: user, SessionID: session, ExpiresAt: exp}, nil
}

func (a *testAuth) Revoked(sessionID string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.revoked[sessionID]
}

// revoke ends a session, as far as Authenticate and Revoked know: no event is sent.
func (a *testAuth) revoke(sessionID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.revoked == nil {
		a.revoked = map[string]bool{}
	}
	a.revoked[sessionID] = true
}

// testEnv is a Server behind a real loopback HTTP server.
type testEnv struct {
	srv  *Server
	http *httptest.Server
	chat *testChat
	auth *testAuth
	reg  *prometheus.Registry
}

func newTestEnv(tb testing.TB, cfg Config) *testEnv {
	tb.Helper()
	c := newTestChat()
	reg := prometheus.NewRegistry()
	level := slog.LevelWarn
	if testing.Verbose() {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	a := &testAuth{}
	srv := New(cfg, c, a, logger, reg)
	c.publish = srv.HandleEvent
	hs := httptest.NewServer(srv)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			tb.Errorf("shutdown: %v", err)
		}
		hs.Close()
	})
	return &testEnv{srv: srv, http: hs, chat: c, auth: a, reg: reg}
}

func (e *testEnv) wsURL() string { return "ws" + strings.TrimPrefix(e.http.URL, "http") + "/ws" }

// metric returns the value of a counter or gauge of the server's registry (0 if absent).
func (e *testEnv) metric(tb testing.TB, name string) float64 {
	tb.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		tb.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		sum := 0.0
		for _, m := range mf.GetMetric() {
			switch {
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				sum += m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			}
		}
		return sum
	}
	return 0
}

// eventually polls cond until it holds, failing after readTimeout.
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(readTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// client is a WebSocket client of the tests, over the gobwas client side.
type client struct {
	tb   testing.TB
	conn net.Conn
	rw   io.ReadWriter
}

// dial connects as userID and waits until the session is registered (a heartbeat round
// trip: the server registers a session before it reads its first frame).
func (e *testEnv) dial(tb testing.TB, userID string) *client {
	tb.Helper()
	return e.dialToken(tb, "tok-"+userID)
}

// dialToken is dial with a token of testAuth's form.
func (e *testEnv) dialToken(tb testing.TB, token string) *client {
	tb.Helper()
	c := e.dialWith(tb, ws.Dialer{Header: ws.HandshakeHeaderHTTP(http.Header{"Authorization": {"Bearer " + token}})})
	c.send(chat.EventHeartBeat, struct{}{})
	c.expect(chat.EventHeartBeatAck)
	return c
}

func (e *testEnv) dialWith(tb testing.TB, d ws.Dialer) *client {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	conn, br, _, err := d.Dial(ctx, e.wsURL())
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	tb.Cleanup(func() { conn.Close() })
	var r io.Reader = conn
	if br != nil {
		r = io.MultiReader(br, conn)
	}
	return &client{tb: tb, conn: conn, rw: struct {
		io.Reader
		io.Writer
	}{r, conn}}
}

func (c *client) send(typ string, data any) {
	c.tb.Helper()
	b, err := json.Marshal(map[string]any{"type": typ, "data": data})
	if err != nil {
		c.tb.Fatalf("encode: %v", err)
	}
	c.sendRaw(b)
}

func (c *client) sendRaw(b []byte) {
	c.tb.Helper()
	if err := wsutil.WriteClientText(c.conn, b); err != nil {
		c.tb.Fatalf("write: %v", err)
	}
}

// read returns the next text frame's type and data, answering pings on the way.
func (c *client) read() (string, json.RawMessage, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(readTimeout))
	p, err := wsutil.ReadServerText(c.rw)
	if err != nil {
		return "", nil, err
	}
	var f clientFrame
	if err := json.Unmarshal(p, &f); err != nil {
		return "", nil, fmt.Errorf("frame %q: %w", p, err)
	}
	return f.Type, f.Data, nil
}

// expect reads the next frame and fails unless it is of type typ.
func (c *client) expect(typ string) json.RawMessage {
	c.tb.Helper()
	got, data, err := c.read()
	if err != nil {
		c.tb.Fatalf("waiting for %s: %v", typ, err)
	}
	if got != typ {
		c.tb.Fatalf("got %s %s, want %s", got, data, typ)
	}
	return data
}

// expectNothingQueued proves that no frame is queued for the client: a heartbeat's ACK
// comes back first, and the server queues each session's frames in order.
func (c *client) expectNothingQueued() {
	c.tb.Helper()
	c.send(chat.EventHeartBeat, struct{}{})
	c.expect(chat.EventHeartBeatAck)
}

// expectError reads an ERROR frame and fails unless its code is code.
func (c *client) expectError(code string) {
	c.tb.Helper()
	var e errorData
	if err := json.Unmarshal(c.expect(chat.EventError), &e); err != nil {
		c.tb.Fatalf("ERROR data: %v", err)
	}
	if e.Code != code {
		c.tb.Fatalf("ERROR code %q (%s), want %q", e.Code, e.Message, code)
	}
}

// expectClose reads until the server's close frame and fails unless it has code.
func (c *client) expectClose(code ws.StatusCode) {
	c.tb.Helper()
	for {
		typ, data, err := c.read()
		var closed wsutil.ClosedError
		switch {
		case errors.As(err, &closed):
			if closed.Code != code {
				c.tb.Fatalf("closed with %d %q, want %d", closed.Code, closed.Reason, code)
			}
			return
		case err != nil:
			c.tb.Fatalf("waiting for close %d: %v", code, err)
		default:
			c.tb.Logf("frame before close: %s %s", typ, data)
		}
	}
}

// messageEvent is a MESSAGE_CREATED bus event as the API publishes it.
func messageEvent(tb testing.TB, roomID string, seq int64, text string) chat.Event {
	tb.Helper()
	data, err := json.Marshal(chat.MessageCreated{Message: message(roomID, seq, text)})
	if err != nil {
		tb.Fatalf("encode: %v", err)
	}
	return chat.Event{Type: chat.EventMessageCreated, RoomID: roomID, Seq: seq, Data: data, At: time.Now().UnixMilli()}
}

func message(roomID string, seq int64, text string) chat.Message {
	return chat.Message{
		ID: fmt.Sprintf("%s-%d", roomID, seq), RoomID: roomID, Seq: seq, SenderID: "someone",
		Type: chat.MessageText, Text: text, CreatedAt: chat.At(time.Now()),
	}
}

// decodeMessage returns the message of MESSAGE_CREATED data.
func decodeMessage(tb testing.TB, data json.RawMessage) chat.Message {
	tb.Helper()
	var d chat.MessageCreated
	if err := json.Unmarshal(data, &d); err != nil {
		tb.Fatalf("MESSAGE_CREATED data %s: %v", data, err)
	}
	return d.Message
}
