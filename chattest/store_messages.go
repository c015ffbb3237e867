package chattest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// --- messages ---

func testMessageSeq(t *testing.T, s chat.Store) {
	ctx := t.Context()
	users := storeUsers(t, s, 2)
	a, b := users[0], users[1]
	r := storeRoom(t, s, storeEpoch, a, b)
	other := storeRoom(t, s, storeEpoch, a, b)

	var sent []chat.Message
	for i := range 3 {
		in := storeMessage(r.ID, users[i%2], fmt.Sprint("hello ", i), storeAt(i))
		got, created, err := s.CreateMessage(ctx, in, nil)
		if err != nil || !created {
			t.Fatalf("CreateMessage %d = created %v, %v", i, created, err)
		}
		in.Seq = int64(i + 1)
		sameMessage(t, fmt.Sprint("CreateMessage ", i), got, in)
		sent = append(sent, got)
	}
	room, err := s.Room(ctx, r.ID)
	if err != nil {
		t.Fatalf("Room: %v", err)
	}
	if room.LastSeq != 3 {
		t.Errorf("Room.LastSeq = %d, want 3", room.LastSeq)
	}

	// Each room counts on its own.
	if m := storeSend(t, s, other.ID, a, "elsewhere", storeAt(5)); m.Seq != 1 {
		t.Errorf("first message of another room has seq %d, want 1", m.Seq)
	}

	got, more, err := s.Messages(ctx, r.ID, chat.HistoryQuery{Limit: 10})
	if err != nil {
		t.Fatalf("Messages: %v", err)
	}
	if more || len(got) != 3 {
		t.Fatalf("Messages = %v (hasMore %v), want the 3 messages", msgSeqs(got), more)
	}
	for i := range got {
		sameMessage(t, fmt.Sprint("Messages[", i, "]"), got[i], sent[i])
	}
}

func testMessageIdempotent(t *testing.T, s chat.Store) {
	ctx := t.Context()
	users := storeUsers(t, s, 2)
	a, b := users[0], users[1]
	r := storeRoom(t, s, storeEpoch, a, b)

	first := storeMessage(r.ID, a, "original", storeAt(0))
	first.ClientMsgID = "client-1"
	stored, created, err := s.CreateMessage(ctx, first, []string{a.ID})
	if err != nil || !created {
		t.Fatalf("CreateMessage = created %v, %v", created, err)
	}

	retry := storeMessage(r.ID, a, "retried", storeAt(1)) // a new id and text, the same client id
	retry.ClientMsgID = "client-1"
	got, created, err := s.CreateMessage(ctx, retry, []string{a.ID, b.ID})
	if err != nil {
		t.Fatalf("retried CreateMessage: %v", err)
	}
	if created {
		t.Errorf("retried CreateMessage created a message")
	}
	sameMessage(t, "retried CreateMessage", got, stored)
	if c := storeCursor(t, s, r.ID, b.ID); c != 0 {
		t.Errorf("a retry advanced cursors: b's cursor = %d, want 0", c)
	}

	// The retry consumed no seq.
	next := storeSend(t, s, r.ID, a, "next", storeAt(2))
	if next.Seq != 2 {
		t.Errorf("message after a retry has seq %d, want 2", next.Seq)
	}
	// The key is per sender: another sender may use the same client id.
	fromB := storeMessage(r.ID, b, "b's own", storeAt(3))
	fromB.ClientMsgID = "client-1"
	if m, created, err := s.CreateMessage(ctx, fromB, nil); err != nil || !created || m.Seq != 3 {
		t.Errorf("CreateMessage(other sender, same client id) = seq %d, created %v, %v; want seq 3, created", m.Seq, created, err)
	}

	msgs, _, err := s.Messages(ctx, r.ID, chat.HistoryQuery{Limit: 10})
	if err != nil {
		t.Fatalf("Messages: %v", err)
	}
	if want := []int64{1, 2, 3}; !slices.Equal(msgSeqs(msgs), want) {
		t.Errorf("Messages seqs = %v, want %v", msgSeqs(msgs), want)
	}
	if room, err := s.Room(ctx, r.ID); err != nil || room.LastSeq != 3 {
		t.Errorf("Room.LastSeq = %d, %v; want 3", room.LastSeq, err)
	}
}

func testMessageAdvance(t *testing.T, s chat.Store) {
	ctx := t.Context()
	users := storeUsers(t, s, 4)
	a, b, c, outsider := users[0], users[1], users[2], users[3]
	r := storeRoom(t, s, storeEpoch, a, b, c)

	m1 := storeSend(t, s, r.ID, a, "one", storeAt(0), a.ID, b.ID, outsider.ID)
	for _, w := range []struct {
		u    chat.User
		want int64
	}{{a, m1.Seq}, {b, m1.Seq}, {c, 0}} {
		if got := storeCursor(t, s, r.ID, w.u.ID); got != w.want {
			t.Errorf("%s's cursor = %d after the first message, want %d", w.u.Username, got, w.want)
		}
	}
	_, err := s.Member(ctx, r.ID, outsider.ID)
	wantNotFound(t, "Member(outsider named in advance)", err)

	m2 := storeSend(t, s, r.ID, c, "two", storeAt(1), c.ID)
	if got := storeCursor(t, s, r.ID, c.ID); got != m2.Seq {
		t.Errorf("c's cursor = %d, want %d", got, m2.Seq)
	}
	if got := storeCursor(t, s, r.ID, b.ID); got != m1.Seq {
		t.Errorf("b's cursor = %d, want %d (not in the advance list)", got, m1.Seq)
	}
}

// testMessageCreatedUnread: a created message comes back with its unread count, counted
// with the write (the sender and the advanced viewers excluded); a retry's is not set.
func testMessageCreatedUnread(t *testing.T, s chat.Store) {
	ctx := t.Context()
	users := storeUsers(t, s, 4)
	a, b, c, d := users[0], users[1], users[2], users[3]
	r := storeRoom(t, s, storeEpoch, a, b, c, d)

	m1 := storeSend(t, s, r.ID, a, "one", storeAt(0), a.ID, b.ID)
	if m1.UnreadCount != 2 { // c and d
		t.Errorf("created message's UnreadCount = %d, want 2", m1.UnreadCount)
	}
	want, err := s.UnreadCount(ctx, r.ID, a.ID, m1.Seq)
	if err != nil || want != m1.UnreadCount {
		t.Errorf("UnreadCount = %d, %v; the created message said %d", want, err, m1.UnreadCount)
	}
	m2 := storeSend(t, s, r.ID, b, "two", storeAt(1), b.ID, a.ID, c.ID, d.ID)
	if m2.UnreadCount != 0 {
		t.Errorf("a message every member views: UnreadCount = %d, want 0", m2.UnreadCount)
	}
}

func testMessageMediaID(t *testing.T, s chat.Store) {
	ctx := t.Context()
	users := storeUsers(t, s, 1)
	r := storeRoom(t, s, storeEpoch, users[0])
	img := storeMessage(r.ID, users[0], "", storeAt(0))
	img.Type, img.MediaID = chat.MessageImage, "media-123"
	stored, _, err := s.CreateMessage(ctx, img, nil)
	if err != nil {
		t.Fatalf("CreateMessage(image): %v", err)
	}
	if stored.MediaID != "media-123" || stored.Type != chat.MessageImage {
		t.Errorf("stored image message = %+v", stored)
	}
	text := storeSend(t, s, r.ID, users[0], "plain", storeAt(1))

	msgs, _, err := s.Messages(ctx, r.ID, chat.HistoryQuery{Limit: 10})
	if err != nil || len(msgs) != 2 {
		t.Fatalf("Messages = %v, %v; want 2", msgs, err)
	}
	sameMessage(t, "image message from history", msgs[0], stored)
	sameMessage(t, "text message from history", msgs[1], text)

	fileMsg := storeMessage(r.ID, users[0], "", storeAt(2))
	fileMsg.Type, fileMsg.MediaID = chat.MessageFile, "media-456"
	if _, _, err := s.CreateMessage(ctx, fileMsg, nil); err != nil {
		t.Fatalf("CreateMessage(file): %v", err)
	}
	rooms, err := allUserRooms(ctx, s, users[0].ID)
	if err != nil || len(rooms) != 1 || rooms[0].LastMessage == nil {
		t.Fatalf("UserRooms = %+v, %v; want one room with a last message", rooms, err)
	}
	if lm := rooms[0].LastMessage; lm.MediaID != "media-456" || lm.Type != chat.MessageFile {
		t.Errorf("UserRooms LastMessage = %+v, want the file message", lm)
	}
}

func testHistory(t *testing.T, s chat.Store) {
	ctx := t.Context()
	users := storeUsers(t, s, 1)
	r := storeRoom(t, s, storeEpoch, users[0])
	noise := storeRoom(t, s, storeEpoch, users[0])
	for i := range 10 {
		storeSend(t, s, r.ID, users[0], fmt.Sprint("m", i+1), storeAt(i))
		storeSend(t, s, noise.ID, users[0], "noise", storeAt(i))
	}
	span := func(from, to int64) []int64 {
		var out []int64
		for i := from; i <= to; i++ {
			out = append(out, i)
		}
		return out
	}
	for _, c := range []struct {
		name string
		q    chat.HistoryQuery
		want []int64
		more bool
	}{
		{"newest page", chat.HistoryQuery{Limit: 3}, span(8, 10), true},
		{"all fit", chat.HistoryQuery{Limit: 10}, span(1, 10), false},
		{"more than all", chat.HistoryQuery{Limit: 50}, span(1, 10), false},
		{"before", chat.HistoryQuery{BeforeSeq: 8, Limit: 3}, span(5, 7), true},
		{"before, reaching the start", chat.HistoryQuery{BeforeSeq: 4, Limit: 3}, span(1, 3), false},
		{"before, short of the start", chat.HistoryQuery{BeforeSeq: 5, Limit: 3}, span(2, 4), true},
		{"before the first", chat.HistoryQuery{BeforeSeq: 1, Limit: 3}, nil, false},
		{"before beyond the last", chat.HistoryQuery{BeforeSeq: 99, Limit: 2}, span(9, 10), true},
		{"after", chat.HistoryQuery{AfterSeq: 2, Limit: 3}, span(3, 5), true},
		{"after, reaching the end", chat.HistoryQuery{AfterSeq: 7, Limit: 3}, span(8, 10), false},
		{"after, short of the end", chat.HistoryQuery{AfterSeq: 6, Limit: 3}, span(7, 9), true},
		{"after the last", chat.HistoryQuery{AfterSeq: 10, Limit: 3}, nil, false},
		{"after 0, forward", chat.HistoryQuery{AfterSeq: 0, Forward: true, Limit: 3}, span(1, 3), true},
		{"after 1, forward", chat.HistoryQuery{AfterSeq: 1, Forward: true, Limit: 3}, span(2, 4), true},
		{"after 0, forward, all fit", chat.HistoryQuery{Forward: true, Limit: 10}, span(1, 10), false},
		{"between, more below", chat.HistoryQuery{AfterSeq: 2, BeforeSeq: 9, Limit: 3}, span(6, 8), true},
		{"between, exactly", chat.HistoryQuery{AfterSeq: 5, BeforeSeq: 9, Limit: 3}, span(6, 8), false},
		{"between, room to spare", chat.HistoryQuery{AfterSeq: 5, BeforeSeq: 9, Limit: 10}, span(6, 8), false},
		{"between, empty", chat.HistoryQuery{AfterSeq: 5, BeforeSeq: 6, Limit: 10}, nil, false},
	} {
		got, more, err := s.Messages(ctx, r.ID, c.q)
		if err != nil {
			t.Fatalf("%s: Messages(%+v): %v", c.name, c.q, err)
		}
		if !slices.Equal(msgSeqs(got), c.want) || more != c.more {
			t.Errorf("%s: Messages(%+v) = %v hasMore %v, want %v hasMore %v", c.name, c.q, msgSeqs(got), more, c.want, c.more)
		}
		for _, m := range got {
			if m.RoomID != r.ID || m.Text != fmt.Sprint("m", m.Seq) {
				t.Errorf("%s: message %+v is not seq %d of the room", c.name, m, m.Seq)
			}
		}
	}

	empty := storeRoom(t, s, storeEpoch, users[0])
	got, more, err := s.Messages(ctx, empty.ID, chat.HistoryQuery{Limit: 10})
	if err != nil || len(got) != 0 || more {
		t.Errorf("Messages(empty room) = %v, %v, %v; want none", got, more, err)
	}
}

func testConcurrentCreateMessage(t *testing.T, s chat.Store) {
	ctx := t.Context()
	users := storeUsers(t, s, 4)
	r := storeRoom(t, s, storeEpoch, users...)
	const n = 200
	got := make([]int64, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			m := storeMessage(r.ID, users[i%len(users)], fmt.Sprint("m", i), storeAt(i))
			stored, created, err := s.CreateMessage(ctx, m, []string{m.SenderID})
			if err != nil || !created {
				t.Errorf("CreateMessage %d = created %v, %v", i, created, err)
				return
			}
			got[i] = stored.Seq
		})
	}
	wg.Wait()
	slices.Sort(got)
	for i, seq := range got {
		if seq != int64(i+1) {
			t.Fatalf("seqs of %d concurrent messages, sorted, = %v; want exactly 1..%d", n, got, n)
		}
	}
	if room, err := s.Room(ctx, r.ID); err != nil || room.LastSeq != n {
		t.Errorf("Room.LastSeq = %d, %v; want %d", room.LastSeq, err, n)
	}
	// Read back in two pages of 100 (the API's largest).
	newer, more, err := s.Messages(ctx, r.ID, chat.HistoryQuery{Limit: 100})
	if err != nil || !more || len(newer) != 100 || newer[0].Seq != 101 {
		t.Fatalf("newest page = %d messages from seq %v, hasMore %v, %v", len(newer), msgSeqs(newer[:min(1, len(newer))]), more, err)
	}
	older, more, err := s.Messages(ctx, r.ID, chat.HistoryQuery{BeforeSeq: 101, Limit: 100})
	if err != nil || more || len(older) != 100 {
		t.Fatalf("older page = %d messages, hasMore %v, %v; want 100, false", len(older), more, err)
	}
	all := append(msgSeqs(older), msgSeqs(newer)...)
	for i, seq := range all {
		if seq != int64(i+1) {
			t.Fatalf("history seqs = %v, want 1..%d in order", all, n)
		}
	}
}

func testConcurrentRetries(t *testing.T, s chat.Store) {
	ctx := t.Context()
	users := storeUsers(t, s, 1)
	r := storeRoom(t, s, storeEpoch, users[0])
	const n = 20
	stored := make([]chat.Message, n)
	created := make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// A client retrying one send over several connections at once.
			m := storeMessage(r.ID, users[0], fmt.Sprint("attempt ", i), storeAt(0))
			m.ClientMsgID = "the-one"
			var err error
			stored[i], created[i], err = s.CreateMessage(ctx, m, nil)
			if err != nil {
				t.Errorf("CreateMessage attempt %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if got := countTrue(created); got != 1 {
		t.Errorf("%d of %d concurrent sends with one client id were created, want exactly 1", got, n)
	}
	for i := range stored {
		if stored[i].ID != stored[0].ID || stored[i].Seq != 1 {
			t.Errorf("attempt %d returned %s seq %d, want the one stored message %s seq 1", i, stored[i].ID, stored[i].Seq, stored[0].ID)
		}
	}
	if room, err := s.Room(ctx, r.ID); err != nil || room.LastSeq != 1 {
		t.Errorf("Room.LastSeq = %d, %v; want 1", room.LastSeq, err)
	}
}

// --- times ---

func testTimes(t *testing.T, s chat.Store) {
	ctx := t.Context()
	// Nanoseconds and a zone other than UTC, as a caller might pass without rounding.
	seoul := time.FixedZone("KST", 9*60*60)
	raw := time.Date(2026, 11, 24, 19, 0, 0, 123_456_789, seoul)
	want := time.Date(2026, 11, 24, 10, 0, 0, 123_000_000, time.UTC)
	check := func(what string, got time.Time) {
		t.Helper()
		if !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("%s = %v (%v), want %v in UTC", what, got, got.Location(), want)
		}
	}

	u := chat.User{ID: chat.NewID(), Username: "timekeeper", DisplayName: "T", CreatedAt: chat.Time{Time: raw}}
	if err := s.CreateUser(ctx, u, "h"); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	got, err := s.User(ctx, u.ID)
	if err != nil {
		t.Fatalf("User: %v", err)
	}
	check("User.CreatedAt", got.CreatedAt.Time)

	tok := chat.RefreshToken{Hash: "h-" + chat.NewID(), UserID: u.ID, FamilyID: "f", CreatedAt: raw, ExpiresAt: raw}
	if err := s.CreateRefreshToken(ctx, tok); err != nil {
		t.Fatalf("CreateRefreshToken: %v", err)
	}
	gotTok, _, err := s.ConsumeRefreshToken(ctx, tok.Hash, raw)
	if err != nil {
		t.Fatalf("ConsumeRefreshToken: %v", err)
	}
	check("RefreshToken.CreatedAt", gotTok.CreatedAt)
	check("RefreshToken.ExpiresAt", gotTok.ExpiresAt)
	if gotTok, _, err = s.ConsumeRefreshToken(ctx, tok.Hash, raw); err != nil {
		t.Fatalf("ConsumeRefreshToken again: %v", err)
	}
	check("RefreshToken.UsedAt", gotTok.UsedAt)

	r := chat.Room{ID: chat.NewID(), Type: chat.RoomGroup, Name: "t", CreatedAt: chat.Time{Time: raw}}
	if err := s.CreateRoom(ctx, r, ""); err != nil {
		t.Fatalf("CreateRoom: %v", err)
	}
	gotRoom, err := s.Room(ctx, r.ID)
	if err != nil {
		t.Fatalf("Room: %v", err)
	}
	check("Room.CreatedAt", gotRoom.CreatedAt.Time)
	if _, err := s.AddMembers(ctx, r.ID, []string{u.ID}, raw); err != nil {
		t.Fatalf("AddMembers: %v", err)
	}
	m, err := s.Member(ctx, r.ID, u.ID)
	if err != nil {
		t.Fatalf("Member: %v", err)
	}
	check("Member.JoinedAt", m.JoinedAt.Time)

	msg := storeMessage(r.ID, u, "t", raw)
	msg.CreatedAt = chat.Time{Time: raw}
	stored, _, err := s.CreateMessage(ctx, msg, nil)
	if err != nil {
		t.Fatalf("CreateMessage: %v", err)
	}
	check("stored Message.CreatedAt", stored.CreatedAt.Time)
	msgs, _, err := s.Messages(ctx, r.ID, chat.HistoryQuery{Limit: 1})
	if err != nil || len(msgs) != 1 {
		t.Fatalf("Messages = %v, %v", msgs, err)
	}
	check("Message.CreatedAt from history", msgs[0].CreatedAt.Time)
	rooms, err := allUserRooms(ctx, s, u.ID)
	if err != nil || len(rooms) != 1 || rooms[0].LastMessage == nil {
		t.Fatalf("UserRooms = %+v, %v", rooms, err)
	}
	check("UserRoom.CreatedAt", rooms[0].CreatedAt.Time)
	check("UserRoom.LastMessage.CreatedAt", rooms[0].LastMessage.CreatedAt.Time)
}
