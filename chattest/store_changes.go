package chattest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/chatchat/chatchat/chat"
)

// TestMessageChangeStore runs the contract of chat.MessageChangeStore.
func TestMessageChangeStore(t *testing.T, newStore func(t *testing.T) chat.Store) {
	runStoreCases(t, newStore, []storeCase{
		{"RevOnCreate", testRevOnCreate},
		{"Edit", testChangeEdit},
		{"Delete", testChangeDelete},
		{"Reactions", testChangeReactions},
		{"ReactionLimit", testChangeReactionLimit},
		{"Pins", testChangePins},
		{"Changes", testChanges},
		{"OtherRoomNotFound", testChangeOtherRoom},
		{"Pending", testChangePending},
		{"Reply", testChangeReply},
		{"ConcurrentChanges", testConcurrentChanges},
		{"ConcurrentReactions", testConcurrentReactions},
	})
}

func change(tb testing.TB, s chat.Store, c chat.Change) (chat.Message, bool) {
	tb.Helper()
	if c.At.IsZero() {
		c.At = storeAt(30)
	}
	if c.MaxEmoji == 0 {
		c.MaxEmoji = 20
	}
	if c.MaxPins == 0 {
		c.MaxPins = 50
	}
	m, changed, err := s.ChangeMessage(tb.Context(), c)
	if err != nil {
		tb.Fatalf("ChangeMessage(%+v): %v", c, err)
	}
	return m, changed
}

func wantCode(tb testing.TB, what string, err error, code string) {
	tb.Helper()
	if chat.ErrorCode(err) != code {
		tb.Fatalf("%s: error %v, want code %s", what, err, code)
	}
}

func storeRoomRev(tb testing.TB, s chat.Store, roomID string) int64 {
	tb.Helper()
	r, err := s.Room(tb.Context(), roomID)
	if err != nil {
		tb.Fatalf("Room: %v", err)
	}
	return r.LastRev
}

func testRevOnCreate(t *testing.T, s chat.Store) {
	a, b := storeUser(t, s, "ann"), storeUser(t, s, "bob")
	r := storeRoom(t, s, storeEpoch, a, b)
	if rev := storeRoomRev(t, s, r.ID); rev != 0 {
		t.Fatalf("new room's lastRev = %d, want 0", rev)
	}
	m1 := storeSend(t, s, r.ID, a, "one", storeAt(1))
	m2 := storeSend(t, s, r.ID, b, "two", storeAt(2))
	if m1.Rev != 1 || m2.Rev != 2 {
		t.Fatalf("revs of two new messages = %d, %d; want 1, 2", m1.Rev, m2.Rev)
	}
	if rev := storeRoomRev(t, s, r.ID); rev != 2 {
		t.Fatalf("room's lastRev = %d, want 2", rev)
	}
	page, _, err := s.Messages(t.Context(), r.ID, chat.HistoryQuery{Limit: 10})
	if err != nil || len(page) != 2 || page[0].Rev != 1 || page[1].Rev != 2 {
		t.Fatalf("Messages = %+v, %v; want revs 1, 2", page, err)
	}
}

func testChangeEdit(t *testing.T, s chat.Store) {
	a, b := storeUser(t, s, "ann"), storeUser(t, s, "bob")
	r := storeRoom(t, s, storeEpoch, a, b)
	m := storeSend(t, s, r.ID, a, "helo", storeAt(1))
	storeSend(t, s, r.ID, b, "after", storeAt(2))
	got, changed := change(t, s, chat.Change{Kind: chat.ChangeEdit, RoomID: r.ID, MessageID: m.ID, Text: "hello", Mentions: []string{b.ID}, At: storeAt(5)})
	if !changed || got.Text != "hello" || got.Rev != 3 || got.EditedAt == nil || !got.EditedAt.Equal(storeAt(5)) {
		t.Fatalf("edit = %+v (changed %v); want text hello, rev 3, editedAt", got, changed)
	}
	if !slices.Equal(got.Mentions, []string{b.ID}) {
		t.Fatalf("edit's mentions = %v, want [%s]", got.Mentions, b.ID)
	}
	room, err := s.Room(t.Context(), r.ID)
	if err != nil || room.LastSeq != 2 || room.LastRev != 3 {
		t.Fatalf("room after an edit: lastSeq %d lastRev %d (%v); want 2 and 3: a change never moves lastSeq", room.LastSeq, room.LastRev, err)
	}
	again, err := s.Message(t.Context(), r.ID, m.ID)
	if err != nil || again.Text != "hello" || again.Rev != 3 || again.Seq != m.Seq {
		t.Fatalf("Message after edit = %+v, %v", again, err)
	}
}

func testChangeDelete(t *testing.T, s chat.Store) {
	a, b := storeUser(t, s, "ann"), storeUser(t, s, "bob")
	r := storeRoom(t, s, storeEpoch, a, b)
	m := storeSend(t, s, r.ID, a, "oops", storeAt(1))
	change(t, s, chat.Change{Kind: chat.ChangeReact, RoomID: r.ID, MessageID: m.ID, UserID: b.ID, Emoji: "👍"})
	change(t, s, chat.Change{Kind: chat.ChangePin, RoomID: r.ID, MessageID: m.ID, UserID: b.ID})
	got, changed := change(t, s, chat.Change{Kind: chat.ChangeDelete, RoomID: r.ID, MessageID: m.ID, At: storeAt(6)})
	if !changed || got.DeletedAt == nil || got.Text != "" || len(got.Reactions) != 0 || got.PinnedAt != nil || got.PinnedBy != "" {
		t.Fatalf("deleted message = %+v; want a tombstone", got)
	}
	if got.ID != m.ID || got.Seq != m.Seq || got.SenderID != a.ID || got.Type != chat.MessageText || !got.CreatedAt.Equal(m.CreatedAt.Time) || got.Rev != 4 {
		t.Fatalf("tombstone = %+v; want id, seq, sender, type, createdAt kept and rev 4", got)
	}
	if _, changed := change(t, s, chat.Change{Kind: chat.ChangeDelete, RoomID: r.ID, MessageID: m.ID}); changed {
		t.Fatal("second delete changed the message")
	}
	if rev := storeRoomRev(t, s, r.ID); rev != 4 {
		t.Fatalf("lastRev after a second delete = %d, want 4 (no rev taken)", rev)
	}
	for _, k := range []chat.ChangeKind{chat.ChangeEdit, chat.ChangeReact, chat.ChangePin} {
		_, _, err := s.ChangeMessage(t.Context(), chat.Change{Kind: k, RoomID: r.ID, MessageID: m.ID, UserID: b.ID, Text: "x", Emoji: "x", At: storeAt(7), MaxEmoji: 20, MaxPins: 50})
		wantCode(t, fmt.Sprint("change ", k, " of a deleted message"), err, "deleted")
		if !errors.Is(err, chat.ErrMessageDeleted) {
			t.Fatalf("change %d of a deleted message: %v, want ErrMessageDeleted", k, err)
		}
	}
	pins, err := s.Pins(t.Context(), r.ID)
	if err != nil || len(pins) != 0 {
		t.Fatalf("Pins after deleting the pinned message = %d, %v; want none", len(pins), err)
	}
}

func testChangeReactions(t *testing.T, s chat.Store) {
	a, b, c := storeUser(t, s, "ann"), storeUser(t, s, "bob"), storeUser(t, s, "cid")
	r := storeRoom(t, s, storeEpoch, a, b, c)
	m := storeSend(t, s, r.ID, a, "news", storeAt(1))
	react := func(u chat.User, emoji string) (chat.Message, bool) {
		return change(t, s, chat.Change{Kind: chat.ChangeReact, RoomID: r.ID, MessageID: m.ID, UserID: u.ID, Emoji: emoji})
	}
	react(b, "🎉")
	react(a, "👍")
	got, changed := react(c, "🎉")
	if !changed {
		t.Fatal("a new reaction changed nothing")
	}
	want := []chat.Reaction{{Emoji: "🎉", Count: 2, UserIDs: []string{b.ID, c.ID}}, {Emoji: "👍", Count: 1, UserIDs: []string{a.ID}}}
	sameReactions(t, "reactions", got.Reactions, want)
	rev := got.Rev
	again, changed := react(c, "🎉")
	if changed || again.Rev != rev {
		t.Fatalf("reacting twice: changed %v, rev %d → %d; want no change", changed, rev, again.Rev)
	}
	got, changed = change(t, s, chat.Change{Kind: chat.ChangeUnreact, RoomID: r.ID, MessageID: m.ID, UserID: b.ID, Emoji: "🎉"})
	if !changed || got.Rev != rev+1 {
		t.Fatalf("unreact: changed %v rev %d, want a change at rev %d", changed, got.Rev, rev+1)
	}
	// The order is of the reactions there now: 🎉's first use went with bob's.
	sameReactions(t, "after unreact", got.Reactions, []chat.Reaction{want[1], {Emoji: "🎉", Count: 1, UserIDs: []string{c.ID}}})
	if _, changed := change(t, s, chat.Change{Kind: chat.ChangeUnreact, RoomID: r.ID, MessageID: m.ID, UserID: b.ID, Emoji: "🎉"}); changed {
		t.Fatal("unreacting twice changed the message")
	}
	page, _, err := s.Messages(t.Context(), r.ID, chat.HistoryQuery{Limit: 10})
	if err != nil || len(page) != 1 {
		t.Fatalf("Messages: %v", err)
	}
	sameReactions(t, "reactions in a history page", page[0].Reactions, got.Reactions)
}

func sameReactions(tb testing.TB, what string, got, want []chat.Reaction) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("%s = %+v, want %+v", what, got, want)
	}
	for i := range got {
		if got[i].Emoji != want[i].Emoji || got[i].Count != want[i].Count || !slices.Equal(got[i].UserIDs, want[i].UserIDs) {
			tb.Fatalf("%s = %+v, want %+v", what, got, want)
		}
	}
}

func testChangeReactionLimit(t *testing.T, s chat.Store) {
	a, b := storeUser(t, s, "ann"), storeUser(t, s, "bob")
	r := storeRoom(t, s, storeEpoch, a, b)
	m := storeSend(t, s, r.ID, a, "vote", storeAt(1))
	for i := range 3 {
		change(t, s, chat.Change{Kind: chat.ChangeReact, RoomID: r.ID, MessageID: m.ID, UserID: a.ID, Emoji: fmt.Sprint("e", i), MaxEmoji: 3})
	}
	_, _, err := s.ChangeMessage(t.Context(), chat.Change{Kind: chat.ChangeReact, RoomID: r.ID, MessageID: m.ID, UserID: b.ID, Emoji: "e3", At: storeAt(2), MaxEmoji: 3})
	wantCode(t, "a fourth emoji of three allowed", err, "too_many_reactions")
	// An emoji already there is no new one.
	got, changed := change(t, s, chat.Change{Kind: chat.ChangeReact, RoomID: r.ID, MessageID: m.ID, UserID: b.ID, Emoji: "e0", MaxEmoji: 3})
	if !changed || got.Reactions[0].Count != 2 {
		t.Fatalf("joining an emoji at the limit: %+v, changed %v", got.Reactions, changed)
	}
}

func testChangePins(t *testing.T, s chat.Store) {
	a, b := storeUser(t, s, "ann"), storeUser(t, s, "bob")
	r := storeRoom(t, s, storeEpoch, a, b)
	var msgs []chat.Message
	for i := range 3 {
		msgs = append(msgs, storeSend(t, s, r.ID, a, fmt.Sprint("m", i), storeAt(i)))
	}
	pin := func(m chat.Message, at int) (chat.Message, bool) {
		return change(t, s, chat.Change{Kind: chat.ChangePin, RoomID: r.ID, MessageID: m.ID, UserID: b.ID, At: storeAt(at), MaxPins: 2})
	}
	got, changed := pin(msgs[1], 10)
	if !changed || got.PinnedAt == nil || !got.PinnedAt.Equal(storeAt(10)) || got.PinnedBy != b.ID {
		t.Fatalf("pin = %+v, changed %v", got, changed)
	}
	if _, changed := pin(msgs[1], 11); changed {
		t.Fatal("pinning twice changed the message")
	}
	pin(msgs[0], 12)
	_, _, err := s.ChangeMessage(t.Context(), chat.Change{Kind: chat.ChangePin, RoomID: r.ID, MessageID: msgs[2].ID, UserID: b.ID, At: storeAt(13), MaxPins: 2})
	wantCode(t, "a third pin of two allowed", err, "too_many_pins")
	pins, err := s.Pins(t.Context(), r.ID)
	if err != nil || len(pins) != 2 || pins[0].ID != msgs[0].ID || pins[1].ID != msgs[1].ID {
		t.Fatalf("Pins = %v, %v; want m0 then m1 (most recently pinned first)", msgSeqs(pins), err)
	}
	got, changed = change(t, s, chat.Change{Kind: chat.ChangeUnpin, RoomID: r.ID, MessageID: msgs[1].ID})
	if !changed || got.PinnedAt != nil || got.PinnedBy != "" {
		t.Fatalf("unpin = %+v, changed %v", got, changed)
	}
	if _, changed := change(t, s, chat.Change{Kind: chat.ChangeUnpin, RoomID: r.ID, MessageID: msgs[1].ID}); changed {
		t.Fatal("unpinning twice changed the message")
	}
	pin(msgs[2], 14) // room under the limit again
}

func testChanges(t *testing.T, s chat.Store) {
	ctx := t.Context()
	a, b := storeUser(t, s, "ann"), storeUser(t, s, "bob")
	r := storeRoom(t, s, storeEpoch, a, b)
	other := storeRoom(t, s, storeEpoch, a, b)
	var msgs []chat.Message
	for i := range 4 {
		msgs = append(msgs, storeSend(t, s, r.ID, a, fmt.Sprint("m", i), storeAt(i))) // revs 1–4
	}
	storeSend(t, s, other.ID, a, "elsewhere", storeAt(5))
	change(t, s, chat.Change{Kind: chat.ChangeEdit, RoomID: r.ID, MessageID: msgs[0].ID, Text: "m0 edited"})         // rev 5
	change(t, s, chat.Change{Kind: chat.ChangeReact, RoomID: r.ID, MessageID: msgs[2].ID, UserID: b.ID, Emoji: "x"}) // rev 6
	got, more, err := s.Changes(ctx, r.ID, 2, 10)
	if err != nil || more {
		t.Fatalf("Changes after 2: more %v, %v", more, err)
	}
	var ids []string
	var revs []int64
	for _, m := range got {
		ids, revs = append(ids, m.ID), append(revs, m.Rev)
	}
	if !slices.Equal(revs, []int64{4, 5, 6}) || !slices.Equal(ids, []string{msgs[3].ID, msgs[0].ID, msgs[2].ID}) {
		t.Fatalf("Changes after rev 2 = revs %v; want m3 (4), m0 (5), m2 (6)", revs)
	}
	if got[1].Text != "m0 edited" || len(got[2].Reactions) != 1 {
		t.Fatalf("Changes carry the current state: %+v", got)
	}
	page, more, err := s.Changes(ctx, r.ID, 0, 2)
	if err != nil || !more || len(page) != 2 || page[0].Rev != 2 || page[1].Rev != 4 {
		t.Fatalf("Changes(0, limit 2) = %v, more %v, %v; want revs 2 and 4 (m0 and m2 moved on) with more", len(page), more, err)
	}
	if page, more, err := s.Changes(ctx, r.ID, 6, 10); err != nil || more || len(page) != 0 {
		t.Fatalf("Changes after the last rev = %d, more %v, %v; want none", len(page), more, err)
	}
}

func testChangeOtherRoom(t *testing.T, s chat.Store) {
	a, b := storeUser(t, s, "ann"), storeUser(t, s, "bob")
	r := storeRoom(t, s, storeEpoch, a, b)
	other := storeRoom(t, s, storeEpoch, a, b)
	m := storeSend(t, s, r.ID, a, "here", storeAt(1))
	_, _, err := s.ChangeMessage(t.Context(), chat.Change{Kind: chat.ChangeEdit, RoomID: other.ID, MessageID: m.ID, Text: "x", At: storeAt(2)})
	wantNotFound(t, "edit through another room", err)
	_, err = s.Message(t.Context(), other.ID, m.ID)
	wantNotFound(t, "Message through another room", err)
	_, _, err = s.ChangeMessage(t.Context(), chat.Change{Kind: chat.ChangeEdit, RoomID: r.ID, MessageID: chat.NewID(), Text: "x", At: storeAt(2)})
	wantNotFound(t, "edit of an unknown message", err)
}

func testChangePending(t *testing.T, s chat.Store) {
	ctx := t.Context()
	a, b := storeUser(t, s, "ann"), storeUser(t, s, "bob")
	r := storeRoom(t, s, storeEpoch, a, b)
	m := storeSend(t, s, r.ID, a, "x", storeAt(1))
	if p, err := s.PendingChanges(ctx, storeAt(100), 10); err != nil || len(p) != 0 {
		t.Fatalf("PendingChanges before any change = %d, %v", len(p), err)
	}
	e1, _ := change(t, s, chat.Change{Kind: chat.ChangeEdit, RoomID: r.ID, MessageID: m.ID, Text: "y", At: storeAt(5)})
	if p, err := s.PendingChanges(ctx, storeAt(4), 10); err != nil || len(p) != 0 {
		t.Fatalf("PendingChanges before the change's time = %d, %v; want none", len(p), err)
	}
	p, err := s.PendingChanges(ctx, storeAt(5), 10)
	if err != nil || len(p) != 1 || p[0].ID != m.ID || p[0].Rev != e1.Rev || p[0].Text != "y" {
		t.Fatalf("PendingChanges = %+v, %v; want the edited message", p, err)
	}
	e2, _ := change(t, s, chat.Change{Kind: chat.ChangeEdit, RoomID: r.ID, MessageID: m.ID, Text: "z", At: storeAt(6)})
	// Publishing the first edit does not settle the second.
	if err := s.MarkChangePublished(ctx, r.ID, m.ID, e1.Rev); err != nil {
		t.Fatalf("MarkChangePublished: %v", err)
	}
	if p, _ := s.PendingChanges(ctx, storeAt(100), 10); len(p) != 1 {
		t.Fatalf("PendingChanges after publishing an older rev = %d, want 1", len(p))
	}
	if err := s.MarkChangePublished(ctx, r.ID, m.ID, e2.Rev); err != nil {
		t.Fatalf("MarkChangePublished: %v", err)
	}
	if p, _ := s.PendingChanges(ctx, storeAt(100), 10); len(p) != 0 {
		t.Fatalf("PendingChanges after publishing = %d, want 0", len(p))
	}
	if err := s.MarkChangePublished(ctx, r.ID, m.ID, e2.Rev); err != nil {
		t.Fatalf("MarkChangePublished twice: %v", err)
	}
}

func testChangeReply(t *testing.T, s chat.Store) {
	ctx := t.Context()
	a, b := storeUser(t, s, "ann"), storeUser(t, s, "bob")
	r := storeRoom(t, s, storeEpoch, a, b)
	long := strings.Repeat("가", 250)
	target := storeSend(t, s, r.ID, a, long, storeAt(1))
	in := storeMessage(r.ID, b, "re", storeAt(2))
	in.ReplyToID = target.ID
	in.Mentions = []string{a.ID}
	reply, created, err := s.CreateMessage(ctx, in, nil)
	if err != nil || !created {
		t.Fatalf("CreateMessage(reply): %v", err)
	}
	if !slices.Equal(reply.Mentions, []string{a.ID}) {
		t.Fatalf("created reply's mentions = %v", reply.Mentions)
	}
	page, _, err := s.Messages(ctx, r.ID, chat.HistoryQuery{Limit: 10})
	if err != nil || len(page) != 2 {
		t.Fatalf("Messages: %d, %v", len(page), err)
	}
	rt := page[1].ReplyTo
	if rt == nil || rt.ID != target.ID || rt.Seq != target.Seq || rt.SenderID != a.ID || rt.Type != chat.MessageText ||
		rt.Text != strings.Repeat("가", 200) || rt.Deleted {
		t.Fatalf("replyTo = %+v; want the target with its text cut to 200 characters", rt)
	}
	if !slices.Equal(page[1].Mentions, []string{a.ID}) {
		t.Fatalf("mentions in history = %v", page[1].Mentions)
	}
	change(t, s, chat.Change{Kind: chat.ChangeDelete, RoomID: r.ID, MessageID: target.ID})
	got, err := s.Message(ctx, r.ID, reply.ID)
	if err != nil || got.ReplyTo == nil || !got.ReplyTo.Deleted || got.ReplyTo.Text != "" {
		t.Fatalf("replyTo after the target's delete = %+v, %v; want deleted, no text", got.ReplyTo, err)
	}
}

// testConcurrentChanges: edits and reactions on one message from many goroutines each take
// a rev of their own, and the message ends as the change with the highest rev left it.
func testConcurrentChanges(t *testing.T, s chat.Store) {
	a := storeUser(t, s, "ann")
	users := storeUsers(t, s, 8)
	r := storeRoom(t, s, storeEpoch, append(users, a)...)
	m := storeSend(t, s, r.ID, a, "v0", storeAt(1))
	const workers, each = 8, 5
	type result struct {
		rev  int64
		text string
	}
	var (
		mu   sync.Mutex
		res  []result
		wg   sync.WaitGroup
		errs = make(chan error, workers*each*2)
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				text := fmt.Sprintf("w%d-%d", w, i)
				got, changed, err := s.ChangeMessage(t.Context(), chat.Change{Kind: chat.ChangeEdit, RoomID: r.ID, MessageID: m.ID, Text: text, At: storeAt(2), MaxEmoji: 20})
				if err != nil || !changed {
					errs <- fmt.Errorf("edit %s: changed %v, %w", text, changed, err)
					return
				}
				_, changed, err = s.ChangeMessage(t.Context(), chat.Change{Kind: chat.ChangeReact, RoomID: r.ID, MessageID: m.ID, UserID: users[w].ID, Emoji: fmt.Sprint("e", i), At: storeAt(2), MaxEmoji: 20})
				if err != nil || !changed {
					errs <- fmt.Errorf("react %s: changed %v, %w", text, changed, err)
					return
				}
				mu.Lock()
				res = append(res, result{got.Rev, text})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	slices.SortFunc(res, func(x, y result) int { return int(x.rev - y.rev) })
	for i := 1; i < len(res); i++ {
		if res[i].rev == res[i-1].rev {
			t.Fatalf("two edits got rev %d", res[i].rev)
		}
	}
	final, err := s.Message(t.Context(), r.ID, m.ID)
	if err != nil {
		t.Fatalf("Message: %v", err)
	}
	if final.Text != res[len(res)-1].text {
		t.Fatalf("final text %q, want %q: the edit with the highest rev (%d)", final.Text, res[len(res)-1].text, res[len(res)-1].rev)
	}
	if rev := storeRoomRev(t, s, r.ID); final.Rev != rev || final.Rev < 1+2*workers*each {
		t.Fatalf("final rev %d, room's lastRev %d; want equal and at least %d", final.Rev, rev, 1+2*workers*each)
	}
	n := 0
	for _, re := range final.Reactions {
		n += re.Count
	}
	if n != workers*each {
		t.Fatalf("reactions count %d, want %d", n, workers*each)
	}
}

// testConcurrentReactions: 100 users reacting with one emoji at once count 100.
func testConcurrentReactions(t *testing.T, s chat.Store) {
	users := storeUsers(t, s, 100)
	r := storeRoom(t, s, storeEpoch, users...)
	m := storeSend(t, s, r.ID, users[0], "react", storeAt(1))
	var wg sync.WaitGroup
	errs := make(chan error, len(users))
	revs := make([]int64, len(users))
	for i, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, changed, err := s.ChangeMessage(t.Context(), chat.Change{Kind: chat.ChangeReact, RoomID: r.ID, MessageID: m.ID, UserID: u.ID, Emoji: "❤️", At: storeAt(2), MaxEmoji: 20})
			if err != nil || !changed {
				errs <- fmt.Errorf("react %s: changed %v, %w", u.Username, changed, err)
				return
			}
			revs[i] = got.Rev
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	final, err := s.Message(t.Context(), r.ID, m.ID)
	if err != nil || len(final.Reactions) != 1 || final.Reactions[0].Count != 100 || len(final.Reactions[0].UserIDs) != 100 {
		t.Fatalf("after 100 reactions: %+v, %v; want one emoji counted 100", final.Reactions, err)
	}
	slices.Sort(revs)
	if len(slices.Compact(revs)) != 100 {
		t.Fatal("two reactions got the same rev")
	}
	if final.Rev != storeRoomRev(t, s, r.ID) {
		t.Fatalf("final rev %d is not the room's lastRev", final.Rev)
	}
}

// TestMentionStore runs the contract of chat.MentionStore.
func TestMentionStore(t *testing.T, newStore func(t *testing.T) chat.Store) {
	runStoreCases(t, newStore, []storeCase{
		{"MentionCounts", testMentionCounts},
	})
}

func testMentionCounts(t *testing.T, s chat.Store) {
	ctx := t.Context()
	a, b, c := storeUser(t, s, "ann"), storeUser(t, s, "bob"), storeUser(t, s, "cid")
	r := storeRoom(t, s, storeEpoch, a, b, c)
	other := storeRoom(t, s, storeEpoch, a, b)
	mention := func(roomID string, who ...chat.User) chat.Message {
		in := storeMessage(roomID, a, "hey", storeAt(1))
		in.Mentions = userIDs(who)
		m, _, err := s.CreateMessage(ctx, in, nil)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	m1 := mention(r.ID, b) // seq 1
	mention(r.ID, b, c)    // seq 2
	mention(r.ID, c)       // seq 3
	m4 := mention(r.ID, b) // seq 4
	mention(other.ID, b)   // other room, seq 1
	storeSend(t, s, r.ID, a, "plain", storeAt(2))
	counts := func(after map[string]int64) map[string]int64 {
		t.Helper()
		got, err := s.MentionCounts(ctx, b.ID, after)
		if err != nil {
			t.Fatalf("MentionCounts: %v", err)
		}
		return got
	}
	got := counts(map[string]int64{r.ID: 0, other.ID: 0})
	if got[r.ID] != 3 || got[other.ID] != 1 {
		t.Fatalf("MentionCounts from 0 = %v; want 3 and 1", got)
	}
	if got := counts(map[string]int64{r.ID: 1}); got[r.ID] != 2 || got[other.ID] != 0 {
		t.Fatalf("MentionCounts after seq 1 = %v; want 2 in the room, the other not asked", got)
	}
	// A deleted message, and an edit that drops the mention, count no more.
	change(t, s, chat.Change{Kind: chat.ChangeDelete, RoomID: r.ID, MessageID: m4.ID})
	change(t, s, chat.Change{Kind: chat.ChangeEdit, RoomID: r.ID, MessageID: m1.ID, Text: "hey all", Mentions: []string{c.ID}})
	if got := counts(map[string]int64{r.ID: 0}); got[r.ID] != 1 {
		t.Fatalf("MentionCounts after a delete and an edit = %v; want 1", got)
	}
	if got := counts(nil); len(got) != 0 {
		t.Fatalf("MentionCounts of no rooms = %v", got)
	}
}
