package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/client"
)

func message(roomID string, seq int64) chat.Message {
	return chat.Message{ID: fmt.Sprintf("%s-m%d", roomID, seq), RoomID: roomID, Seq: seq, SenderID: "u2",
		Type: chat.MessageText, Text: fmt.Sprint(seq), CreatedAt: t0}
}

// sendMessages sends MESSAGE_CREATED for each seq of the room.
func (p *peer) sendMessages(roomID string, seqs ...int64) {
	p.tb.Helper()
	for _, seq := range seqs {
		p.send(chat.EventMessageCreated, chat.MessageCreated{Message: message(roomID, seq)})
	}
}

// expectFrame reads frames until one of want's type (heartbeats may come first) and checks
// that it is want.
func (p *peer) expectFrame(want string) {
	p.tb.Helper()
	var w client.Event
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		p.tb.Errorf("want %s: %v", want, err)
		return
	}
	got, _ := json.Marshal(p.readType(w.Type))
	if string(got) != want {
		p.tb.Errorf("frame %s, want %s", got, want)
	}
}

// received collects the room and seq of the next n messages of the session, failing on
// any other event.
func received(tb testing.TB, s *client.Session, n int) []string {
	tb.Helper()
	var got []string
	for range n {
		ev := next(tb, s.Events())
		m, err := ev.Message()
		if err != nil {
			tb.Fatalf("event %s: %v", ev.Type, err)
		}
		got = append(got, fmt.Sprintf("%s:%d", m.RoomID, m.Seq))
	}
	return got
}

func roomsAnswer() map[string]any {
	return map[string]any{"rooms": []chat.Room{
		{ID: "r1", Type: chat.RoomGroup, MemberIDs: []string{"u1", "u2"}, LastSeq: 5, CreatedAt: t0},
		{ID: "r2", Type: chat.RoomDirect, MemberIDs: []string{"u1", "u2"}, LastSeq: 3, CreatedAt: t0},
	}}
}

// TestSessionEveryMessageOnce: a Session that is dropped reconnects, RESUMEs from what it
// delivered, focuses again, fills a gap from history, and drops the duplicates that all of
// this produces.
func TestSessionEveryMessageOnce(t *testing.T) {
	s := newServer(t)
	s.reply("GET /api/v1/rooms", 200, roomsAnswer())
	s.reply("GET /api/v1/rooms/{id}/messages", 200, map[string]any{
		"messages": []chat.Message{message("r1", 9), message("r1", 10)}, "hasMore": false,
	})
	focused := make(chan struct{})
	s.handleWS(t, "at1",
		func(p *peer) {
			p.expectFrame(`{"type":"RESUME","data":{"rooms":{"r1":5,"r2":3},"revs":{"r1":0,"r2":0}}}`)
			p.sendMessages("r1", 6, 7)
			p.sendMessages("r2", 4)
			p.expectFrame(`{"type":"ROOM_FOCUSED","data":{"roomId":"r1"}}`)
			close(focused)
			p.close(ws.StatusGoingAway, "shutting down")
			p.waitClosed()
		},
		func(p *peer) {
			p.expectFrame(`{"type":"RESUME","data":{"rooms":{"r1":7,"r2":4},"revs":{"r1":0,"r2":0}}}`)
			p.expectFrame(`{"type":"ROOM_FOCUSED","data":{"roomId":"r1"}}`)
			p.sendMessages("r1", 7, 8, 10, 10, 11)
			p.sendMessages("r2", 4, 5)
			p.waitClosed()
		},
	)
	c := newClient(t, s)
	ctx := testContext(t)
	sess, err := c.NewSession(ctx, client.WithBackoff(time.Millisecond, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	got := received(t, sess, 3)
	if err := sess.Focus(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	<-focused
	got = append(got, received(t, sess, 5)...)
	want := []string{"r1:6", "r1:7", "r2:4", "r1:8", "r1:9", "r1:10", "r1:11", "r2:5"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("messages %v, want %v", got, want)
	}
	if cur := sess.Cursors(); cur["r1"] != 11 || cur["r2"] != 5 {
		t.Errorf("cursors %v", cur)
	}
	if err := sess.Close(); err != nil {
		t.Fatal(err)
	}
	drained(t, sess.Events())
	if err := sess.Err(); err != nil {
		t.Errorf("Err after Close: %v", err)
	}
	var history []recorded
	for _, r := range s.requests() {
		if r.Path == "/api/v1/rooms/r1/messages" {
			history = append(history, r)
		}
	}
	if len(history) != 1 || history[0].Query != "afterSeq=8&limit=100" {
		t.Errorf("history requests %+v, want one after seq 8", history)
	}
	if n := s.count("GET", "/api/v1/rooms"); n != 2 {
		t.Errorf("%d room lists, want one per connection", n)
	}
}

// TestSessionUnfilledGap: when history cannot fill a gap, the message after it is delivered
// anyway, and the next RESUME asks for the hole again.
func TestSessionUnfilledGap(t *testing.T) {
	s := newServer(t)
	s.reply("GET /api/v1/rooms", 200, roomsAnswer())
	s.reply("GET /api/v1/rooms/{id}/messages", 503, apiError("unavailable", "storage down"))
	s.handleWS(t, "at1",
		func(p *peer) {
			p.expectFrame(`{"type":"RESUME","data":{"rooms":{"r1":5,"r2":3},"revs":{"r1":0,"r2":0}}}`)
			p.sendMessages("r1", 6, 8)
			p.close(ws.StatusGoingAway, "")
			p.waitClosed()
		},
		func(p *peer) {
			p.expectFrame(`{"type":"RESUME","data":{"rooms":{"r1":6,"r2":3},"revs":{"r1":0,"r2":0}}}`)
			p.sendMessages("r1", 7, 8, 9)
			p.waitClosed()
		},
	)
	sess, err := newClient(t, s).NewSession(testContext(t), client.WithBackoff(time.Millisecond, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	got := received(t, sess, 4)
	want := []string{"r1:6", "r1:8", "r1:7", "r1:9"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("messages %v, want %v", got, want)
	}
	if cur := sess.Cursors(); cur["r1"] != 9 {
		t.Errorf("cursors %v", cur)
	}
}

// TestSessionRefused: a session whose user the server no longer accepts ends, and says why.
func TestSessionRefused(t *testing.T) {
	s := newServer(t)
	s.reply("GET /api/v1/rooms", 200, roomsAnswer())
	s.reply("POST /api/v1/auth/refresh", 401, apiError("invalid_refresh_token", "revoked"))
	s.handleWS(t, "at1", func(p *peer) {
		p.expectFrame(`{"type":"RESUME","data":{"rooms":{"r1":5,"r2":3},"revs":{"r1":0,"r2":0}}}`)
		p.close(client.CloseUnauthorized, "token revoked")
		p.waitClosed()
	})
	sess, err := newClient(t, s).NewSession(testContext(t), client.WithBackoff(time.Millisecond, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	drained(t, sess.Events())
	if client.ErrorStatus(sess.Err()) != http.StatusUnauthorized {
		t.Errorf("Err %v, want the refused refresh", sess.Err())
	}
}

// A Session hands over every message once, across reconnects.
func ExampleClient_NewSession() {
	ctx := context.Background()
	c := client.New("http://127.0.0.1:8080")
	if _, err := c.Login(ctx, "ann", "secret"); err != nil {
		fmt.Println(err)
		return
	}
	sess, err := c.NewSession(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sess.Close()
	for ev := range sess.Events() {
		if m, err := ev.Message(); err == nil {
			fmt.Println(m.RoomID, m.Seq, m.Text)
		}
	}
	if err := sess.Err(); err != nil {
		fmt.Println("session ended:", err)
	}
}

// TestSessionAcknowledgesDelivery: a burst of messages handed over is acknowledged with
// DELIVERED per room, up to the last message delivered in order, in far fewer frames than
// messages; a message above a hole is not acknowledged past the hole.
func TestSessionAcknowledgesDelivery(t *testing.T) {
	type delivered struct {
		RoomID string `json:"roomId"`
		Seq    int64  `json:"seq"`
	}
	s := newServer(t)
	s.reply("GET /api/v1/rooms", 200, roomsAnswer())
	s.reply("GET /api/v1/rooms/{id}/messages", 503, apiError("unavailable", "storage down"))
	const n = 50
	acks := make(chan []delivered, 1)
	s.handleWS(t, "at1", func(p *peer) {
		p.expectFrame(`{"type":"RESUME","data":{"rooms":{"r1":5,"r2":3},"revs":{"r1":0,"r2":0}}}`)
		for seq := int64(6); seq < 6+n; seq++ {
			p.sendMessages("r1", seq)
		}
		p.sendMessages("r2", 4, 6) // 5 is lost and history is down: r2 is acknowledged up to 4
		var got []delivered
		last := map[string]int64{}
		for last["r1"] < 5+n || last["r2"] < 4 {
			ev := p.read()
			if ev.Type == "" {
				break // the read failed; the test reports what came
			}
			if ev.Type != chat.EventDelivered {
				continue
			}
			var d delivered
			if err := json.Unmarshal(ev.Data, &d); err != nil {
				t.Error(err)
			}
			got = append(got, d)
			last[d.RoomID] = max(last[d.RoomID], d.Seq)
		}
		acks <- got
		p.waitClosed()
	})
	sess, err := newClient(t, s).NewSession(testContext(t), client.WithBackoff(time.Millisecond, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	received(t, sess, n+2)
	got := <-acks
	// One frame per room per DeliveredDelay: 52 messages written back to back over
	// loopback span one or two delays, not the ten this allows.
	if len(got) > 10 {
		t.Errorf("%d DELIVERED frames for %d messages: %+v", len(got), n+2, got)
	}
	last := map[string]int64{}
	for _, d := range got {
		if d.Seq <= last[d.RoomID] {
			t.Errorf("DELIVERED repeated or went back: %+v", got)
		}
		last[d.RoomID] = d.Seq
	}
	if last["r1"] != 5+n || last["r2"] != 4 {
		t.Errorf("acknowledged %v, want r1 up to %d and r2 up to 4", last, 5+n)
	}
}

// TestSessionWithoutDelivered: WithoutDelivered sends no DELIVERED of its own, and
// Session.Delivered sends one when asked. The test waits past DeliveredDelay before its own
// frames, so that an acknowledgement the session should not send would come first.
func TestSessionWithoutDelivered(t *testing.T) {
	s := newServer(t)
	s.reply("GET /api/v1/rooms", 200, roomsAnswer())
	s.handleWS(t, "at1", func(p *peer) {
		p.expectFrame(`{"type":"RESUME","data":{"rooms":{"r1":5,"r2":3},"revs":{"r1":0,"r2":0}}}`)
		p.sendMessages("r1", 6, 7)
		for _, want := range []string{
			`{"type":"TYPING","data":{"roomId":"r1"}}`,
			`{"type":"DELIVERED","data":{"roomId":"r1","seq":6}}`,
		} {
			ev := p.read()
			for ev.Type == chat.EventHeartBeat {
				ev = p.read()
			}
			if got, _ := json.Marshal(ev); string(got) != want {
				t.Errorf("frame %s, want %s", got, want)
			}
		}
		p.waitClosed()
	})
	ctx := testContext(t)
	sess, err := newClient(t, s).NewSession(ctx, client.WithoutDelivered())
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	received(t, sess, 2)
	time.Sleep(3 * client.DeliveredDelay)
	if err := sess.Typing(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	if err := sess.Delivered(ctx, "r1", 6); err != nil {
		t.Fatal(err)
	}
}
