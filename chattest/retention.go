package chattest

import (
	"slices"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// TestRetentionStore runs the contract of chat.RetentionStore.
func TestRetentionStore(t *testing.T, newStore func(t *testing.T) chat.Store) {
	runStoreCases(t, newStore, []storeCase{
		{"SetRetention", testSetRetention},
		{"ExpiredMessages", testExpiredMessages},
		{"DeleteExpired", testDeleteExpired},
	})
}

// sendAt stores a message whose id is of time at, as ids made then are: retention reads a
// message's age from its id.
func sendAt(tb testing.TB, s chat.Store, roomID string, sender chat.User, text string, at time.Time) chat.Message {
	tb.Helper()
	m := storeMessage(roomID, sender, text, at)
	m.ID = chat.IDBefore(at)[:10] + chat.NewID()[10:]
	m, created, err := s.CreateMessage(tb.Context(), m, nil)
	if err != nil || !created {
		tb.Fatalf("CreateMessage(%q) = created %v, %v", text, created, err)
	}
	return m
}

func msgIDs(msgs []chat.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

func testSetRetention(t *testing.T, s chat.Store) {
	a, b := storeUser(t, s, "ann"), storeUser(t, s, "bob")
	r := storeRoom(t, s, storeEpoch, a, b)
	wantNotFound(t, "SetRetention of an unknown room", s.SetRetention(t.Context(), chat.NewID(), 3))
	got, err := s.Room(t.Context(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.RetentionDays != nil {
		t.Fatalf("a new room's retentionDays = %d; want none (the server's default)", *got.RetentionDays)
	}
	if err := s.SetRetention(t.Context(), r.ID, 30); err != nil {
		t.Fatal(err)
	}
	got, err = s.Room(t.Context(), r.ID)
	if err != nil || got.RetentionDays == nil || *got.RetentionDays != 30 || got.ExpiredThroughSeq != 0 {
		t.Fatalf("Room = %+v, %v; want retentionDays 30", got, err)
	}
	own, err := s.RoomRetentions(t.Context())
	if err != nil || own[r.ID] != 30 || len(own) != 1 {
		t.Fatalf("RoomRetentions = %v, %v; want {%s: 30}", own, err, r.ID)
	}
	if err := s.SetRetention(t.Context(), r.ID, 0); err != nil {
		t.Fatal(err)
	}
	// 0 is a retention of its own: forever, whatever the server's default.
	if own, err := s.RoomRetentions(t.Context()); err != nil || len(own) != 1 || own[r.ID] != 0 {
		t.Fatalf("RoomRetentions after 0 = %v, %v; want {%s: 0}", own, err, r.ID)
	}
	if got, _ := s.Room(t.Context(), r.ID); got.RetentionDays == nil || *got.RetentionDays != 0 {
		t.Fatalf("retentionDays after 0 = %v; want 0", got.RetentionDays)
	}
}

func testExpiredMessages(t *testing.T, s chat.Store) {
	a, b := storeUser(t, s, "ann"), storeUser(t, s, "bob")
	plain := storeRoom(t, s, storeEpoch, a, b)
	own := storeRoom(t, s, storeEpoch, a, b)
	day := func(n int) time.Time { return storeEpoch.Add(time.Duration(n) * 24 * time.Hour) }
	m1 := sendAt(t, s, plain.ID, a, "day one", day(1))
	pinned := sendAt(t, s, plain.ID, b, "day two, pinned", day(2))
	change(t, s, chat.Change{Kind: chat.ChangePin, RoomID: plain.ID, MessageID: pinned.ID, UserID: a.ID})
	m3 := sendAt(t, s, plain.ID, a, "day two too", day(2).Add(time.Hour))
	sendAt(t, s, plain.ID, a, "day five", day(5))
	o1 := sendAt(t, s, own.ID, b, "own day one", day(1))
	if err := s.SetRetention(t.Context(), own.ID, 7); err != nil {
		t.Fatal(err)
	}
	forever := storeRoom(t, s, storeEpoch, a, b)
	sendAt(t, s, forever.ID, a, "kept forever", day(1))
	if err := s.SetRetention(t.Context(), forever.ID, 0); err != nil {
		t.Fatal(err)
	}
	got, err := s.ExpiredMessages(t.Context(), "", chat.IDBefore(day(3)), 10)
	if err != nil || !slices.Equal(msgIDs(got), []string{m1.ID, m3.ID}) {
		t.Fatalf("ExpiredMessages(every room, before day 3) = %v, %v; want [%s %s] (not pinned, not of a room with its own)", msgIDs(got), err, m1.ID, m3.ID)
	}
	if got[0].RoomID != plain.ID || got[0].Seq != m1.Seq {
		t.Fatalf("expired message = %+v; want its room and seq", got[0])
	}
	got, err = s.ExpiredMessages(t.Context(), "", chat.IDBefore(day(3)), 1)
	if err != nil || !slices.Equal(msgIDs(got), []string{m1.ID}) {
		t.Fatalf("ExpiredMessages limit 1 = %v, %v; want the oldest", msgIDs(got), err)
	}
	got, err = s.ExpiredMessages(t.Context(), own.ID, chat.IDBefore(day(3)), 10)
	if err != nil || !slices.Equal(msgIDs(got), []string{o1.ID}) {
		t.Fatalf("ExpiredMessages(own room) = %v, %v; want [%s]", msgIDs(got), err, o1.ID)
	}
}

func testDeleteExpired(t *testing.T, s chat.Store) {
	a, b := storeUser(t, s, "ann"), storeUser(t, s, "bob")
	r := storeRoom(t, s, storeEpoch, a, b)
	day := func(n int) time.Time { return storeEpoch.Add(time.Duration(n) * 24 * time.Hour) }
	m1 := sendAt(t, s, r.ID, a, "expired words", day(1))
	change(t, s, chat.Change{Kind: chat.ChangeReact, RoomID: r.ID, MessageID: m1.ID, UserID: b.ID, Emoji: "👍"})
	m2 := sendAt(t, s, r.ID, b, "expired too", day(1).Add(time.Minute))
	m3 := sendAt(t, s, r.ID, a, "pinned meanwhile", day(1).Add(2*time.Minute))
	expired, err := s.ExpiredMessages(t.Context(), "", chat.IDBefore(day(2)), 10)
	if err != nil || len(expired) != 3 {
		t.Fatalf("ExpiredMessages = %v, %v; want 3", msgIDs(expired), err)
	}
	change(t, s, chat.Change{Kind: chat.ChangePin, RoomID: r.ID, MessageID: m3.ID, UserID: a.ID})
	n, err := s.DeleteExpired(t.Context(), expired)
	if err != nil || n != 2 {
		t.Fatalf("DeleteExpired = %d, %v; want 2 (the one pinned meanwhile stays)", n, err)
	}
	for _, id := range []string{m1.ID, m2.ID} {
		_, err := s.Message(t.Context(), r.ID, id)
		wantNotFound(t, "an expired message", err)
	}
	if _, err := s.Message(t.Context(), r.ID, m3.ID); err != nil {
		t.Fatalf("the pinned message: %v", err)
	}
	page, _, err := s.Messages(t.Context(), r.ID, chat.HistoryQuery{Limit: 10})
	if err != nil || len(page) != 1 || page[0].ID != m3.ID {
		t.Fatalf("history after expiry = %v, %v; want the pinned one", msgIDs(page), err)
	}
	room, err := s.Room(t.Context(), r.ID)
	if err != nil || room.ExpiredThroughSeq != m2.Seq || room.LastSeq != m3.Seq {
		t.Fatalf("room after expiry = %+v, %v; want expiredThroughSeq %d, lastSeq %d unchanged", room, err, m2.Seq, m3.Seq)
	}
	if ms, ok := s.(chat.MessageSearch); ok {
		found, _, err := ms.SearchMessages(t.Context(), chat.SearchQuery{Words: []string{"expired"}, RoomIDs: []string{r.ID}, Limit: 10})
		if err != nil || len(found) != 0 {
			t.Fatalf("search after expiry = %v, %v; want nothing", msgIDs(found), err)
		}
	}
	if n, err := s.DeleteExpired(t.Context(), expired); err != nil || n != 0 {
		t.Fatalf("DeleteExpired again = %d, %v; want 0", n, err)
	}

	// A room whose last message expires lists no last message.
	q := storeRoom(t, s, storeEpoch, a, b)
	last := sendAt(t, s, q.ID, a, "last words", day(1))
	if n, err := s.DeleteExpired(t.Context(), []chat.Message{{ID: last.ID, RoomID: q.ID, Seq: last.Seq}}); err != nil || n != 1 {
		t.Fatalf("DeleteExpired(last) = %d, %v", n, err)
	}
	rooms, err := allUserRooms(t.Context(), s, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, ur := range rooms {
		if ur.ID == q.ID && ur.LastMessage != nil {
			t.Fatalf("room list's last message after it expired = %+v; want none", ur.LastMessage)
		}
		if ur.ID == q.ID && ur.ExpiredThroughSeq != last.Seq {
			t.Fatalf("room list's expiredThroughSeq = %d, want %d", ur.ExpiredThroughSeq, last.Seq)
		}
	}
}
