package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/client"
)

// TestDeliveryReceipts: the Go client's Session acknowledges a burst of messages by itself,
// and the sender sees few DELIVERY_RECEIPT_UPDATED events, the last at the last message;
// messages' undeliveredCount and the room's members follow; a member without a WebSocket
// acknowledges over HTTP; the sender never sees a cursor go back.
func TestDeliveryReceipts(t *testing.T) {
	n := startNode(t, "", nil, "--rate-send", "0")
	ctx := context.Background()
	alice, _ := newUser(t, n, "alice")
	bob, bobA := newUser(t, n, "bob")
	carol, carolA := newUser(t, n, "carol")
	room, _, err := alice.CreateRoom(ctx, client.NewRoom{Type: "group", Name: "trio", MemberIDs: []string{bobA.User.ID, carolA.User.ID}})
	if err != nil {
		t.Fatal(err)
	}
	ac := connect(t, alice)
	sess, err := bob.NewSession(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()

	const burst = 30
	for i := range burst {
		m, _, err := alice.SendMessage(ctx, room.ID, client.NewMessage{Text: fmt.Sprint("m", i)})
		if err != nil {
			t.Fatal(err)
		}
		if m.UndeliveredCount != 2 {
			t.Fatalf("sent message's undeliveredCount = %d, want 2", m.UndeliveredCount)
		}
	}
	for got := 0; got < burst; {
		select {
		case ev := <-sess.Events():
			if ev.Type == chat.EventMessageCreated {
				got++
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("bob's session received %d of %d messages", got, burst)
		}
	}
	var fromBob []chat.DeliveryReceipt // match sees every event once, kept ones included
	expect(t, ac, chat.EventDeliveryReceiptUpdated, func(ev client.Event) bool {
		dr, err := ev.DeliveryReceipt()
		if err != nil || dr.RoomID != room.ID {
			t.Fatalf("receipt %+v, %v", dr, err)
		}
		if dr.UserID == bobA.User.ID {
			fromBob = append(fromBob, dr)
		}
		return dr.UserID == bobA.User.ID && dr.LastDeliveredSeq == burst
	})
	// The Session sends a DELIVERED per 100 ms and the server an event per member per
	// 250 ms: 30 messages over loopback take a few of those, not 30.
	if len(fromBob) > 10 {
		t.Errorf("%d receipts from bob for %d messages: %+v", len(fromBob), burst, fromBob)
	}
	t.Logf("%d messages: %d receipts from bob", burst, len(fromBob))
	for i := 1; i < len(fromBob); i++ {
		if fromBob[i].LastDeliveredSeq < fromBob[i-1].LastDeliveredSeq {
			t.Errorf("bob's delivery cursor went back: %+v", fromBob)
		}
	}
	msgs, _, err := alice.History(ctx, room.ID, chat.HistoryQuery{})
	if err != nil || len(msgs) != burst {
		t.Fatalf("history %d, %v", len(msgs), err)
	}
	for _, m := range msgs {
		if m.UndeliveredCount != 1 || m.UnreadCount != 2 { // carol has no device online
			t.Fatalf("message %d: undelivered %d unread %d, want 1 and 2", m.Seq, m.UndeliveredCount, m.UnreadCount)
		}
	}

	// Carol's push handler acknowledges over HTTP.
	dr, err := carol.Delivered(ctx, room.ID, 10)
	if err != nil || dr != (chat.DeliveryReceipt{RoomID: room.ID, UserID: carolA.User.ID, LastDeliveredSeq: 10}) {
		t.Fatalf("Delivered: %+v, %v", dr, err)
	}
	expect(t, ac, chat.EventDeliveryReceiptUpdated, func(ev client.Event) bool {
		dr, _ := ev.DeliveryReceipt()
		return dr.UserID == carolA.User.ID && dr.LastDeliveredSeq == 10
	})
	// Reading moves the delivery cursor too.
	if _, err := carol.MarkRead(ctx, room.ID, burst); err != nil {
		t.Fatal(err)
	}
	r, err := alice.Room(ctx, room.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range r.Members {
		if m.LastDeliveredSeq != burst {
			t.Errorf("member %s: lastDeliveredSeq %d, want %d", m.UserID, m.LastDeliveredSeq, burst)
		}
	}
	// A stranger's receipt is refused like any other room path.
	mallory, _ := newUser(t, n, "mallory")
	if _, err := mallory.Delivered(ctx, room.ID, 1); client.ErrorStatus(err) != 404 {
		t.Fatalf("stranger's Delivered: %v, want 404", err)
	}
}

// TestSessionAcknowledgesManyRoomsWithinTheFrameRate: a Session that receives messages of
// 60 rooms at once acknowledges every room, within the server's default frame rate (20 a
// second, bursts of 40): no rate_limited error, no close.
func TestSessionAcknowledgesManyRoomsWithinTheFrameRate(t *testing.T) {
	n := startNode(t, "", nil, "--rate-send", "0", "--rate-rooms", "0")
	ctx := context.Background()
	alice, _ := newUser(t, n, "alice")
	bob, bobA := newUser(t, n, "bob")
	const rooms = 60
	ids := map[string]bool{}
	for i := range rooms {
		r, _, err := alice.CreateRoom(ctx, client.NewRoom{Type: "group", Name: fmt.Sprint("g", i), MemberIDs: []string{bobA.User.ID}})
		if err != nil {
			t.Fatal(err)
		}
		ids[r.ID] = true
	}
	ac := connect(t, alice)
	sess, err := bob.NewSession(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	for id := range ids {
		if _, _, err := alice.SendMessage(ctx, id, client.NewMessage{Text: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	acked := map[string]bool{}
	deadline := time.After(30 * time.Second)
	for len(acked) < rooms {
		select {
		case ev, ok := <-sess.Events():
			if !ok {
				t.Fatalf("bob's session ended: %v", sess.Err())
			}
			if ev.Type == chat.EventError {
				pe, _ := ev.Error()
				t.Fatalf("bob's session got ERROR %v", pe)
			}
		case ev := <-ac.Events():
			if dr, err := ev.DeliveryReceipt(); err == nil && dr.UserID == bobA.User.ID && dr.LastDeliveredSeq == 1 && ids[dr.RoomID] {
				acked[dr.RoomID] = true
			}
		case <-deadline:
			t.Fatalf("%d of %d rooms acknowledged", len(acked), rooms)
		}
	}
}
