package chat_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/chattest"
	"github.com/chatchat/chatchat/internal/testenv"
	"github.com/chatchat/chatchat/memory"
	"github.com/chatchat/chatchat/redis"
	"github.com/chatchat/chatchat/sqlite"
)

type fixture struct {
	svc      *chat.Service
	store    *sqlite.Store
	presence *memory.Presence
	bus      *memory.Bus
	events   *chattest.EventRecorder
	users    []string
}

// withConfig returns another Service on the fixture's store and presence, with cfg (the
// fixture's limits added) and bus (nil: the fixture's).
func (f *fixture) withConfig(cfg chat.ServiceConfig, bus chat.Bus) *chat.Service {
	cfg.MaxTextRunes, cfg.MaxRoomMembers = 10, 4
	if bus == nil {
		bus = f.bus
	}
	return chat.NewService(cfg, f.store, bus, f.presence)
}

// newFixture returns a Service on a real SQLite store and the in-process bus and presence,
// with n users.
func newFixture(t *testing.T, n int) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "chat.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	bus := memory.NewBus()
	t.Cleanup(func() { bus.Close() })
	rec := chattest.NewEventRecorder()
	bus.Subscribe(chat.TopicSessions, rec)
	pres := memory.NewPresence(memory.PresenceConfig{})
	f := &fixture{svc: chat.NewService(chat.ServiceConfig{MaxTextRunes: 10, MaxRoomMembers: 4}, st, bus, pres), store: st, presence: pres, bus: bus, events: rec}
	for i := 0; i < n; i++ {
		u := chat.User{ID: chat.NewID(), Username: "user" + string(rune('a'+i)), DisplayName: "U", CreatedAt: chat.At(time.Now())}
		if err := st.CreateUser(ctx, u, "x"); err != nil {
			t.Fatal(err)
		}
		f.users = append(f.users, u.ID)
	}
	return f
}

func (f *fixture) eventsOf(typ string) []chat.Event {
	var out []chat.Event
	for _, ev := range f.events.Events() {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if chat.ErrorCode(err) != code {
		t.Fatalf("error %v, want code %s", err, code)
	}
}

func TestCreateRoomRules(t *testing.T) {
	f := newFixture(t, 6)
	ctx := context.Background()
	a, b, c := f.users[0], f.users[1], f.users[2]

	_, _, err := f.svc.CreateRoom(ctx, a, chat.NewRoom{Type: "direct", MemberIDs: []string{b, c}})
	wantCode(t, err, "bad_request")
	_, _, err = f.svc.CreateRoom(ctx, a, chat.NewRoom{Type: "direct", MemberIDs: []string{a}})
	wantCode(t, err, "bad_request")
	_, _, err = f.svc.CreateRoom(ctx, a, chat.NewRoom{Type: "channel"})
	wantCode(t, err, "bad_request")
	_, _, err = f.svc.CreateRoom(ctx, a, chat.NewRoom{Type: "group", MemberIDs: []string{"ghost"}})
	wantCode(t, err, "unknown_user")
	_, _, err = f.svc.CreateRoom(ctx, a, chat.NewRoom{Type: "group", MemberIDs: f.users[1:]})
	wantCode(t, err, "too_many_members")
	_, _, err = f.svc.CreateRoom(ctx, a, chat.NewRoom{Type: "group", Name: "bad\x00name"})
	wantCode(t, err, "bad_request")

	d, created, err := f.svc.CreateRoom(ctx, a, chat.NewRoom{Type: "direct", MemberIDs: []string{b, b, a}})
	if err != nil || !created || len(d.MemberIDs) != 2 {
		t.Fatalf("direct: %+v %v %v", d, created, err)
	}
	again, created, err := f.svc.CreateRoom(ctx, b, chat.NewRoom{Type: "direct", MemberIDs: []string{a}})
	if err != nil || created || again.ID != d.ID {
		t.Fatalf("direct again from the other side: %v %v %v", again.ID, created, err)
	}
	// A member who left is put back when the direct room is asked for again.
	if err := f.svc.Leave(ctx, b, d.ID); err != nil {
		t.Fatal(err)
	}
	back, _, err := f.svc.CreateRoom(ctx, a, chat.NewRoom{Type: "direct", MemberIDs: []string{b}})
	if err != nil || !back.HasMember(b) {
		t.Fatalf("rejoin: %+v %v", back, err)
	}
	_, err = f.svc.AddMembers(ctx, a, d.ID, []string{c})
	wantCode(t, err, "not_a_group")
	if n := len(f.eventsOf(chat.EventRoomUpdated)); n < 3 {
		t.Fatalf("%d ROOM_UPDATED events, want one per change", n)
	}
}

func TestUnreadFollowsCursorsAndViewers(t *testing.T) {
	f := newFixture(t, 3)
	ctx := context.Background()
	a, b, c := f.users[0], f.users[1], f.users[2]
	r, _, _ := f.svc.CreateRoom(ctx, a, chat.NewRoom{Type: "group", MemberIDs: []string{b, c}})

	m1, _, err := f.svc.SendMessage(ctx, a, r.ID, chat.NewMessage{Text: "one"})
	if err != nil || m1.UnreadCount != 2 {
		t.Fatalf("first: unread %d err %v, want 2", m1.UnreadCount, err)
	}
	// c views the room: the next message is read by c at once.
	if err := f.svc.Focus(ctx, c, "s1", r.ID); err != nil {
		t.Fatal(err)
	}
	m2, _, _ := f.svc.SendMessage(ctx, a, r.ID, chat.NewMessage{Text: "two"})
	if m2.UnreadCount != 1 {
		t.Fatalf("with c viewing: unread %d, want 1", m2.UnreadCount)
	}
	// b's own message is not unread for b.
	m3, _, _ := f.svc.SendMessage(ctx, b, r.ID, chat.NewMessage{Text: "three"})
	if m3.UnreadCount != 1 { // a has not read it; c views it
		t.Fatalf("b's message: unread %d, want 1", m3.UnreadCount)
	}
	list, _ := f.svc.Rooms(ctx, a, 0, "")
	rooms := list.Rooms
	if *rooms[0].UnreadCount != 1 || rooms[0].LastMessage.Seq != 3 || rooms[0].LastMessage.UnreadCount != 1 {
		t.Fatalf("a's room list: unread %d last %+v", *rooms[0].UnreadCount, rooms[0].LastMessage)
	}
	before := len(f.eventsOf(chat.EventReadReceiptUpdated))
	rr, err := f.svc.MarkRead(ctx, a, r.ID, 3)
	if err != nil || rr.LastReadSeq != 3 {
		t.Fatalf("mark read: %+v %v", rr, err)
	}
	if _, err := f.svc.MarkRead(ctx, a, r.ID, 2); err != nil { // does not move: no event
		t.Fatal(err)
	}
	if got := len(f.eventsOf(chat.EventReadReceiptUpdated)) - before; got != 1 {
		t.Fatalf("%d receipts published, want 1 (only a cursor that moves is announced)", got)
	}
	// Every cursor is now at 3: sending moved b's, viewing moved c's, a marked it read.
	msgs, _, _ := f.svc.History(ctx, b, r.ID, chat.HistoryQuery{})
	for _, m := range msgs {
		if m.UnreadCount != 0 {
			t.Fatalf("seq %d unread %d after everyone's cursor reached 3", m.Seq, m.UnreadCount)
		}
	}
}

func TestSendMessageRules(t *testing.T) {
	f := newFixture(t, 3)
	ctx := context.Background()
	a, b, c := f.users[0], f.users[1], f.users[2]
	r, _, _ := f.svc.CreateRoom(ctx, a, chat.NewRoom{Type: "direct", MemberIDs: []string{b}})
	other, _, _ := f.svc.CreateRoom(ctx, a, chat.NewRoom{Type: "direct", MemberIDs: []string{c}})

	for name, tc := range map[string]struct {
		in   chat.NewMessage
		code string
	}{
		"empty":           {chat.NewMessage{Text: " \n "}, "empty_text"},
		"too long":        {chat.NewMessage{Text: "12345678901"}, "text_too_long"},
		"bad type":        {chat.NewMessage{Type: "sticker", Text: "x"}, "bad_request"},
		"image no media":  {chat.NewMessage{Type: "image"}, "bad_request"},
		"media disabled":  {chat.NewMessage{Type: "file", MediaID: "m"}, "media_disabled"},
		"text with media": {chat.NewMessage{Text: "x", MediaID: "m"}, "bad_request"},
		"long client id":  {chat.NewMessage{Text: "x", ClientMsgID: string(make([]byte, 65))}, "bad_request"},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := f.svc.SendMessage(ctx, a, r.ID, tc.in)
			wantCode(t, err, tc.code)
		})
	}
	_, _, err := f.svc.SendMessage(ctx, c, r.ID, chat.NewMessage{Text: "intruder"})
	wantCode(t, err, "room_not_found")

	published := len(f.eventsOf(chat.EventMessageCreated))
	m, created, err := f.svc.SendMessage(ctx, a, r.ID, chat.NewMessage{ClientMsgID: "k", Text: "hi"})
	if err != nil || !created {
		t.Fatal(err)
	}
	dup, created, err := f.svc.SendMessage(ctx, a, r.ID, chat.NewMessage{ClientMsgID: "k", Text: "hi"})
	if err != nil || created || dup.ID != m.ID {
		t.Fatalf("retry: %+v %v %v", dup, created, err)
	}
	if got := len(f.eventsOf(chat.EventMessageCreated)) - published; got != 1 {
		t.Fatalf("%d MESSAGE_CREATED for one message and its retry", got)
	}
	_, _, err = f.svc.SendMessage(ctx, a, other.ID, chat.NewMessage{ClientMsgID: "k", Text: "hi"})
	wantCode(t, err, "client_msg_id_reused")

	// The published event carries the message as clients receive it.
	evs := f.eventsOf(chat.EventMessageCreated)
	var data chat.MessageCreated
	if err := json.Unmarshal(evs[len(evs)-1].Data, &data); err != nil || data.Message.ID != m.ID || evs[len(evs)-1].RoomID != r.ID {
		t.Fatalf("event %s: %v", evs[len(evs)-1].Data, err)
	}
}

func TestResumeSkipsForeignRooms(t *testing.T) {
	f := newFixture(t, 3)
	ctx := context.Background()
	a, b, c := f.users[0], f.users[1], f.users[2]
	r, _, _ := f.svc.CreateRoom(ctx, a, chat.NewRoom{Type: "direct", MemberIDs: []string{b}})
	for _, s := range []string{"1", "2", "3"} {
		f.svc.SendMessage(ctx, a, r.ID, chat.NewMessage{Text: s})
	}
	got, _, err := f.svc.Resume(ctx, b, map[string]int64{r.ID: 1, "nope": 0})
	if err != nil || len(got) != 2 || got[0].Seq != 2 || got[1].Seq != 3 {
		t.Fatalf("resume: %+v %v", got, err)
	}
	got, _, err = f.svc.Resume(ctx, c, map[string]int64{r.ID: 0})
	if err != nil || len(got) != 0 {
		t.Fatalf("a stranger resumed %d messages (%v)", len(got), err)
	}
}

func TestPresenceEvents(t *testing.T) {
	f := newFixture(t, 2)
	ctx := context.Background()
	a, b := f.users[0], f.users[1]
	f.svc.CreateRoom(ctx, a, chat.NewRoom{Type: "direct", MemberIDs: []string{b}})
	if err := f.svc.Heartbeat(ctx, chat.Heartbeat{UserID: b, SessionID: "s1"}); err != nil {
		t.Fatal(err)
	}
	f.svc.Heartbeat(ctx, chat.Heartbeat{UserID: b, SessionID: "s2"})
	f.svc.Heartbeat(ctx, chat.Heartbeat{UserID: b, SessionID: "s1"})
	f.svc.SessionClosed(ctx, b, "s1")
	if n := len(f.eventsOf(chat.EventPresenceUpdated)); n != 1 {
		t.Fatalf("%d presence events after coming online and closing one of two sessions, want 1", n)
	}
	f.svc.SessionClosed(ctx, b, "s2")
	evs := f.eventsOf(chat.EventPresenceUpdated)
	if len(evs) != 2 {
		t.Fatalf("%d presence events, want 2", len(evs))
	}
	var p chat.Presence
	json.Unmarshal(evs[1].Data, &p)
	if p.UserID != b || p.Status != chat.StatusOffline || len(evs[1].RoomIDs) != 1 {
		t.Fatalf("offline event %+v rooms %v", p, evs[1].RoomIDs)
	}
}

// TestResumeFromZeroReplaysFromTheFirstMessage: "after seq 0" is the room's whole history,
// not its newest page. It once replayed only the newest 100 of 250.
func TestResumeFromZeroReplaysFromTheFirstMessage(t *testing.T) {
	f := newFixture(t, 2)
	ctx := context.Background()
	a, b := f.users[0], f.users[1]
	r, _, _ := f.svc.CreateRoom(ctx, a, chat.NewRoom{Type: "direct", MemberIDs: []string{b}})
	const n = 250
	for i := 0; i < n; i++ {
		if _, _, err := f.svc.SendMessage(ctx, a, r.ID, chat.NewMessage{Text: "m"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, after := range []int64{0, 1} {
		got, complete, err := f.svc.Resume(ctx, b, map[string]int64{r.ID: after})
		if err != nil || !complete {
			t.Fatalf("resume after %d: complete %t, %v", after, complete, err)
		}
		if len(got) != n-int(after) || got[0].Seq != after+1 || got[len(got)-1].Seq != n {
			t.Fatalf("resume after %d: %d messages, seqs %d..%d; want %d..%d",
				after, len(got), got[0].Seq, got[len(got)-1].Seq, after+1, n)
		}
		for i := 1; i < len(got); i++ {
			if got[i].Seq != got[i-1].Seq+1 {
				t.Fatalf("resume after %d: seq %d follows %d", after, got[i].Seq, got[i-1].Seq)
			}
		}
	}
}

// TestResumeIsBoundedInBytes: a replay stops at about MaxResumeBytes (one large message
// always goes, so that a replay makes progress), says it is incomplete, and the rest is
// what history pages from where it stopped.
func TestResumeIsBoundedInBytes(t *testing.T) {
	f := newFixture(t, 2)
	ctx := context.Background()
	a, b := f.users[0], f.users[1]
	svc := f.withConfig(chat.ServiceConfig{MaxResumeBytes: 3000}, nil)
	r, _, _ := svc.CreateRoom(ctx, a, chat.NewRoom{Type: "direct", MemberIDs: []string{b}})
	for i := 0; i < 20; i++ {
		if _, _, err := svc.SendMessage(ctx, a, r.ID, chat.NewMessage{Text: "0123456789"}); err != nil {
			t.Fatal(err)
		}
	}
	got, complete, err := svc.Resume(ctx, b, map[string]int64{r.ID: 0})
	if err != nil || complete {
		t.Fatalf("resume: %d messages, complete %t, %v; want a cut replay", len(got), complete, err)
	}
	if len(got) == 0 || len(got) >= 20 || got[0].Seq != 1 || got[len(got)-1].Seq != int64(len(got)) {
		t.Fatalf("resume: %d messages, seqs %d..%d", len(got), got[0].Seq, got[len(got)-1].Seq)
	}
	rest, _, err := svc.History(ctx, b, r.ID, chat.HistoryQuery{AfterSeq: got[len(got)-1].Seq, Limit: 100})
	if err != nil || len(got)+len(rest) != 20 {
		t.Fatalf("history after the replay: %d more, %v", len(rest), err)
	}
}

// TestRoomsPages walks the room list by cursor: every room once, newest first, and a
// cursor the server did not give is bad input.
func TestRoomsPages(t *testing.T) {
	f := newFixture(t, 2)
	ctx := context.Background()
	a := f.users[0]
	var want []string
	for range 5 {
		r, _, err := f.svc.CreateRoom(ctx, a, chat.NewRoom{Type: "group", Name: "g"})
		if err != nil {
			t.Fatal(err)
		}
		want = append([]string{r.ID}, want...)
	}
	var got []string
	cursor := ""
	for page := 0; ; page++ {
		list, err := f.svc.Rooms(ctx, a, 2, cursor)
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		for _, r := range list.Rooms {
			got = append(got, r.ID)
		}
		if list.NextCursor == nil {
			break
		}
		if page > 5 {
			t.Fatal("pages never end")
		}
		cursor = *list.NextCursor
	}
	if len(got) != len(want) {
		t.Fatalf("paged rooms = %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("paged rooms = %v, want %v", got, want)
		}
	}
	for _, bad := range []string{"x", "!!", "bm90LWEtY3Vyc29y", string(make([]byte, 300))} {
		_, err := f.svc.Rooms(ctx, a, 2, bad)
		wantCode(t, err, "bad_cursor")
	}
	_, err := f.svc.Rooms(ctx, a, -1, "")
	wantCode(t, err, "bad_request")
	// No limit: every room, up to the page maximum, and no cursor after them.
	list, err := f.svc.Rooms(ctx, a, 0, "")
	if err != nil || len(list.Rooms) != 5 || list.NextCursor != nil {
		t.Fatalf("Rooms(no limit) = %d rooms, next %v, %v", len(list.Rooms), list.NextCursor, err)
	}
}

// TestAdminPaging: the admin lists page with an opaque cursor and refuse made-up ones.
func TestAdminPaging(t *testing.T) {
	f := newFixture(t, 5)
	ctx := context.Background()
	boss := f.users[0]
	if _, err := f.svc.AdminUsers(ctx, boss, "", 0, ""); chat.ErrorCode(err) != "not_admin" {
		t.Fatalf("before the grant: %v", err)
	}
	if err := f.store.SetAdmin(ctx, boss, true); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	cursor := ""
	for range 10 {
		list, err := f.svc.AdminUsers(ctx, boss, "user", 2, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range list.Users {
			seen[u.ID] = true
		}
		if list.NextCursor == nil {
			break
		}
		cursor = *list.NextCursor
	}
	if len(seen) != 5 {
		t.Fatalf("paged %d users, want 5", len(seen))
	}
	_, err := f.svc.AdminUsers(ctx, boss, "", 2, "!!")
	wantCode(t, err, "bad_cursor")
	_, err = f.svc.AdminUsers(ctx, boss, "", -1, "")
	wantCode(t, err, "bad_request")
	_, err = f.svc.AuditLog(ctx, boss, 0, "%%")
	wantCode(t, err, "bad_cursor")
	if _, err := f.svc.Suspend(ctx, boss, chat.NewID()); chat.ErrorCode(err) != "user_not_found" {
		t.Errorf("suspending nobody: %v", err)
	}
	// Suspending twice records once.
	for range 2 {
		if _, err := f.svc.Suspend(ctx, boss, f.users[1]); err != nil {
			t.Fatal(err)
		}
	}
	log, err := f.svc.AuditLog(ctx, boss, 0, "")
	if err != nil || len(log.Entries) != 1 || log.Entries[0].Action != chat.AuditSuspend {
		t.Errorf("audit after two suspends = %+v, %v; want one entry", log, err)
	}
}

// TestHeartbeatWithPresenceDownIsUnavailable: a heartbeat while Redis is away (restarting,
// failing over) answers unavailable, which the protocol tells clients to retry, not an
// internal error.
func TestHeartbeatWithPresenceDownIsUnavailable(t *testing.T) {
	f := newFixture(t, 1)
	srv := testenv.StartRedis(t)
	pres := redis.NewPresence(srv.Client(t), redis.PresenceConfig{})
	svc := chat.NewService(chat.ServiceConfig{}, f.store, f.bus, pres)
	ctx := context.Background()
	if err := svc.Heartbeat(ctx, chat.Heartbeat{UserID: f.users[0], SessionID: "s1"}); err != nil {
		t.Fatalf("heartbeat with Redis up: %v", err)
	}
	srv.Stop()
	err := svc.Heartbeat(ctx, chat.Heartbeat{UserID: f.users[0], SessionID: "s1"})
	if chat.ErrorKind(err) != chat.Unavailable || chat.ErrorCode(err) != "unavailable" {
		t.Fatalf("heartbeat with Redis down = %v (kind %v), want unavailable", err, chat.ErrorKind(err))
	}
}
