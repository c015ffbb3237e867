package ws

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/memory"
	"github.com/chatchat/chatchat/sqlite"
)

// TestDeliveredFrame: DELIVERED reaches the service, whose event reaches the room's
// sessions; bad data and rooms the user is not in get ERROR and the session goes on.
func TestDeliveredFrame(t *testing.T) {
	e := newTestEnv(t, Config{})
	e.chat.setRooms("alice", "r1")
	e.chat.setRooms("bob", "r1")
	alice := e.dial(t, "alice")
	bob := e.dial(t, "bob")

	alice.send(chat.EventDelivered, map[string]any{"roomId": "r1", "seq": 3})
	var dr chat.DeliveryReceipt
	if err := json.Unmarshal(bob.expect(chat.EventDeliveryReceiptUpdated), &dr); err != nil ||
		dr != (chat.DeliveryReceipt{RoomID: "r1", UserID: "alice", LastDeliveredSeq: 3}) {
		t.Fatalf("DELIVERY_RECEIPT_UPDATED %+v, %v", dr, err)
	}
	alice.expect(chat.EventDeliveryReceiptUpdated) // the room's sessions, the sender's too

	for _, c := range []struct {
		name string
		data any
		code string
	}{
		{"no data", nil, "bad_request"},
		{"no seq", map[string]any{"roomId": "r1"}, "bad_request"},
		{"no room", map[string]any{"seq": 1}, "bad_request"},
		{"seq not a number", map[string]any{"roomId": "r1", "seq": "1"}, "bad_request"},
		{"negative seq", map[string]any{"roomId": "r1", "seq": -1}, "bad_request"},
		{"not a member", map[string]any{"roomId": "r2", "seq": 1}, "room_not_found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			alice.send(chat.EventDelivered, c.data)
			alice.expectError(c.code)
		})
	}
	alice.send(chat.EventHeartBeat, struct{}{})
	alice.expect(chat.EventHeartBeatAck)
	bob.expectNothingQueued()
}

// TestDeliveredBurstCoalesced: with the real service, a burst of 100 DELIVERED frames from
// one member gives the other member at most one DELIVERY_RECEIPT_UPDATED per coalescing
// window that the burst spanned (plus the flush when the service stops), and the last one
// carries the last cursor.
func TestDeliveredBurstCoalesced(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "chat.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	for _, id := range []string{"alice", "bob"} {
		if err := store.CreateUser(ctx, chat.User{ID: id, Username: id, DisplayName: id, CreatedAt: chat.At(time.Now())}, "x"); err != nil {
			t.Fatal(err)
		}
	}
	bus := memory.NewBus()
	t.Cleanup(func() { bus.Close() })
	const window = 250 * time.Millisecond
	svc := chat.NewService(chat.ServiceConfig{Logger: log, DeliveryReceiptWindow: window}, store, bus, memory.NewPresence(memory.PresenceConfig{}))
	bus.Subscribe(chat.TopicSessions, svc)
	runCtx, stopReceipts := context.WithCancel(ctx)
	var running sync.WaitGroup
	running.Go(func() { svc.RunDeliveryReceipts(runCtx) })
	t.Cleanup(func() { stopReceipts(); running.Wait() })

	room, _, err := svc.CreateRoom(ctx, "bob", chat.NewRoom{Type: chat.RoomGroup, Name: "g", MemberIDs: []string{"alice"}})
	if err != nil {
		t.Fatal(err)
	}
	const n = 100
	for i := range n {
		if _, _, err := svc.SendMessage(ctx, "bob", room.ID, chat.NewMessage{Text: fmt.Sprint("m", i)}); err != nil {
			t.Fatal(err)
		}
	}

	srv := New(Config{FrameRate: 10 * n, FrameBurst: 2 * n}, svc, &testAuth{}, log, prometheus.NewRegistry())
	bus.Subscribe(chat.TopicSessions, srv)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(ctx, readTimeout)
		defer cancel()
		_ = srv.Shutdown(sctx)
		hs.Close()
	})
	e := &testEnv{srv: srv, http: hs}
	dial := func(user string) *client { // the real service publishes presence: skip it
		c := e.dialWith(t, ws.Dialer{Header: ws.HandshakeHeaderHTTP(http.Header{"Authorization": {"Bearer tok-" + user}})})
		c.send(chat.EventHeartBeat, struct{}{})
		for {
			typ, _, err := c.read()
			if err != nil {
				t.Fatal(err)
			}
			if typ == chat.EventHeartBeatAck {
				return c
			}
		}
	}
	alice, bob := dial("alice"), dial("bob")

	start := time.Now()
	for seq := int64(1); seq <= n; seq++ {
		alice.send(chat.EventDelivered, map[string]any{"roomId": room.ID, "seq": seq})
	}
	alice.send(chat.EventHeartBeat, struct{}{})
	for {
		typ, data, err := alice.read()
		if err != nil {
			t.Fatal(err)
		}
		if typ == chat.EventError {
			t.Fatalf("ERROR %s", data)
		}
		if typ == chat.EventHeartBeatAck {
			break
		}
	}
	spanned := time.Since(start)
	// Stopping the flusher publishes what it holds; bob's heartbeat then comes after it.
	stopReceipts()
	running.Wait()
	bob.send(chat.EventHeartBeat, struct{}{})
	var got []chat.DeliveryReceipt
	for {
		typ, data, err := bob.read()
		if err != nil {
			t.Fatal(err)
		}
		if typ == chat.EventHeartBeatAck {
			break
		}
		if typ == chat.EventDeliveryReceiptUpdated {
			var dr chat.DeliveryReceipt
			if err := json.Unmarshal(data, &dr); err != nil {
				t.Fatal(err)
			}
			got = append(got, dr)
		}
	}
	limit := int(spanned/window) + 2 // each window the burst touched, and the stop flush
	if len(got) == 0 || len(got) > limit {
		t.Fatalf("%d events for %d frames over %v, want 1 to %d: %+v", len(got), n, spanned, limit, got)
	}
	if last := got[len(got)-1]; last != (chat.DeliveryReceipt{RoomID: room.ID, UserID: "alice", LastDeliveredSeq: n}) {
		t.Fatalf("last event %+v, want alice's cursor at %d", last, n)
	}
	t.Logf("%d frames over %v: %d events", n, spanned, len(got))
}
