package chat_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// fakeRemover stands in for the blob store: it records what it removed and refuses the
// ids in fail.
type fakeRemover struct {
	mu      sync.Mutex
	removed []string
	fail    map[string]bool
}

func (r *fakeRemover) RemoveMedia(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail[id] {
		return errors.New("blob store down")
	}
	r.removed = append(r.removed, id)
	return nil
}

func TestSetRoomRetention(t *testing.T) {
	f := newFixture(t, 3)
	ctx := context.Background()
	boss, a := f.users[0], f.users[1]
	if err := f.store.SetAdmin(ctx, boss, true); err != nil {
		t.Fatal(err)
	}
	r, _, err := f.svc.CreateRoom(ctx, a, chat.NewRoom{Type: "group", Name: "g", MemberIDs: []string{f.users[2]}})
	if err != nil {
		t.Fatal(err)
	}
	days := func(n int) chat.RetentionPatch { return chat.RetentionPatch{RetentionDays: &n} }
	_, err = f.svc.SetRoomRetention(ctx, a, r.ID, days(7))
	wantCode(t, err, "not_admin")
	_, err = f.svc.SetRoomRetention(ctx, boss, r.ID, chat.RetentionPatch{})
	wantCode(t, err, "bad_request")
	_, err = f.svc.SetRoomRetention(ctx, boss, r.ID, days(-1))
	wantCode(t, err, "bad_request")
	_, err = f.svc.SetRoomRetention(ctx, boss, r.ID, days(36501))
	wantCode(t, err, "bad_request")
	_, err = f.svc.SetRoomRetention(ctx, boss, "nope", days(7))
	wantCode(t, err, "room_not_found")

	before := len(f.eventsOf(chat.EventRoomUpdated))
	got, err := f.svc.SetRoomRetention(ctx, boss, r.ID, days(7))
	if err != nil || got.RetentionDays == nil || *got.RetentionDays != 7 || got.ID != r.ID {
		t.Fatalf("SetRoomRetention = %+v, %v", got, err)
	}
	if n := len(f.eventsOf(chat.EventRoomUpdated)); n != before+1 {
		t.Fatalf("ROOM_UPDATED events = %d, want %d", n, before+1)
	}
	log, err := f.svc.AuditLog(ctx, boss, 10, "")
	if err != nil || len(log.Entries) == 0 || log.Entries[0].Action != chat.AuditSetRetention || log.Entries[0].TargetID != r.ID || log.Entries[0].Detail != "7 days" {
		t.Fatalf("audit log = %+v, %v; want the retention first", log.Entries, err)
	}
}

// TestSweepRetention runs the sweeper on a real store with a clock 40 days ahead, so that
// every message sent now is 40 days old.
func TestSweepRetention(t *testing.T) {
	f := newFixture(t, 2)
	ctx := context.Background()
	a, b := f.users[0], f.users[1]
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	svc := f.withConfig(chat.ServiceConfig{Now: clock}, nil)
	remover := &fakeRemover{fail: map[string]bool{"media-2": true}}
	svc.SetMediaRemover(remover)

	own, _, err := svc.CreateRoom(ctx, a, chat.NewRoom{Type: "group", Name: "own", MemberIDs: []string{b}})
	if err != nil {
		t.Fatal(err)
	}
	plain, _, err := svc.CreateRoom(ctx, a, chat.NewRoom{Type: "group", Name: "plain", MemberIDs: []string{b}})
	if err != nil {
		t.Fatal(err)
	}
	send := func(roomID, text string) chat.Message {
		m, _, err := svc.SendMessage(ctx, a, roomID, chat.NewMessage{ClientMsgID: chat.NewID(), Text: text})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	withMedia := func(roomID, mediaID string) chat.Message {
		m, _, err := f.store.CreateMessage(ctx, chat.Message{ID: chat.NewID(), RoomID: roomID, SenderID: a, Type: chat.MessageImage,
			MediaID: mediaID, CreatedAt: chat.At(time.Now())}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	o1 := send(own.ID, "one")
	pinned := send(own.ID, "pinned")
	if _, err := svc.Pin(ctx, a, own.ID, pinned.ID); err != nil {
		t.Fatal(err)
	}
	img := withMedia(own.ID, "media-1")
	stuck := withMedia(own.ID, "media-2")
	p1 := send(plain.ID, "plain")
	if err := f.store.SetRetention(ctx, own.ID, 30); err != nil {
		t.Fatal(err)
	}
	forever, _, err := svc.CreateRoom(ctx, a, chat.NewRoom{Type: "group", Name: "forever", MemberIDs: []string{b}})
	if err != nil {
		t.Fatal(err)
	}
	kept := send(forever.ID, "kept")
	if err := f.store.SetRetention(ctx, forever.ID, 0); err != nil {
		t.Fatal(err)
	}

	// Today nothing is old enough.
	if n, err := svc.SweepRetention(ctx, chat.RetentionConfig{DefaultDays: 35}); err != nil || n != 0 {
		t.Fatalf("sweep today = %d, %v; want 0", n, err)
	}
	mu.Lock()
	now = now.Add(40 * 24 * time.Hour)
	mu.Unlock()
	// The room's own 30 days have passed; the default of 50 has not.
	n, err := svc.SweepRetention(ctx, chat.RetentionConfig{DefaultDays: 50, Batch: 2})
	if err != nil || n != 2 {
		t.Fatalf("sweep = %d, %v; want 2 (o1 and the image; the pinned one kept, the one whose media could not go waits)", n, err)
	}
	for _, m := range []chat.Message{o1, img} {
		if _, err := f.store.Message(ctx, own.ID, m.ID); !chat.IsNotFound(err) {
			t.Fatalf("message %s after the sweep: %v; want it gone", m.ID, err)
		}
	}
	for _, m := range []chat.Message{pinned, stuck} {
		if _, err := f.store.Message(ctx, own.ID, m.ID); err != nil {
			t.Fatalf("message %s after the sweep: %v; want it kept", m.ID, err)
		}
	}
	if _, err := f.store.Message(ctx, plain.ID, p1.ID); err != nil {
		t.Fatalf("the plain room's message (default 50 days): %v", err)
	}
	if len(remover.removed) != 1 || remover.removed[0] != "media-1" {
		t.Fatalf("media removed = %v, want [media-1]", remover.removed)
	}
	room, err := svc.Room(ctx, a, own.ID)
	if err != nil || room.ExpiredThroughSeq != img.Seq {
		t.Fatalf("room = %+v, %v; want expiredThroughSeq %d", room, err, img.Seq)
	}
	page, _, err := svc.History(ctx, b, own.ID, chat.HistoryQuery{})
	if err != nil || len(page) != 2 {
		t.Fatalf("history after the sweep = %d messages, %v; want the pinned one and the one waiting", len(page), err)
	}

	// The blob store is back: the waiting message goes with its media; a default of 35
	// days takes the plain room's message too.
	remover.mu.Lock()
	remover.fail = nil
	remover.mu.Unlock()
	if n, err := svc.SweepRetention(ctx, chat.RetentionConfig{DefaultDays: 35}); err != nil || n != 2 {
		t.Fatalf("second sweep = %d, %v; want 2", n, err)
	}
	if _, err := f.store.Message(ctx, plain.ID, p1.ID); !chat.IsNotFound(err) {
		t.Fatalf("the plain room's message after a default of 35 days: %v", err)
	}
	if n, err := svc.SweepRetention(ctx, chat.RetentionConfig{DefaultDays: 35}); err != nil || n != 0 {
		t.Fatalf("third sweep = %d, %v; want 0", n, err)
	}
	if _, err := f.store.Message(ctx, forever.ID, kept.ID); err != nil {
		t.Fatalf("a room kept forever (retentionDays 0) lost its message to the default: %v", err)
	}
}
