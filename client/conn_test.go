package client_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/client"
)

// next returns the next event of ch, failing the test when none comes.
func next(tb testing.TB, ch <-chan client.Event) client.Event {
	tb.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			tb.Fatal("events closed")
		}
		return ev
	case <-time.After(10 * time.Second):
		tb.Fatal("no event")
	}
	return client.Event{}
}

// drained waits until ch is closed, failing the test when it is not.
func drained(tb testing.TB, ch <-chan client.Event) {
	tb.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timeout:
			tb.Fatal("events not closed")
		}
	}
}

// TestConnFrames checks the frames each send writes, and the decoding of each event the
// server sends.
func TestConnFrames(t *testing.T) {
	s := newServer(t)
	got := make(chan client.Event, 16)
	rr := chat.ReadReceipt{RoomID: "r1", UserID: "u2", LastReadSeq: 1}
	pr := chat.Presence{UserID: "u2", Status: chat.StatusOnline, LastActiveAt: &t0}
	ty := chat.Typing{RoomID: "r1", UserID: "u2"}
	dr := chat.DeliveryReceipt{RoomID: "r1", UserID: "u2", LastDeliveredSeq: 3}
	s.handleWS(t, "at1", func(p *peer) {
		if h := p.r.Header.Get("Authorization"); h != "Bearer at1" {
			t.Errorf("Authorization %q", h)
		}
		for range 6 {
			got <- p.read()
		}
		p.send(chat.EventMessageCreated, chat.MessageCreated{Message: msg1})
		p.send(chat.EventReadReceiptUpdated, rr)
		p.send(chat.EventDeliveryReceiptUpdated, dr)
		p.send(chat.EventPresenceUpdated, pr)
		p.send(chat.EventTyping, ty)
		p.send(chat.EventRoomUpdated, chat.RoomUpdated{Room: room1})
		p.send(chat.EventError, map[string]string{"code": "not_member", "message": "not a member"})
		p.send(chat.EventHeartBeatAck, struct{}{})
		p.waitClosed()
	})
	ctx := testContext(t)
	conn, err := newClient(t, s).Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sends := []func() error{
		func() error { return conn.Heartbeat(ctx) },
		func() error { return conn.Focus(ctx, "r1") },
		func() error { return conn.Unfocus(ctx, "r1") },
		func() error { return conn.Typing(ctx, "r1") },
		func() error { return conn.Resume(ctx, map[string]int64{"r1": 4}) },
		func() error { return conn.Delivered(ctx, "r1", 3) },
	}
	for _, send := range sends {
		if err := send(); err != nil {
			t.Fatal(err)
		}
	}
	wantFrames := []string{
		`{"type":"HEART_BEAT","data":{}}`,
		`{"type":"ROOM_FOCUSED","data":{"roomId":"r1"}}`,
		`{"type":"ROOM_UNFOCUSED","data":{"roomId":"r1"}}`,
		`{"type":"TYPING","data":{"roomId":"r1"}}`,
		`{"type":"RESUME","data":{"rooms":{"r1":4}}}`,
		`{"type":"DELIVERED","data":{"roomId":"r1","seq":3}}`,
	}
	for _, want := range wantFrames {
		if g := mustJSON(t, <-got); g != want {
			t.Errorf("frame %s, want %s", g, want)
		}
	}

	evs := conn.Events()
	check := func(name string, v any, err error, want any) {
		t.Helper()
		if err != nil {
			t.Errorf("%s: %v", name, err)
			return
		}
		if g, w := mustJSON(t, v), mustJSON(t, want); g != w {
			t.Errorf("%s: got %s, want %s", name, g, w)
		}
	}
	m, err := next(t, evs).Message()
	check("Message", m, err, msg1)
	r, err := next(t, evs).ReadReceipt()
	check("ReadReceipt", r, err, rr)
	d, err := next(t, evs).DeliveryReceipt()
	check("DeliveryReceipt", d, err, dr)
	p, err := next(t, evs).Presence()
	check("Presence", p, err, pr)
	ty2, err := next(t, evs).Typing()
	check("Typing", ty2, err, ty)
	room, err := next(t, evs).Room()
	check("Room", room, err, room1)
	pe, err := next(t, evs).Error()
	check("Error", pe, err, client.ProtocolError{Code: "not_member", Message: "not a member"})
	ack := next(t, evs)
	if ack.Type != chat.EventHeartBeatAck {
		t.Errorf("event %s, want HEART_BEAT_ACK", ack.Type)
	}
	if _, err := ack.Message(); err == nil {
		t.Error("Message() of a HEART_BEAT_ACK: no error")
	}
}

func TestConnAutomaticHeartbeat(t *testing.T) {
	s := newServer(t)
	beats := make(chan struct{}, 1)
	s.handleWS(t, "at1", func(p *peer) {
		p.readType(chat.EventHeartBeat)
		p.readType(chat.EventHeartBeat)
		beats <- struct{}{}
		p.waitClosed()
	})
	conn, err := newClient(t, s, client.WithHeartbeat(10*time.Millisecond)).Connect(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	select {
	case <-beats:
	case <-time.After(10 * time.Second):
		t.Fatal("no heartbeats")
	}
}

func TestConnRefusedBeforeUpgrade(t *testing.T) {
	t.Run("refreshes an expired token", func(t *testing.T) {
		s := newServer(t)
		s.reply("POST /api/v1/auth/refresh", 200, client.Tokens{AccessToken: "at2", RefreshToken: "rt2"})
		s.handleWS(t, "at2", func(p *peer) { p.waitClosed() })
		conn, err := newClient(t, s).Connect(testContext(t))
		if err != nil {
			t.Fatal(err)
		}
		conn.Close()
		if n := s.count("GET", "/ws"); n != 2 {
			t.Errorf("%d dials, want 2", n)
		}
	})
	t.Run("other refusals are an APIError", func(t *testing.T) {
		s := newServer(t)
		s.reply("GET /ws", 403, apiError("origin_not_allowed", "bad origin"))
		_, err := newClient(t, s).Connect(testContext(t))
		if client.ErrorStatus(err) != 403 || client.ErrorCode(err) != "origin_not_allowed" {
			t.Errorf("err %v", err)
		}
	})
}

func TestConnServerClose(t *testing.T) {
	s := newServer(t)
	s.handleWS(t, "at1", func(p *peer) {
		p.send(chat.EventError, map[string]string{"code": "slow_consumer", "message": "too slow"})
		p.close(client.CloseSlowConsumer, "slow consumer")
		p.waitClosed()
	})
	conn, err := newClient(t, s).Connect(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if ev := next(t, conn.Events()); ev.Type != chat.EventError {
		t.Errorf("event %s", ev.Type)
	}
	drained(t, conn.Events())
	var ce *client.CloseError
	if !errors.As(conn.Err(), &ce) || ce.Code != client.CloseSlowConsumer || ce.Reason != "slow consumer" {
		t.Errorf("Err %v, want close 4008", conn.Err())
	}
	if err := conn.Typing(context.Background(), "r1"); !errors.Is(err, client.ErrClosed) {
		t.Errorf("send after close: %v", err)
	}
}

func TestConnClose(t *testing.T) {
	s := newServer(t)
	closed := make(chan error, 1)
	s.handleWS(t, "at1", func(p *peer) {
		p.send(chat.EventHeartBeatAck, struct{}{})
		// After heartbeats, the next frame must be a normal close.
		_ = p.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		var f ws.Frame
		for {
			var err error
			if f, err = ws.ReadFrame(p.nc); err != nil {
				closed <- err
				return
			}
			f = ws.UnmaskFrameInPlace(f)
			if f.Header.OpCode != ws.OpText || !strings.Contains(string(f.Payload), chat.EventHeartBeat) {
				break
			}
		}
		code, _ := ws.ParseCloseFrameData(f.Payload)
		if f.Header.OpCode != ws.OpClose || code != ws.StatusNormalClosure {
			closed <- fmt.Errorf("frame %v code %d, want close 1000", f.Header.OpCode, code)
			return
		}
		closed <- nil
	})
	// Heartbeats on, so that Close must stop the heartbeat goroutine too.
	conn, err := newClient(t, s, client.WithHeartbeat(time.Hour)).Connect(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	next(t, conn.Events())
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-closed; err != nil {
		t.Errorf("server side: %v", err)
	}
	drained(t, conn.Events())
	if !errors.Is(conn.Err(), client.ErrClosed) {
		t.Errorf("Err %v, want ErrClosed", conn.Err())
	}
	if err := conn.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
