package chattest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/chatchat/chatchat/chat"
)

// --- rooms ---

func testCreateGroupRoom(t *testing.T, s chat.Store) {
	ctx := t.Context()
	users := storeUsers(t, s, 3)
	r := chat.Room{ID: chat.NewID(), Type: chat.RoomGroup, Name: "Friends", MemberIDs: userIDs(users), CreatedAt: chat.At(storeEpoch)}
	if err := s.CreateRoom(ctx, r, ""); err != nil {
		t.Fatalf("CreateRoom: %v", err)
	}
	// Group rooms share the empty direct key without conflicting.
	if err := s.CreateRoom(ctx, chat.Room{ID: chat.NewID(), Type: chat.RoomGroup, Name: "Other", MemberIDs: userIDs(users[:1]), CreatedAt: chat.At(storeEpoch)}, ""); err != nil {
		t.Fatalf("second CreateRoom: %v", err)
	}

	got, err := s.Room(ctx, r.ID)
	if err != nil {
		t.Fatalf("Room: %v", err)
	}
	if got.ID != r.ID || got.Type != chat.RoomGroup || got.Name != "Friends" || got.LastSeq != 0 || !got.CreatedAt.Equal(storeEpoch) {
		t.Errorf("Room = %+v, want %+v", got, r)
	}
	sameIDs(t, "Room.MemberIDs", got.MemberIDs, userIDs(users))

	members, err := s.Members(ctx, r.ID)
	if err != nil {
		t.Fatalf("Members: %v", err)
	}
	var memberIDs []string
	for _, m := range members {
		memberIDs = append(memberIDs, m.UserID)
		if m.LastReadSeq != 0 || m.Muted {
			t.Errorf("new member %+v, want cursor 0 and not muted", m)
		}
	}
	sameIDs(t, "Members", memberIDs, userIDs(users))
}

func testCreateDirectRoom(t *testing.T, s chat.Store) {
	ctx := t.Context()
	users := storeUsers(t, s, 3)
	a, b := users[0], users[1]
	key := chat.DirectKey(a.ID, b.ID)
	r := chat.Room{ID: chat.NewID(), Type: chat.RoomDirect, MemberIDs: []string{a.ID, b.ID}, CreatedAt: chat.At(storeEpoch)}
	if err := s.CreateRoom(ctx, r, key); err != nil {
		t.Fatalf("CreateRoom: %v", err)
	}

	dup := chat.Room{ID: chat.NewID(), Type: chat.RoomDirect, MemberIDs: []string{b.ID, a.ID}, CreatedAt: chat.At(storeAt(1))}
	wantConflict(t, "CreateRoom(same direct key)", s.CreateRoom(ctx, dup, chat.DirectKey(b.ID, a.ID)))
	_, err := s.Room(ctx, dup.ID)
	wantNotFound(t, "Room(rejected direct room)", err)
	rids, err := s.UserRoomIDs(ctx, a.ID)
	if err != nil {
		t.Fatalf("UserRoomIDs: %v", err)
	}
	sameIDs(t, "UserRoomIDs after rejected direct room", rids, []string{r.ID})

	got, err := s.DirectRoom(ctx, key)
	if err != nil {
		t.Fatalf("DirectRoom: %v", err)
	}
	if got.ID != r.ID || got.Type != chat.RoomDirect || !got.CreatedAt.Equal(storeEpoch) {
		t.Errorf("DirectRoom = %+v, want %+v", got, r)
	}
	sameIDs(t, "DirectRoom.MemberIDs", got.MemberIDs, []string{a.ID, b.ID})

	// Another pair has its own direct room.
	other := chat.Room{ID: chat.NewID(), Type: chat.RoomDirect, MemberIDs: []string{a.ID, users[2].ID}, CreatedAt: chat.At(storeEpoch)}
	if err := s.CreateRoom(ctx, other, chat.DirectKey(a.ID, users[2].ID)); err != nil {
		t.Fatalf("CreateRoom(other pair): %v", err)
	}
	_, err = s.DirectRoom(ctx, chat.DirectKey(b.ID, users[2].ID))
	wantNotFound(t, "DirectRoom(no such pair)", err)
}

func testRoomNotFound(t *testing.T, s chat.Store) {
	_, err := s.Room(t.Context(), chat.NewID())
	wantNotFound(t, "Room(unknown)", err)
}

func testUserRooms(t *testing.T, s chat.Store) {
	ctx := t.Context()
	users := storeUsers(t, s, 3)
	a, b, c := users[0], users[1], users[2]
	r1 := storeRoom(t, s, storeAt(0), a, c)
	r2 := storeRoom(t, s, storeAt(1), a, b)
	r3 := storeRoom(t, s, storeAt(2), a)
	storeSend(t, s, r1.ID, a, "one", storeAt(3), a.ID)
	last := storeSend(t, s, r1.ID, c, "two", storeAt(4), c.ID)
	if err := s.SetMuted(ctx, r2.ID, a.ID, true); err != nil {
		t.Fatalf("SetMuted: %v", err)
	}

	got, err := allUserRooms(ctx, s, a.ID)
	if err != nil {
		t.Fatalf("UserRooms: %v", err)
	}
	var order []string
	for _, ur := range got {
		order = append(order, ur.ID)
	}
	// r1 has the latest message; r3 and r2 follow by creation.
	if want := []string{r1.ID, r3.ID, r2.ID}; !slices.Equal(order, want) {
		t.Fatalf("UserRooms order = %v, want %v (most recently active first)", order, want)
	}

	g1, g2, g3 := got[0], got[2], got[1]
	if g1.LastSeq != 2 || g1.LastReadSeq != 1 || g1.MutedByUser || g1.Type != chat.RoomGroup || !g1.CreatedAt.Equal(storeAt(0)) {
		t.Errorf("UserRooms[r1] = %+v, want lastSeq 2, lastReadSeq 1, not muted", g1)
	}
	sameIDs(t, "UserRooms[r1].MemberIDs", g1.MemberIDs, []string{a.ID, c.ID})
	if g1.LastMessage == nil {
		t.Errorf("UserRooms[r1].LastMessage = nil, want seq 2")
	} else {
		sameMessage(t, "UserRooms[r1].LastMessage", *g1.LastMessage, last)
	}
	if !g2.MutedByUser || g2.LastReadSeq != 0 || g2.LastMessage != nil {
		t.Errorf("UserRooms[r2] = %+v, want muted, cursor 0, no last message", g2)
	}
	sameIDs(t, "UserRooms[r2].MemberIDs", g2.MemberIDs, []string{a.ID, b.ID})
	if g3.LastMessage != nil || g3.LastSeq != 0 {
		t.Errorf("UserRooms[r3] = %+v, want no messages", g3)
	}
	sameIDs(t, "UserRooms[r3].MemberIDs", g3.MemberIDs, []string{a.ID})

	// Another member sees only their rooms, with their own cursor and mute setting.
	got, err = allUserRooms(ctx, s, c.ID)
	if err != nil {
		t.Fatalf("UserRooms(c): %v", err)
	}
	if len(got) != 1 || got[0].ID != r1.ID || got[0].LastReadSeq != 2 || got[0].MutedByUser {
		t.Errorf("UserRooms(c) = %+v, want only r1 with cursor 2, not muted", got)
	}

	got, err = allUserRooms(ctx, s, chat.NewID())
	if err != nil || len(got) != 0 {
		t.Errorf("UserRooms(no rooms) = %v, %v; want none", got, err)
	}
}

// allUserRooms asks for every room in one page.
func allUserRooms(ctx context.Context, s chat.Store, userID string) ([]chat.UserRoom, error) {
	rooms, more, err := s.UserRooms(ctx, userID, chat.RoomPage{Limit: 1000})
	if err == nil && more {
		err = fmt.Errorf("UserRooms: more after a page of 1000")
	}
	return rooms, err
}

// testUserRoomPages walks a user's rooms page by page: every room once, in order, pages no
// longer than the limit, and a page ending early once its rooms hold MaxMembers members.
func testUserRoomPages(t *testing.T, s chat.Store) {
	ctx := t.Context()
	users := storeUsers(t, s, 4)
	a := users[0]
	var want []string // most recently active first
	for i := range 7 {
		members := []chat.User{a}
		if i == 4 {
			members = users // a room of four members
		}
		r := storeRoom(t, s, storeAt(i), members...)
		want = append([]string{r.ID}, want...)
	}
	// Two rooms created in the same millisecond are ordered by id.
	same1 := storeRoom(t, s, storeAt(10), a)
	same2 := storeRoom(t, s, storeAt(10), a)
	want = append([]string{same2.ID, same1.ID}, want...)

	walk := func(page chat.RoomPage) (got []string, sizes []int) {
		for range 20 {
			rooms, more, err := s.UserRooms(ctx, a.ID, page)
			if err != nil {
				t.Fatalf("UserRooms(%+v): %v", page, err)
			}
			if len(rooms) == 0 || len(rooms) > page.Limit {
				t.Fatalf("UserRooms(%+v) gave %d rooms, want 1..%d", page, len(rooms), page.Limit)
			}
			sizes = append(sizes, len(rooms))
			for _, r := range rooms {
				got = append(got, r.ID)
				if r.ActiveAt.IsZero() {
					t.Errorf("room %s has no ActiveAt", r.ID)
				}
			}
			if !more {
				return got, sizes
			}
			last := rooms[len(rooms)-1]
			page.After = chat.RoomKey{ActiveAt: last.ActiveAt, ID: last.ID}
		}
		t.Fatalf("UserRooms never ended")
		return nil, nil
	}
	got, sizes := walk(chat.RoomPage{Limit: 2})
	if !slices.Equal(got, want) {
		t.Fatalf("pages of 2 = %v, want %v", got, want)
	}
	if !slices.Equal(sizes, []int{2, 2, 2, 2, 1}) {
		t.Errorf("page sizes = %v, want [2 2 2 2 1]", sizes)
	}
	// With a bound of 3 members, the four-member room stands on a page of its own (a page
	// always holds one room), and the other pages hold at most 3 one-member rooms.
	got, sizes = walk(chat.RoomPage{Limit: 5, MaxMembers: 3})
	if !slices.Equal(got, want) {
		t.Fatalf("pages bounded by members = %v, want %v", got, want)
	}
	if !slices.Equal(sizes, []int{3, 1, 1, 3, 1}) {
		t.Errorf("page sizes bounded by 3 members = %v, want [3 1 1 3 1]", sizes)
	}
	// The exact last page says no more.
	rooms, more, err := s.UserRooms(ctx, a.ID, chat.RoomPage{Limit: len(want)})
	if err != nil || len(rooms) != len(want) || more {
		t.Errorf("UserRooms(limit = all) = %d rooms, more %v, %v; want %d, false", len(rooms), more, err, len(want))
	}
}

func testUserRoomIDs(t *testing.T, s chat.Store) {
	ctx := t.Context()
	users := storeUsers(t, s, 2)
	r1 := storeRoom(t, s, storeEpoch, users[0], users[1])
	r2 := storeRoom(t, s, storeEpoch, users[0])
	got, err := s.UserRoomIDs(ctx, users[0].ID)
	if err != nil {
		t.Fatalf("UserRoomIDs: %v", err)
	}
	sameIDs(t, "UserRoomIDs(user0)", got, []string{r1.ID, r2.ID})
	got, err = s.UserRoomIDs(ctx, users[1].ID)
	if err != nil {
		t.Fatalf("UserRoomIDs: %v", err)
	}
	sameIDs(t, "UserRoomIDs(user1)", got, []string{r1.ID})
	got, err = s.UserRoomIDs(ctx, chat.NewID())
	if err != nil || len(got) != 0 {
		t.Errorf("UserRoomIDs(no rooms) = %v, %v; want none", got, err)
	}

	// UserRoomSeqs gives the same rooms with their last seqs.
	storeSend(t, s, r1.ID, users[1], "one", storeAt(1))
	storeSend(t, s, r1.ID, users[0], "two", storeAt(2))
	seqs, err := s.UserRoomSeqs(ctx, users[0].ID)
	if err != nil {
		t.Fatalf("UserRoomSeqs: %v", err)
	}
	if len(seqs) != 2 || seqs[r1.ID] != 2 || seqs[r2.ID] != 0 {
		t.Errorf("UserRoomSeqs(user0) = %v; want %s:2 %s:0", seqs, r1.ID, r2.ID)
	}
	if seqs, err := s.UserRoomSeqs(ctx, chat.NewID()); err != nil || len(seqs) != 0 {
		t.Errorf("UserRoomSeqs(no rooms) = %v, %v; want none", seqs, err)
	}
}

func testMember(t *testing.T, s chat.Store) {
	ctx := t.Context()
	users := storeUsers(t, s, 2)
	r := storeRoom(t, s, storeEpoch, users[0])
	storeSend(t, s, r.ID, users[0], "hi", storeEpoch, users[0].ID)
	m, err := s.Member(ctx, r.ID, users[0].ID)
	if err != nil {
		t.Fatalf("Member: %v", err)
	}
	if m.UserID != users[0].ID || m.LastReadSeq != 1 || m.Muted {
		t.Errorf("Member = %+v, want user0 with cursor 1, not muted", m)
	}
	_, err = s.Member(ctx, r.ID, users[1].ID)
	wantNotFound(t, "Member(not a member)", err)
	_, err = s.Member(ctx, chat.NewID(), users[0].ID)
	wantNotFound(t, "Member(unknown room)", err)
}

func testAddMembers(t *testing.T, s chat.Store) {
	ctx := t.Context()
	users := storeUsers(t, s, 4)
	a, b, c, d := users[0], users[1], users[2], users[3]
	r := storeRoom(t, s, storeEpoch, a)
	for i := range 3 {
		storeSend(t, s, r.ID, a, fmt.Sprint("m", i), storeAt(i), a.ID)
	}

	added, err := s.AddMembers(ctx, r.ID, []string{a.ID, b.ID, c.ID, b.ID}, storeAt(10))
	if err != nil {
		t.Fatalf("AddMembers: %v", err)
	}
	sameIDs(t, "AddMembers returned", added, []string{b.ID, c.ID})
	for _, u := range []chat.User{b, c} {
		m, err := s.Member(ctx, r.ID, u.ID)
		if err != nil {
			t.Fatalf("Member(%s): %v", u.Username, err)
		}
		// History from before joining counts as read.
		if m.LastReadSeq != 3 || m.Muted || !m.JoinedAt.Equal(storeAt(10)) {
			t.Errorf("added member %+v, want cursor 3 (the room's last seq), not muted, joined at %v", m, storeAt(10))
		}
	}
	if got := storeCursor(t, s, r.ID, a.ID); got != 3 {
		t.Errorf("existing member's cursor = %d after AddMembers, want 3 (unchanged)", got)
	}
	got, err := s.Room(ctx, r.ID)
	if err != nil {
		t.Fatalf("Room: %v", err)
	}
	sameIDs(t, "Room.MemberIDs after AddMembers", got.MemberIDs, []string{a.ID, b.ID, c.ID})

	added, err = s.AddMembers(ctx, r.ID, []string{b.ID, c.ID}, storeAt(11))
	if err != nil || len(added) != 0 {
		t.Errorf("AddMembers(existing) = %v, %v; want none added", added, err)
	}

	// A later joiner's cursor is the last seq at the time of joining.
	storeSend(t, s, r.ID, a, "m3", storeAt(12), a.ID)
	if _, err := s.AddMembers(ctx, r.ID, []string{d.ID}, storeAt(13)); err != nil {
		t.Fatalf("AddMembers(d): %v", err)
	}
	if got := storeCursor(t, s, r.ID, d.ID); got != 4 {
		t.Errorf("late joiner's cursor = %d, want 4", got)
	}
	if got := storeCursor(t, s, r.ID, b.ID); got != 3 {
		t.Errorf("earlier joiner's cursor = %d, want 3 (unchanged)", got)
	}
}

func testRemoveMember(t *testing.T, s chat.Store) {
	ctx := t.Context()
	users := storeUsers(t, s, 2)
	a, b := users[0], users[1]
	r := storeRoom(t, s, storeEpoch, a, b)
	if err := s.RemoveMember(ctx, r.ID, b.ID); err != nil {
		t.Fatalf("RemoveMember: %v", err)
	}
	_, err := s.Member(ctx, r.ID, b.ID)
	wantNotFound(t, "Member(removed)", err)
	got, err := s.Room(ctx, r.ID)
	if err != nil {
		t.Fatalf("Room: %v", err)
	}
	sameIDs(t, "Room.MemberIDs after RemoveMember", got.MemberIDs, []string{a.ID})
	rids, err := s.UserRoomIDs(ctx, b.ID)
	if err != nil || len(rids) != 0 {
		t.Errorf("UserRoomIDs(removed) = %v, %v; want none", rids, err)
	}
	wantNotFound(t, "RemoveMember(again)", s.RemoveMember(ctx, r.ID, b.ID))
	wantNotFound(t, "RemoveMember(unknown room)", s.RemoveMember(ctx, chat.NewID(), a.ID))

	// A removed member can be added back.
	added, err := s.AddMembers(ctx, r.ID, []string{b.ID}, storeAt(1))
	if err != nil || len(added) != 1 {
		t.Errorf("AddMembers(removed member) = %v, %v; want them added", added, err)
	}
}

func testSetMuted(t *testing.T, s chat.Store) {
	ctx := t.Context()
	users := storeUsers(t, s, 2)
	r := storeRoom(t, s, storeEpoch, users[0])
	for _, muted := range []bool{true, true, false} {
		if err := s.SetMuted(ctx, r.ID, users[0].ID, muted); err != nil {
			t.Fatalf("SetMuted(%v): %v", muted, err)
		}
		m, err := s.Member(ctx, r.ID, users[0].ID)
		if err != nil {
			t.Fatalf("Member: %v", err)
		}
		if m.Muted != muted {
			t.Errorf("Muted = %v after SetMuted(%v)", m.Muted, muted)
		}
	}
	wantNotFound(t, "SetMuted(not a member)", s.SetMuted(ctx, r.ID, users[1].ID, true))
}

func testAdvanceReadCursor(t *testing.T, s chat.Store) {
	ctx := t.Context()
	users := storeUsers(t, s, 2)
	a := users[0]
	r := storeRoom(t, s, storeEpoch, a)
	for i := range 5 {
		storeSend(t, s, r.ID, a, fmt.Sprint("m", i), storeAt(i))
	}
	for _, c := range []struct {
		seq, want int64
	}{
		{0, 0},
		{3, 3},
		{2, 3},  // never back
		{3, 3},  // already there
		{10, 5}, // capped at the last seq
		{-1, 5},
	} {
		got, err := s.AdvanceReadCursor(ctx, r.ID, a.ID, c.seq)
		if err != nil {
			t.Fatalf("AdvanceReadCursor(%d): %v", c.seq, err)
		}
		if got != c.want {
			t.Errorf("AdvanceReadCursor(%d) = %d, want %d", c.seq, got, c.want)
		}
		if stored := storeCursor(t, s, r.ID, a.ID); stored != c.want {
			t.Errorf("after AdvanceReadCursor(%d), Member cursor = %d, want %d", c.seq, stored, c.want)
		}
	}
	storeSend(t, s, r.ID, a, "m5", storeAt(5))
	if got, err := s.AdvanceReadCursor(ctx, r.ID, a.ID, 10); err != nil || got != 6 {
		t.Errorf("AdvanceReadCursor(10) after a new message = %d, %v; want 6", got, err)
	}
	_, err := s.AdvanceReadCursor(ctx, r.ID, users[1].ID, 1)
	wantNotFound(t, "AdvanceReadCursor(not a member)", err)
	_, err = s.AdvanceReadCursor(ctx, chat.NewID(), a.ID, 1)
	wantNotFound(t, "AdvanceReadCursor(unknown room)", err)
}

// testUnreadCount checks UnreadCount against the member list it replaces on the send path.
func testUnreadCount(t *testing.T, s chat.Store) {
	uc := s
	ctx := t.Context()
	users := storeUsers(t, s, 4)
	a, b, c := users[0], users[1], users[2]
	r := storeRoom(t, s, storeEpoch, a, b, c)
	m1 := storeSend(t, s, r.ID, a, "m1", storeAt(1), a.ID)
	m2 := storeSend(t, s, r.ID, a, "m2", storeAt(2), a.ID, b.ID) // b views the room
	for _, tc := range []struct {
		name   string
		sender string
		seq    int64
		want   int
	}{
		{"first message: b read on since, c did not", a.ID, m1.Seq, 1},
		{"second message: b viewed it", a.ID, m2.Seq, 1},
		{"a later seq: b and c behind", a.ID, m2.Seq + 1, 2},
		{"sender excluded: c is the only one behind", c.ID, m2.Seq, 0},
		{"seq 0: nobody is below", a.ID, 0, 0},
		{"not a member sends: everyone below counts", users[3].ID, m2.Seq + 1, 3},
	} {
		got, err := uc.UnreadCount(ctx, r.ID, tc.sender, tc.seq)
		if err != nil || got != tc.want {
			t.Errorf("%s: UnreadCount = %d, %v; want %d", tc.name, got, err, tc.want)
		}
	}
	if got, err := uc.UnreadCount(ctx, chat.NewID(), a.ID, 1); err != nil || got != 0 {
		t.Errorf("unknown room: UnreadCount = %d, %v; want 0", got, err)
	}
}

func testConcurrentAdvanceReadCursor(t *testing.T, s chat.Store) {
	ctx := t.Context()
	users := storeUsers(t, s, 2)
	a, b := users[0], users[1]
	r := storeRoom(t, s, storeEpoch, a, b)
	const n = 50
	for i := range n {
		storeSend(t, s, r.ID, a, fmt.Sprint("m", i), storeAt(i))
	}
	targets := rand.Perm(n)
	var wg sync.WaitGroup
	for _, target := range targets {
		wg.Go(func() {
			seq := int64(target + 1)
			got, err := s.AdvanceReadCursor(ctx, r.ID, b.ID, seq)
			if err != nil {
				t.Errorf("AdvanceReadCursor(%d): %v", seq, err)
				return
			}
			// Whatever ran before, the cursor after this call is at least where this
			// call put it.
			if got < seq {
				t.Errorf("AdvanceReadCursor(%d) = %d: the cursor moved back", seq, got)
			}
		})
	}
	// A reader alongside sees the cursor only go forward.
	wg.Go(func() {
		prev := int64(0)
		for range 2 * n {
			m, err := s.Member(ctx, r.ID, b.ID)
			if err != nil {
				t.Errorf("Member: %v", err)
				return
			}
			if m.LastReadSeq < prev {
				t.Errorf("cursor went from %d back to %d", prev, m.LastReadSeq)
			}
			prev = m.LastReadSeq
		}
	})
	wg.Wait()
	if got := storeCursor(t, s, r.ID, b.ID); got != n {
		t.Errorf("final cursor = %d, want %d", got, n)
	}
}

func testUnreadTotal(t *testing.T, s chat.Store) {
	d := s
	ann, bob, cat := storeUser(t, s, "ann"), storeUser(t, s, "bob"), storeUser(t, s, "cat")
	r1 := storeRoom(t, s, storeAt(0), ann, bob)
	r2 := storeRoom(t, s, storeAt(0), ann, bob, cat)
	for i := range 3 {
		storeSend(t, s, r1.ID, ann, fmt.Sprint("r1-", i), storeAt(i), ann.ID)
	}
	for i := range 2 {
		storeSend(t, s, r2.ID, ann, fmt.Sprint("r2-", i), storeAt(i), ann.ID)
	}
	if _, err := s.AdvanceReadCursor(t.Context(), r1.ID, bob.ID, 1); err != nil {
		t.Fatalf("AdvanceReadCursor: %v", err)
	}
	for _, c := range []struct {
		u    chat.User
		want int64
	}{{ann, 0}, {bob, 2 + 2}, {cat, 2}} {
		got, err := d.UnreadTotal(t.Context(), c.u.ID)
		if err != nil || got != c.want {
			t.Errorf("UnreadTotal(%s) = %d, %v; want %d", c.u.Username, got, err, c.want)
		}
	}
	if got, err := d.UnreadTotal(t.Context(), "nobody"); err != nil || got != 0 {
		t.Errorf("UnreadTotal(no rooms) = %d, %v; want 0", got, err)
	}
}
