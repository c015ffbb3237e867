package chat_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/memory"
)

func receipts(t *testing.T, evs []chat.Event) []chat.DeliveryReceipt {
	t.Helper()
	out := make([]chat.DeliveryReceipt, 0, len(evs))
	for _, ev := range evs {
		var dr chat.DeliveryReceipt
		if err := json.Unmarshal(ev.Data, &dr); err != nil {
			t.Fatal(err)
		}
		if ev.RoomID != dr.RoomID {
			t.Errorf("envelope roomId %q, data %+v", ev.RoomID, dr)
		}
		out = append(out, dr)
	}
	return out
}

// TestMarkDelivered: the rules of a receipt without a flusher running (published at once).
func TestMarkDelivered(t *testing.T) {
	f := newFixture(t, 3)
	ctx := context.Background()
	a, b, stranger := f.users[0], f.users[1], f.users[2]
	r, _, _ := f.svc.CreateRoom(ctx, a, chat.NewRoom{Type: "group", MemberIDs: []string{b}})
	for _, text := range []string{"one", "two", "three"} {
		if _, _, err := f.svc.SendMessage(ctx, a, r.ID, chat.NewMessage{Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := f.svc.MarkDelivered(ctx, stranger, r.ID, 1)
	wantCode(t, err, "room_not_found")
	_, err = f.svc.MarkDelivered(ctx, b, chat.NewID(), 1)
	wantCode(t, err, "room_not_found")
	_, err = f.svc.MarkDelivered(ctx, b, r.ID, -1)
	wantCode(t, err, "bad_request")
	_, err = f.svc.MarkDelivered(ctx, b, "", 1)
	wantCode(t, err, "bad_request")

	for _, c := range []struct {
		seq, want int64
		event     bool
	}{{2, 2, true}, {1, 2, false}, {2, 2, false}, {99, 3, true}} {
		before := len(f.eventsOf(chat.EventDeliveryReceiptUpdated))
		dr, err := f.svc.MarkDelivered(ctx, b, r.ID, c.seq)
		if err != nil || dr != (chat.DeliveryReceipt{RoomID: r.ID, UserID: b, LastDeliveredSeq: c.want}) {
			t.Fatalf("MarkDelivered(%d) = %+v, %v; want cursor %d", c.seq, dr, err, c.want)
		}
		evs := f.eventsOf(chat.EventDeliveryReceiptUpdated)[before:]
		if c.event != (len(evs) == 1) || len(evs) > 1 {
			t.Fatalf("MarkDelivered(%d): %d events, want one: %v", c.seq, len(evs), c.event)
		}
		if c.event && receipts(t, evs)[0] != dr {
			t.Fatalf("event %+v, want %+v", receipts(t, evs)[0], dr)
		}
	}
	room, err := f.svc.Room(ctx, a, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range room.Members {
		if m.UserID == b && (m.LastDeliveredSeq != 3 || m.LastReadSeq != 0) {
			t.Fatalf("b's membership %+v, want delivered 3, read 0", m)
		}
	}
}

// TestDeliveryReceiptsCoalesced: while the flusher runs, a burst of receipts from two members
// gives one event each per window, with the latest cursor; stopping the flusher publishes
// what is pending.
func TestDeliveryReceiptsCoalesced(t *testing.T) {
	f := newFixture(t, 4)
	ctx := context.Background()
	a, b, c, d := f.users[0], f.users[1], f.users[2], f.users[3]
	// A window longer than the test: only the stop flush publishes.
	svc := f.withConfig(chat.ServiceConfig{DeliveryReceiptWindow: time.Hour}, nil)
	r, _, _ := svc.CreateRoom(ctx, a, chat.NewRoom{Type: "group", MemberIDs: []string{b, c, d}})
	const n = 100
	for i := range n {
		if _, _, err := svc.SendMessage(ctx, a, r.ID, chat.NewMessage{Text: "m" + string(rune('a'+i%26))}); err != nil {
			t.Fatal(err)
		}
	}
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { svc.RunDeliveryReceipts(runCtx) })
	probe := waitRunning(t, svc, f, r.ID, d, a)
	before := len(f.eventsOf(chat.EventDeliveryReceiptUpdated))
	var senders sync.WaitGroup
	for _, u := range []string{b, c} {
		senders.Go(func() {
			for seq := int64(1); seq <= n; seq++ {
				if _, err := svc.MarkDelivered(ctx, u, r.ID, seq); err != nil {
					t.Error(err)
				}
			}
		})
	}
	senders.Wait()
	if got := len(f.eventsOf(chat.EventDeliveryReceiptUpdated)) - before; got != 0 {
		t.Fatalf("%d events published within the window, want 0 until the flush", got)
	}
	stop()
	wg.Wait()
	got := receipts(t, f.eventsOf(chat.EventDeliveryReceiptUpdated)[before:])
	want := map[string]int64{a: probe, b: n, c: n}
	if len(got) != 3 {
		t.Fatalf("stop flushed %+v, want one event for each of a (the probe), b and c", got)
	}
	for _, dr := range got {
		if dr.RoomID != r.ID || want[dr.UserID] != dr.LastDeliveredSeq {
			t.Errorf("flushed %+v, want the last cursor %d", dr, want[dr.UserID])
		}
		delete(want, dr.UserID)
	}
	// Stopped: a receipt is published by its caller, none is held.
	before = len(f.eventsOf(chat.EventDeliveryReceiptUpdated))
	dr, err := svc.MarkDelivered(ctx, b, r.ID, probe)
	if err != nil {
		t.Fatal(err)
	}
	if got := receipts(t, f.eventsOf(chat.EventDeliveryReceiptUpdated)[before:]); len(got) != 1 || got[0] != dr {
		t.Fatalf("after stop: events %+v, want %+v at once", got, dr)
	}
}

// waitRunning waits until svc's flusher holds receipts rather than publishing them: a
// probe receipt (to's cursor moved to a message of from's) is not published at once. It
// returns the probe's seq, which the flusher holds.
func waitRunning(t *testing.T, svc *chat.Service, f *fixture, roomID, from, to string) int64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, _, err := svc.SendMessage(context.Background(), from, roomID, chat.NewMessage{Text: "probe"})
		if err != nil {
			t.Fatal(err)
		}
		before := len(f.eventsOf(chat.EventDeliveryReceiptUpdated))
		if _, err := svc.MarkDelivered(context.Background(), to, roomID, m.Seq); err != nil {
			t.Fatal(err)
		}
		if len(f.eventsOf(chat.EventDeliveryReceiptUpdated)) == before {
			return m.Seq // held by the flusher
		}
		if time.Now().After(deadline) {
			t.Fatal("the flusher did not start")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestDeliveryReceiptsBounded: with room for one member between flushes, a second member's
// receipt is published by its caller rather than held.
func TestDeliveryReceiptsBounded(t *testing.T) {
	f := newFixture(t, 3)
	ctx := context.Background()
	a, b, c := f.users[0], f.users[1], f.users[2]
	svc := f.withConfig(chat.ServiceConfig{DeliveryReceiptWindow: time.Hour, DeliveryReceiptMax: 1}, nil)
	r, _, _ := svc.CreateRoom(ctx, a, chat.NewRoom{Type: "group", MemberIDs: []string{b, c}})
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { svc.RunDeliveryReceipts(runCtx) })
	waitRunning(t, svc, f, r.ID, c, a) // a's receipt now fills the map
	m, _, err := svc.SendMessage(ctx, c, r.ID, chat.NewMessage{Text: "x"})
	if err != nil {
		t.Fatal(err)
	}
	before := len(f.eventsOf(chat.EventDeliveryReceiptUpdated))
	if _, err := svc.MarkDelivered(ctx, b, r.ID, m.Seq); err != nil {
		t.Fatal(err)
	}
	evs := receipts(t, f.eventsOf(chat.EventDeliveryReceiptUpdated)[before:])
	// b's went out at once; a's may have gone with an early flush the full map woke.
	foundB := false
	for _, dr := range evs {
		foundB = foundB || (dr.UserID == b && dr.LastDeliveredSeq == m.Seq)
	}
	if !foundB {
		t.Fatalf("events %+v: b's receipt was held in a full map", evs)
	}
	stop()
	wg.Wait()
}

// TestUndeliveredCounts: a new message counts the members its write did not reach; history
// pages and the room list count from the members' cursors.
func TestUndeliveredCounts(t *testing.T) {
	f := newFixture(t, 4)
	ctx := context.Background()
	a, b, c, d := f.users[0], f.users[1], f.users[2], f.users[3]
	r, _, _ := f.svc.CreateRoom(ctx, a, chat.NewRoom{Type: "group", MemberIDs: []string{b, c, d}})
	if err := f.svc.Focus(ctx, d, "s1", r.ID); err != nil { // d views the room
		t.Fatal(err)
	}
	m1, _, err := f.svc.SendMessage(ctx, a, r.ID, chat.NewMessage{Text: "one"})
	if err != nil || m1.UndeliveredCount != 2 || m1.UnreadCount != 2 {
		t.Fatalf("sent: %+v %v; want unread 2, undelivered 2 (b and c)", m1, err)
	}
	if _, err := f.svc.MarkDelivered(ctx, b, r.ID, m1.Seq); err != nil {
		t.Fatal(err)
	}
	msgs, _, err := f.svc.History(ctx, a, r.ID, chat.HistoryQuery{})
	if err != nil || len(msgs) != 1 || msgs[0].UndeliveredCount != 1 || msgs[0].UnreadCount != 2 {
		t.Fatalf("history %+v %v; want unread 2, undelivered 1", msgs, err)
	}
	list, err := f.svc.Rooms(ctx, a, 0, "")
	rooms := list.Rooms
	if err != nil || rooms[0].LastMessage.UndeliveredCount != 1 {
		t.Fatalf("room list's last message %+v %v, want undelivered 1", rooms[0].LastMessage, err)
	}
	// A retried send answers with the stored message's counts, asked anew.
	again, created, err := f.svc.SendMessage(ctx, a, r.ID, chat.NewMessage{ClientMsgID: "k", Text: "two"})
	if err != nil || !created {
		t.Fatal(err)
	}
	if _, err := f.svc.MarkRead(ctx, c, r.ID, again.Seq); err != nil {
		t.Fatal(err)
	}
	retried, created, err := f.svc.SendMessage(ctx, a, r.ID, chat.NewMessage{ClientMsgID: "k", Text: "two"})
	if err != nil || created || retried.UndeliveredCount != 1 || retried.UnreadCount != 1 {
		t.Fatalf("retry %+v created %v %v; want unread 1 and undelivered 1 (b)", retried, created, err)
	}
}

// TestReadQueuesReadPush: a read cursor that moves queues one read job for the reader's
// devices; one that does not move queues nothing.
func TestReadQueuesReadPush(t *testing.T) {
	f := newFixture(t, 2)
	ctx := context.Background()
	a, b := f.users[0], f.users[1]
	q := memory.NewQueue(memory.QueueConfig{ClaimIdle: time.Minute})
	f.svc.SetPushQueue(q)
	r, _, _ := f.svc.CreateRoom(ctx, a, chat.NewRoom{Type: "group", MemberIDs: []string{b}})
	for _, text := range []string{"one", "two"} {
		if _, _, err := f.svc.SendMessage(ctx, a, r.ID, chat.NewMessage{Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	queued := q.Len()
	if _, err := f.svc.MarkRead(ctx, b, r.ID, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.MarkRead(ctx, b, r.ID, 1); err != nil { // no move
		t.Fatal(err)
	}
	if got := q.Len() - queued; got != 1 {
		t.Fatalf("%d jobs queued by two reads, want 1", got)
	}
	ds, err := q.Consumer("t").Receive(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	var reads []chat.ReadPush
	for _, d := range ds {
		if d.Job.Read != nil {
			reads = append(reads, *d.Job.Read)
		}
	}
	if len(reads) != 1 || reads[0] != (chat.ReadPush{RoomID: r.ID, UserID: b, LastReadSeq: 2}) {
		t.Fatalf("read jobs %+v", reads)
	}
}
