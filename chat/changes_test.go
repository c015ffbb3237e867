package chat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/chatchat/chatchat/chat"
)

// updates decodes the MESSAGE_UPDATED events published so far.
func (f *fixture) updates(t *testing.T) []chat.Message {
	t.Helper()
	var out []chat.Message
	for _, ev := range f.eventsOf(chat.EventMessageUpdated) {
		var d chat.MessageUpdated
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			t.Fatal(err)
		}
		if ev.Rev != d.Message.Rev || ev.RoomID != d.Message.RoomID {
			t.Fatalf("envelope rev %d room %s, message rev %d room %s", ev.Rev, ev.RoomID, d.Message.Rev, d.Message.RoomID)
		}
		out = append(out, d.Message)
	}
	return out
}

func TestEditMessage(t *testing.T) {
	f := newFixture(t, 3)
	ctx := context.Background()
	a, b, c := f.users[0], f.users[1], f.users[2]
	r, _, _ := f.svc.CreateRoom(ctx, a, chat.NewRoom{Type: "group", MemberIDs: []string{b}})
	m, _, err := f.svc.SendMessage(ctx, a, r.ID, chat.NewMessage{Text: "helo"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.EditMessage(ctx, a, r.ID, m.ID, chat.MessageEdit{Text: " hello ", Mentions: &[]string{b}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != "hello" || got.EditedAt == nil || got.Rev != m.Rev+1 || got.Seq != m.Seq || len(got.Mentions) != 1 || got.UnreadCount != 1 {
		t.Fatalf("edited = %+v", got)
	}
	ups := f.updates(t)
	if len(ups) != 1 || ups[0].Text != "hello" || ups[0].Rev != got.Rev {
		t.Fatalf("MESSAGE_UPDATED = %+v, want the edited message once", ups)
	}
	room, err := f.svc.Room(ctx, b, r.ID)
	if err != nil || room.LastSeq != 1 || room.LastRev != got.Rev || *room.UnreadCount != 1 {
		t.Fatalf("room after edit: %+v, %v; lastSeq and unread counts do not move", room, err)
	}

	_, err = f.svc.EditMessage(ctx, b, r.ID, m.ID, chat.MessageEdit{Text: "mine"})
	wantCode(t, err, "not_sender")
	_, err = f.svc.EditMessage(ctx, c, r.ID, m.ID, chat.MessageEdit{Text: "x"})
	wantCode(t, err, "room_not_found")
	_, err = f.svc.EditMessage(ctx, a, r.ID, "nope", chat.MessageEdit{Text: "x"})
	wantCode(t, err, "message_not_found")
	_, err = f.svc.EditMessage(ctx, a, r.ID, m.ID, chat.MessageEdit{Text: "   "})
	wantCode(t, err, "empty_text")
	_, err = f.svc.EditMessage(ctx, a, r.ID, m.ID, chat.MessageEdit{Text: strings.Repeat("x", 11)})
	wantCode(t, err, "text_too_long")
	_, err = f.svc.EditMessage(ctx, a, r.ID, m.ID, chat.MessageEdit{Text: "x", Mentions: &[]string{c}})
	wantCode(t, err, "bad_mention")
	// Without mentions the message keeps its own.
	got, err = f.svc.EditMessage(ctx, a, r.ID, m.ID, chat.MessageEdit{Text: "hello!"})
	if err != nil || len(got.Mentions) != 1 {
		t.Fatalf("edit without mentions: %+v, %v; want the mention kept", got.Mentions, err)
	}
}

func TestDeleteMessage(t *testing.T) {
	f := newFixture(t, 2)
	ctx := context.Background()
	a, b := f.users[0], f.users[1]
	r, _, _ := f.svc.CreateRoom(ctx, a, chat.NewRoom{Type: "direct", MemberIDs: []string{b}})
	m, _, _ := f.svc.SendMessage(ctx, a, r.ID, chat.NewMessage{Text: "oops"})
	if _, err := f.svc.React(ctx, b, r.ID, m.ID, "👀"); err != nil {
		t.Fatal(err)
	}
	reply, _, err := f.svc.SendMessage(ctx, b, r.ID, chat.NewMessage{Text: "what?", ReplyToID: m.ID})
	if err != nil || reply.ReplyTo == nil || reply.ReplyTo.Text != "oops" {
		t.Fatalf("reply = %+v, %v", reply.ReplyTo, err)
	}
	wantCode(t, f.svc.DeleteMessage(ctx, b, r.ID, m.ID), "not_sender")
	if err := f.svc.DeleteMessage(ctx, a, r.ID, m.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteMessage(ctx, a, r.ID, m.ID); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	ups := f.updates(t)
	if len(ups) != 2 {
		t.Fatalf("%d MESSAGE_UPDATED, want 2 (reaction, delete): deleting twice publishes once", len(ups))
	}
	tomb := ups[1]
	if tomb.DeletedAt == nil || tomb.Text != "" || len(tomb.Reactions) != 0 {
		t.Fatalf("tombstone = %+v", tomb)
	}
	_, err = f.svc.EditMessage(ctx, a, r.ID, m.ID, chat.MessageEdit{Text: "x"})
	wantCode(t, err, "deleted")
	_, err = f.svc.React(ctx, b, r.ID, m.ID, "👍")
	wantCode(t, err, "deleted")
	_, err = f.svc.Pin(ctx, b, r.ID, m.ID)
	wantCode(t, err, "deleted")
	page, _, err := f.svc.History(ctx, b, r.ID, chat.HistoryQuery{})
	if err != nil || len(page) != 2 || page[1].ReplyTo == nil || !page[1].ReplyTo.Deleted || page[1].ReplyTo.Text != "" {
		t.Fatalf("history after delete: %+v, %v; the reply shows its target deleted", page, err)
	}
}

func TestReactions(t *testing.T) {
	f := newFixture(t, 3)
	ctx := context.Background()
	a, b, c := f.users[0], f.users[1], f.users[2]
	r, _, _ := f.svc.CreateRoom(ctx, a, chat.NewRoom{Type: "group", MemberIDs: []string{b}})
	m, _, _ := f.svc.SendMessage(ctx, a, r.ID, chat.NewMessage{Text: "poll"})
	for _, bad := range []string{"", "a b", "x\n", strings.Repeat("x", 33), "\xff"} {
		_, err := f.svc.React(ctx, b, r.ID, m.ID, bad)
		wantCode(t, err, "bad_emoji")
	}
	if _, err := f.svc.React(ctx, b, r.ID, m.ID, strings.Repeat("x", 32)); err != nil {
		t.Fatalf("a 32-byte emoji: %v", err)
	}
	got, err := f.svc.React(ctx, b, r.ID, m.ID, "👍")
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.svc.React(ctx, b, r.ID, m.ID, "👍")
	if err != nil || again.Rev != got.Rev {
		t.Fatalf("reacting twice: rev %d → %d, %v", got.Rev, again.Rev, err)
	}
	if n := len(f.updates(t)); n != 2 {
		t.Fatalf("%d MESSAGE_UPDATED, want 2: a repeated reaction publishes nothing", n)
	}
	_, err = f.svc.React(ctx, c, r.ID, m.ID, "👍")
	wantCode(t, err, "room_not_found")
	for i := 2; i < chat.MaxEmoji; i++ {
		if _, err := f.svc.React(ctx, a, r.ID, m.ID, fmt.Sprint("e", i)); err != nil {
			t.Fatal(err)
		}
	}
	_, err = f.svc.React(ctx, a, r.ID, m.ID, "one-too-many")
	wantCode(t, err, "too_many_reactions")
	got, err = f.svc.Unreact(ctx, b, r.ID, m.ID, "👍")
	if err != nil || len(got.Reactions) != chat.MaxEmoji-1 {
		t.Fatalf("unreact: %d emoji, %v", len(got.Reactions), err)
	}
	if _, err := f.svc.Unreact(ctx, b, r.ID, m.ID, "👍"); err != nil {
		t.Fatalf("unreacting twice: %v", err)
	}
}

func TestPins(t *testing.T) {
	f := newFixture(t, 3)
	ctx := context.Background()
	a, b, c := f.users[0], f.users[1], f.users[2]
	direct, _, _ := f.svc.CreateRoom(ctx, a, chat.NewRoom{Type: "direct", MemberIDs: []string{b}})
	group, _, _ := f.svc.CreateRoom(ctx, a, chat.NewRoom{Type: "group", MemberIDs: []string{b, c}})
	gm, _, _ := f.svc.SendMessage(ctx, a, group.ID, chat.NewMessage{Text: "rules"})
	_, err := f.svc.Pin(ctx, b, group.ID, gm.ID)
	wantCode(t, err, "forbidden") // a member of a group; its owner or admins may
	if _, err := f.svc.Pin(ctx, a, group.ID, gm.ID); err != nil {
		t.Fatalf("the group's owner pins: %v", err)
	}
	var ids []string
	for i := range chat.MaxPins + 1 {
		m, _, err := f.svc.SendMessage(ctx, a, direct.ID, chat.NewMessage{Text: fmt.Sprint("m", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	for i := range chat.MaxPins {
		p, err := f.svc.Pin(ctx, b, direct.ID, ids[i])
		if err != nil || p.PinnedBy != b || p.PinnedAt == nil {
			t.Fatalf("pin %d: %+v, %v", i, p, err)
		}
	}
	_, err = f.svc.Pin(ctx, a, direct.ID, ids[chat.MaxPins])
	wantCode(t, err, "too_many_pins")
	pins, err := f.svc.Pins(ctx, a, direct.ID)
	if err != nil || len(pins) != chat.MaxPins {
		t.Fatalf("Pins: %d, %v", len(pins), err)
	}
	_, err = f.svc.Pins(ctx, c, direct.ID)
	wantCode(t, err, "room_not_found")
	if _, err := f.svc.Unpin(ctx, a, direct.ID, ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Pin(ctx, a, direct.ID, ids[chat.MaxPins]); err != nil {
		t.Fatalf("pin after an unpin: %v", err)
	}
	pins, _ = f.svc.Pins(ctx, a, direct.ID)
	if pins[0].ID != ids[chat.MaxPins] {
		t.Fatalf("Pins[0] = %s, want the most recently pinned", pins[0].Text)
	}
}

func TestRepliesAndMentions(t *testing.T) {
	f := newFixture(t, 3)
	ctx := context.Background()
	a, b, c := f.users[0], f.users[1], f.users[2]
	r, _, _ := f.svc.CreateRoom(ctx, a, chat.NewRoom{Type: "group", MemberIDs: []string{b}})
	other, _, _ := f.svc.CreateRoom(ctx, a, chat.NewRoom{Type: "group", MemberIDs: []string{c}})
	elsewhere, _, _ := f.svc.SendMessage(ctx, a, other.ID, chat.NewMessage{Text: "there"})
	_, _, err := f.svc.SendMessage(ctx, a, r.ID, chat.NewMessage{Text: "x", ReplyToID: elsewhere.ID})
	wantCode(t, err, "bad_reply")
	_, _, err = f.svc.SendMessage(ctx, a, r.ID, chat.NewMessage{Text: "x", ReplyToID: "nope"})
	wantCode(t, err, "bad_reply")
	_, _, err = f.svc.SendMessage(ctx, a, r.ID, chat.NewMessage{Text: "x", Mentions: []string{c}})
	wantCode(t, err, "bad_mention")
	many := []string{b}
	for i := range chat.MaxMentions {
		many = append(many, fmt.Sprint("user", i))
	}
	_, _, err = f.svc.SendMessage(ctx, a, r.ID, chat.NewMessage{Text: "x", Mentions: many})
	wantCode(t, err, "bad_mention")
	if !strings.Contains(chat.ErrorMessage(err), "at most 50") {
		t.Fatalf("%d mentions: %v; want the limit named", len(many), err)
	}
	m, _, err := f.svc.SendMessage(ctx, a, r.ID, chat.NewMessage{Text: "hi @b", Mentions: []string{b, b}})
	if err != nil || len(m.Mentions) != 1 || m.Mentions[0] != b {
		t.Fatalf("mentions = %v, %v; want [b] once", m.Mentions, err)
	}
}

func TestChangesAndReplay(t *testing.T) {
	f := newFixture(t, 3)
	ctx := context.Background()
	a, b, c := f.users[0], f.users[1], f.users[2]
	r, _, _ := f.svc.CreateRoom(ctx, a, chat.NewRoom{Type: "group", MemberIDs: []string{b}})
	var msgs []chat.Message
	for i := range 4 {
		m, _, _ := f.svc.SendMessage(ctx, a, r.ID, chat.NewMessage{Text: fmt.Sprint("m", i)})
		msgs = append(msgs, m)
	}
	// b has seen messages 1–3 at revs up to 3; then m1 is edited and m0 reacted to.
	f.svc.EditMessage(ctx, a, r.ID, msgs[1].ID, chat.MessageEdit{Text: "m1!"})
	f.svc.React(ctx, b, r.ID, msgs[0].ID, "👍")
	f.svc.EditMessage(ctx, a, r.ID, msgs[3].ID, chat.MessageEdit{Text: "m3!"}) // m3 is new to b anyway

	page, err := f.svc.Changes(ctx, b, r.ID, 3, 0)
	if err != nil || page.HasMore || page.LastRev != 7 || len(page.Messages) != 3 {
		t.Fatalf("Changes = %+v, %v; want m1 (rev 5), m0 (6), m3 (7), lastRev 7", page, err)
	}
	if page.Messages[0].ID != msgs[1].ID || page.Messages[1].ID != msgs[0].ID || page.Messages[2].ID != msgs[3].ID {
		t.Fatalf("Changes order = %v", page.Messages)
	}
	page, err = f.svc.Changes(ctx, b, r.ID, 0, 2)
	if err != nil || !page.HasMore || len(page.Messages) != 2 {
		t.Fatalf("Changes limit 2 = %d, more %v, %v", len(page.Messages), page.HasMore, err)
	}
	for _, bad := range []struct {
		after int64
		limit int
	}{{-1, 10}, {0, chat.MaxChangesPage + 1}, {0, -1}} {
		_, err := f.svc.Changes(ctx, b, r.ID, bad.after, bad.limit)
		wantCode(t, err, "bad_request")
	}
	_, err = f.svc.Changes(ctx, c, r.ID, 0, 10)
	wantCode(t, err, "room_not_found")

	rp, err := f.svc.Replay(ctx, b, chat.ResumeRequest{Rooms: map[string]int64{r.ID: 3}, Revs: map[string]int64{r.ID: 3}})
	if err != nil || !rp.Complete {
		t.Fatalf("Replay: %+v, %v", rp, err)
	}
	if len(rp.Created) != 1 || rp.Created[0].ID != msgs[3].ID || rp.Created[0].Text != "m3!" {
		t.Fatalf("Replay.Created = %+v; want m3 in its current state", rp.Created)
	}
	if len(rp.Updated) != 2 || rp.Updated[0].Text != "m1!" || len(rp.Updated[1].Reactions) != 1 {
		t.Fatalf("Replay.Updated = %+v; want m1 then m0", rp.Updated)
	}
	if rp.Revs[r.ID] != 7 {
		t.Fatalf("Replay.Revs = %v, want %s: 7", rp.Revs, r.ID)
	}
	// Cut by the budget: one message a replay.
	small := f.withConfig(chat.ServiceConfig{MaxResumeCount: 2}, nil)
	rp, err = small.Replay(ctx, b, chat.ResumeRequest{Rooms: map[string]int64{r.ID: 3}, Revs: map[string]int64{r.ID: 3}})
	if err != nil || rp.Complete || len(rp.Created) != 1 || len(rp.Updated) != 1 || rp.Revs[r.ID] != 5 {
		t.Fatalf("cut Replay: created %d updated %d revs %v complete %v, %v; want 1, 1, rev 5, incomplete", len(rp.Created), len(rp.Updated), rp.Revs, rp.Complete, err)
	}
}

// TestRelayChanges: a change stored while the bus is down stays pending and the relay
// publishes it.
func TestRelayChanges(t *testing.T) {
	f := newFixture(t, 2)
	ctx := context.Background()
	a, b := f.users[0], f.users[1]
	r, _, _ := f.svc.CreateRoom(ctx, a, chat.NewRoom{Type: "direct", MemberIDs: []string{b}})
	m, _, _ := f.svc.SendMessage(ctx, a, r.ID, chat.NewMessage{Text: "x"})
	bus := &flakyBus{Bus: f.bus}
	svc := f.withConfig(chat.ServiceConfig{}, bus)
	bus.down.Store(true)
	if _, err := svc.React(ctx, b, r.ID, m.ID, "🔥"); err != nil {
		t.Fatal(err)
	}
	if n, err := svc.RelayChanges(ctx, 0, 10); err == nil || n != 0 {
		t.Fatalf("relay with the bus down: %d, %v", n, err)
	}
	bus.down.Store(false)
	if n, err := svc.RelayChanges(ctx, 0, 10); err != nil || n != 1 {
		t.Fatalf("relay: %d, %v; want 1", n, err)
	}
	if ups := f.updates(t); len(ups) != 1 || len(ups[0].Reactions) != 1 {
		t.Fatalf("relayed MESSAGE_UPDATED = %+v", ups)
	}
	if n, err := svc.RelayChanges(ctx, 0, 10); err != nil || n != 0 {
		t.Fatalf("second relay pass: %d, %v", n, err)
	}
}

// TestMentionCount: a room's mentionCount is the caller's unread, not deleted mentions.
func TestMentionCount(t *testing.T) {
	f := newFixture(t, 3)
	ctx := context.Background()
	a, b, c := f.users[0], f.users[1], f.users[2]
	r, _, _ := f.svc.CreateRoom(ctx, a, chat.NewRoom{Type: "group", MemberIDs: []string{b, c}})
	f.svc.SendMessage(ctx, a, r.ID, chat.NewMessage{Text: "hi @b", Mentions: []string{b}})
	m2, _, _ := f.svc.SendMessage(ctx, a, r.ID, chat.NewMessage{Text: "hi all", Mentions: []string{b, c}})
	f.svc.SendMessage(ctx, a, r.ID, chat.NewMessage{Text: "plain"})
	count := func(user string) (list, one int64) {
		t.Helper()
		page, err := f.svc.Rooms(ctx, user, 0, "")
		rooms := page.Rooms
		if err != nil || len(rooms) != 1 || rooms[0].MentionCount == nil {
			t.Fatalf("Rooms: %+v, %v", rooms, err)
		}
		room, err := f.svc.Room(ctx, user, r.ID)
		if err != nil || room.MentionCount == nil {
			t.Fatalf("Room: %+v, %v", room, err)
		}
		return *rooms[0].MentionCount, *room.MentionCount
	}
	if l, o := count(b); l != 2 || o != 2 {
		t.Fatalf("b's mentionCount = %d / %d, want 2", l, o)
	}
	if _, err := f.svc.MarkRead(ctx, b, r.ID, 1); err != nil {
		t.Fatal(err)
	}
	if l, o := count(b); l != 1 || o != 1 {
		t.Fatalf("b's mentionCount after reading the first = %d / %d, want 1", l, o)
	}
	if err := f.svc.DeleteMessage(ctx, a, r.ID, m2.ID); err != nil {
		t.Fatal(err)
	}
	if l, o := count(b); l != 0 || o != 0 {
		t.Fatalf("b's mentionCount after the delete = %d / %d, want 0", l, o)
	}
	if l, o := count(a); l != 0 || o != 0 {
		t.Fatalf("a's mentionCount = %d / %d, want 0", l, o)
	}
}

// jobQueue records the push jobs queued.
type jobQueue struct {
	mu   sync.Mutex
	jobs []chat.PushJob
}

func (q *jobQueue) Enqueue(_ context.Context, j chat.PushJob) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.jobs = append(q.jobs, j)
	return nil
}

// TestEditPushesNewMentions: an edit queues a push for the members it newly mentions only.
func TestEditPushesNewMentions(t *testing.T) {
	f := newFixture(t, 3)
	ctx := context.Background()
	a, b, c := f.users[0], f.users[1], f.users[2]
	q := &jobQueue{}
	f.svc.SetPushQueue(q)
	r, _, _ := f.svc.CreateRoom(ctx, a, chat.NewRoom{Type: "group", MemberIDs: []string{b, c}})
	m, _, _ := f.svc.SendMessage(ctx, a, r.ID, chat.NewMessage{Text: "hi @b", Mentions: []string{b}})
	if _, err := f.svc.EditMessage(ctx, a, r.ID, m.ID, chat.MessageEdit{Text: "hi @b @c", Mentions: &[]string{b, c}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.EditMessage(ctx, a, r.ID, m.ID, chat.MessageEdit{Text: "hi @b @c!"}); err != nil {
		t.Fatal(err)
	}
	if len(q.jobs) != 2 || len(q.jobs[0].UserIDs) != 0 || fmt.Sprint(q.jobs[1].UserIDs) != fmt.Sprint([]string{c}) {
		t.Fatalf("push jobs = %+v; want the send's, then one for c only", q.jobs)
	}
}
