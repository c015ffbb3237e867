package chattest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// TestStore runs the contract every chat.Store implementation must meet, as documented in
// chat/store.go. Each subtest gets a fresh, empty store from newStore, which registers its
// own cleanup on t.
func TestStore(t *testing.T, newStore func(t *testing.T) chat.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s chat.Store)
	}{
		{"Users/CreateAndLookUp", testUserCreateAndLookUp},
		{"Users/DuplicateUsernameConflicts", testUserDuplicate},
		{"Users/NotFound", testUserNotFound},
		{"Users/ByIDs", testUsersByIDs},
		{"Users/Search", testSearchUsers},
		{"Users/ConcurrentSameUsername", testUserConcurrentCreate},

		{"RefreshTokens/ConsumeOnce", testTokenConsumeOnce},
		{"RefreshTokens/RevokeFamily", testTokenRevokeFamily},
		{"RefreshTokens/Unknown", testTokenUnknown},
		{"RefreshTokens/ConcurrentConsume", testTokenConcurrentConsume},

		{"Rooms/CreateGroup", testCreateGroupRoom},
		{"Rooms/CreateDirect", testCreateDirectRoom},
		{"Rooms/NotFound", testRoomNotFound},
		{"Rooms/UserRooms", testUserRooms},
		{"Rooms/UserRoomIDs", testUserRoomIDs},
		{"Rooms/Member", testMember},
		{"Rooms/AddMembers", testAddMembers},
		{"Rooms/RemoveMember", testRemoveMember},
		{"Rooms/SetMuted", testSetMuted},
		{"Rooms/AdvanceReadCursor", testAdvanceReadCursor},
		{"Rooms/ConcurrentAdvanceReadCursor", testConcurrentAdvanceReadCursor},
		{"Rooms/UnreadCount", testUnreadCount},

		{"Messages/SeqPerRoom", testMessageSeq},
		{"Messages/IdempotentByClientMsgID", testMessageIdempotent},
		{"Messages/AdvanceCursors", testMessageAdvance},
		{"Messages/MediaID", testMessageMediaID},
		{"Messages/History", testHistory},
		{"Messages/ConcurrentCreate", testConcurrentCreateMessage},
		{"Messages/ConcurrentRetries", testConcurrentRetries},

		{"TimesAreUTCMilliseconds", testTimes},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newStore(t)) })
	}
}

// storeEpoch is the suite's clock: times are given explicitly so that orderings do not
// depend on how fast the machine runs.
var storeEpoch = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

// storeAt returns storeEpoch plus n minutes.
func storeAt(n int) time.Time { return storeEpoch.Add(time.Duration(n) * time.Minute) }

func storeUser(tb testing.TB, s chat.Store, username string) chat.User {
	tb.Helper()
	u := chat.User{
		ID:          chat.NewID(),
		Username:    username,
		DisplayName: strings.ToUpper(username[:1]) + username[1:],
		CreatedAt:   chat.At(storeEpoch),
	}
	if err := s.CreateUser(tb.Context(), u, "hash-of-"+username); err != nil {
		tb.Fatalf("CreateUser(%s): %v", username, err)
	}
	return u
}

func storeUsers(tb testing.TB, s chat.Store, n int) []chat.User {
	tb.Helper()
	users := make([]chat.User, n)
	for i := range users {
		users[i] = storeUser(tb, s, fmt.Sprintf("user%02d", i))
	}
	return users
}

func storeRoom(tb testing.TB, s chat.Store, at time.Time, members ...chat.User) chat.Room {
	tb.Helper()
	r := chat.Room{ID: chat.NewID(), Type: chat.RoomGroup, Name: "room", MemberIDs: userIDs(members), CreatedAt: chat.At(at)}
	if err := s.CreateRoom(tb.Context(), r, ""); err != nil {
		tb.Fatalf("CreateRoom: %v", err)
	}
	return r
}

func storeMessage(roomID string, sender chat.User, text string, at time.Time) chat.Message {
	return chat.Message{
		ID: chat.NewID(), RoomID: roomID, SenderID: sender.ID, ClientMsgID: chat.NewID(),
		Type: chat.MessageText, Text: text, CreatedAt: chat.At(at),
	}
}

// send stores a new text message from sender, advancing the listed users' cursors.
func storeSend(tb testing.TB, s chat.Store, roomID string, sender chat.User, text string, at time.Time, advance ...string) chat.Message {
	tb.Helper()
	m, created, err := s.CreateMessage(tb.Context(), storeMessage(roomID, sender, text, at), advance)
	if err != nil || !created {
		tb.Fatalf("CreateMessage(%q) = created %v, %v", text, created, err)
	}
	return m
}

func userIDs(users []chat.User) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.ID
	}
	return out
}

// sameSet fails unless got and want hold the same strings, in any order.
func sameIDs(tb testing.TB, what string, got, want []string) {
	tb.Helper()
	g, w := slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
	if !slices.Equal(g, w) {
		tb.Errorf("%s = %v, want %v (any order)", what, g, w)
	}
}

func wantNotFound(tb testing.TB, what string, err error) {
	tb.Helper()
	if !chat.IsNotFound(err) {
		tb.Errorf("%s: err = %v, want a not-found error", what, err)
	}
}

func wantConflict(tb testing.TB, what string, err error) {
	tb.Helper()
	if !chat.IsConflict(err) {
		tb.Errorf("%s: err = %v, want a conflict error", what, err)
	}
}

func storeCursor(tb testing.TB, s chat.Store, roomID, userID string) int64 {
	tb.Helper()
	m, err := s.Member(tb.Context(), roomID, userID)
	if err != nil {
		tb.Fatalf("Member(%s): %v", userID, err)
	}
	return m.LastReadSeq
}

func sameUser(tb testing.TB, what string, got, want chat.User) {
	tb.Helper()
	if got.ID != want.ID || got.Username != want.Username || got.DisplayName != want.DisplayName ||
		!got.CreatedAt.Equal(want.CreatedAt.Time) {
		tb.Errorf("%s = %+v, want %+v", what, got, want)
	}
}

// sameMessage compares every stored field of a message.
func sameMessage(tb testing.TB, what string, got, want chat.Message) {
	tb.Helper()
	if got.ID != want.ID || got.RoomID != want.RoomID || got.Seq != want.Seq || got.SenderID != want.SenderID ||
		got.ClientMsgID != want.ClientMsgID || got.Type != want.Type || got.Text != want.Text ||
		got.MediaID != want.MediaID || !got.CreatedAt.Equal(want.CreatedAt.Time) {
		tb.Errorf("%s =\n\t%+v, want\n\t%+v", what, got, want)
	}
}

func msgSeqs(msgs []chat.Message) []int64 {
	out := make([]int64, len(msgs))
	for i, m := range msgs {
		out[i] = m.Seq
	}
	return out
}

// --- users ---

func testUserCreateAndLookUp(t *testing.T, s chat.Store) {
	ctx := t.Context()
	u := chat.User{ID: chat.NewID(), Username: "Alice", DisplayName: "Alice Liddell", CreatedAt: chat.At(storeEpoch)}
	if err := s.CreateUser(ctx, u, "secret-hash"); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	got, err := s.User(ctx, u.ID)
	if err != nil {
		t.Fatalf("User: %v", err)
	}
	sameUser(t, "User", got, u)

	for _, name := range []string{"Alice", "alice", "ALICE"} {
		got, hash, err := s.UserByUsername(ctx, name)
		if err != nil {
			t.Fatalf("UserByUsername(%q): %v", name, err)
		}
		sameUser(t, "UserByUsername("+name+")", got, u)
		if hash != "secret-hash" {
			t.Errorf("UserByUsername(%q) hash = %q, want %q", name, hash, "secret-hash")
		}
	}
}

func testUserDuplicate(t *testing.T, s chat.Store) {
	ctx := t.Context()
	for _, c := range []struct{ first, second string }{
		{"bob", "bob"},
		{"Carol", "cAROL"},
		{"Émile", "émile"}, // case folding is not only for ASCII
	} {
		first := chat.User{ID: chat.NewID(), Username: c.first, DisplayName: "first", CreatedAt: chat.At(storeEpoch)}
		if err := s.CreateUser(ctx, first, "h1"); err != nil {
			t.Fatalf("CreateUser(%q): %v", c.first, err)
		}
		second := chat.User{ID: chat.NewID(), Username: c.second, DisplayName: "second", CreatedAt: chat.At(storeEpoch)}
		wantConflict(t, fmt.Sprintf("CreateUser(%q) after %q", c.second, c.first), s.CreateUser(ctx, second, "h2"))

		// The first stays as it was, and the second was not stored under its id.
		got, hash, err := s.UserByUsername(ctx, c.second)
		if err != nil {
			t.Fatalf("UserByUsername(%q): %v", c.second, err)
		}
		sameUser(t, "UserByUsername after conflict", got, first)
		if hash != "h1" {
			t.Errorf("hash after conflict = %q, want h1", hash)
		}
		_, err = s.User(ctx, second.ID)
		wantNotFound(t, "User(rejected id)", err)
	}
}

func testUserNotFound(t *testing.T, s chat.Store) {
	ctx := t.Context()
	storeUser(t, s, "dave")
	_, err := s.User(ctx, chat.NewID())
	wantNotFound(t, "User(unknown)", err)
	_, _, err = s.UserByUsername(ctx, "nobody")
	wantNotFound(t, "UserByUsername(unknown)", err)
	_, _, err = s.UserByUsername(ctx, "dav") // a prefix is not a match
	wantNotFound(t, "UserByUsername(prefix)", err)
}

func testUsersByIDs(t *testing.T, s chat.Store) {
	ctx := t.Context()
	users := storeUsers(t, s, 3)
	got, err := s.UsersByIDs(ctx, []string{users[2].ID, chat.NewID(), users[0].ID})
	if err != nil {
		t.Fatalf("UsersByIDs: %v", err)
	}
	sameIDs(t, "UsersByIDs", userIDs(got), []string{users[0].ID, users[2].ID})
	for _, u := range got {
		if u.ID == users[0].ID {
			sameUser(t, "UsersByIDs[user0]", u, users[0])
		}
	}
	got, err = s.UsersByIDs(ctx, nil)
	if err != nil || len(got) != 0 {
		t.Errorf("UsersByIDs(nil) = %v, %v; want none", got, err)
	}
}

func testSearchUsers(t *testing.T, s chat.Store) {
	ctx := t.Context()
	for _, u := range []struct{ username, display string }{
		{"alice", "Alice Liddell"},
		{"alfred", "Alfred Pennyworth"},
		{"bob", "Alchemist Bob"}, // found by display name only
		{"carol", "Carol"},
		{"elodie", "Élodie Durand"}, // folding beyond ASCII
		{"zed", "Zed"},
	} {
		err := s.CreateUser(ctx, chat.User{ID: chat.NewID(), Username: u.username, DisplayName: u.display, CreatedAt: chat.At(storeEpoch)}, "h")
		if err != nil {
			t.Fatalf("CreateUser(%s): %v", u.username, err)
		}
	}
	for _, c := range []struct {
		prefix string
		limit  int
		want   []string // usernames, in order
	}{
		{"al", 10, []string{"alfred", "alice", "bob"}},
		{"AL", 10, []string{"alfred", "alice", "bob"}},
		{"Al", 2, []string{"alfred", "alice"}},
		{"ali", 10, []string{"alice"}},
		{"alice", 10, []string{"alice"}},
		{"alicex", 10, nil},
		{"liddell", 10, nil}, // inside the display name, not a prefix
		{"car", 10, []string{"carol"}},
		{"ÉLO", 10, []string{"elodie"}},
		{"élo", 10, []string{"elodie"}},
		{"elo", 10, []string{"elodie"}},
		{"z", 10, []string{"zed"}},
		{"x", 10, nil},
	} {
		got, err := s.SearchUsers(ctx, c.prefix, c.limit)
		if err != nil {
			t.Fatalf("SearchUsers(%q, %d): %v", c.prefix, c.limit, err)
		}
		var names []string
		for _, u := range got {
			names = append(names, u.Username)
		}
		if !slices.Equal(names, c.want) {
			t.Errorf("SearchUsers(%q, %d) = %v, want %v", c.prefix, c.limit, names, c.want)
		}
	}
}

func testUserConcurrentCreate(t *testing.T, s chat.Store) {
	ctx := t.Context()
	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// Differing case: the race is decided on the folded name.
			name := "racer"
			if i%2 == 1 {
				name = "Racer"
			}
			u := chat.User{ID: chat.NewID(), Username: name, DisplayName: "Racer", CreatedAt: chat.At(storeEpoch)}
			errs[i] = s.CreateUser(ctx, u, "h")
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !chat.IsConflict(err):
			t.Errorf("CreateUser: %v, want success or a conflict", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent CreateUser with one username succeeded, want exactly 1", ok, n)
	}
}

// --- refresh tokens ---

func storeToken(tb testing.TB, s chat.Store, user chat.User, family string) chat.RefreshToken {
	tb.Helper()
	tok := chat.RefreshToken{
		Hash: "hash-" + chat.NewID(), UserID: user.ID, FamilyID: family,
		CreatedAt: storeEpoch, ExpiresAt: storeEpoch.Add(30 * 24 * time.Hour),
	}
	if err := s.CreateRefreshToken(tb.Context(), tok); err != nil {
		tb.Fatalf("CreateRefreshToken: %v", err)
	}
	return tok
}

func sameToken(tb testing.TB, what string, got, want chat.RefreshToken) {
	tb.Helper()
	if got.Hash != want.Hash || got.UserID != want.UserID || got.FamilyID != want.FamilyID ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) || got.Revoked != want.Revoked {
		tb.Errorf("%s = %+v, want %+v", what, got, want)
	}
}

func testTokenConsumeOnce(t *testing.T, s chat.Store) {
	ctx := t.Context()
	u := storeUser(t, s, "erin")
	tok := storeToken(t, s, u, "fam1")

	got, first, err := s.ConsumeRefreshToken(ctx, tok.Hash)
	if err != nil || !first {
		t.Fatalf("first ConsumeRefreshToken = firstUse %v, %v; want true, nil", first, err)
	}
	sameToken(t, "first consume", got, tok)

	got, first, err = s.ConsumeRefreshToken(ctx, tok.Hash)
	if err != nil || first {
		t.Fatalf("second ConsumeRefreshToken = firstUse %v, %v; want false, nil", first, err)
	}
	sameToken(t, "second consume", got, tok)
}

func testTokenRevokeFamily(t *testing.T, s chat.Store) {
	ctx := t.Context()
	u := storeUser(t, s, "frank")
	used := storeToken(t, s, u, "famA")
	fresh := storeToken(t, s, u, "famA")
	other := storeToken(t, s, u, "famB")
	if _, _, err := s.ConsumeRefreshToken(ctx, used.Hash); err != nil {
		t.Fatalf("ConsumeRefreshToken: %v", err)
	}
	if err := s.RevokeTokenFamily(ctx, "famA"); err != nil {
		t.Fatalf("RevokeTokenFamily: %v", err)
	}

	got, first, err := s.ConsumeRefreshToken(ctx, fresh.Hash)
	if err != nil || !first || !got.Revoked {
		t.Errorf("consume unused revoked token = firstUse %v, Revoked %v, %v; want true, true, nil", first, got.Revoked, err)
	}
	got, first, err = s.ConsumeRefreshToken(ctx, used.Hash)
	if err != nil || first || !got.Revoked {
		t.Errorf("consume used revoked token = firstUse %v, Revoked %v, %v; want false, true, nil", first, got.Revoked, err)
	}
	got, first, err = s.ConsumeRefreshToken(ctx, other.Hash)
	if err != nil || !first || got.Revoked {
		t.Errorf("consume token of another family = firstUse %v, Revoked %v, %v; want true, false, nil", first, got.Revoked, err)
	}

	if err := s.RevokeTokenFamily(ctx, "no-such-family"); err != nil {
		t.Errorf("RevokeTokenFamily(unknown) = %v, want nil", err)
	}
}

func testTokenUnknown(t *testing.T, s chat.Store) {
	u := storeUser(t, s, "gina")
	storeToken(t, s, u, "fam")
	_, _, err := s.ConsumeRefreshToken(t.Context(), "no-such-hash")
	wantNotFound(t, "ConsumeRefreshToken(unknown)", err)
}

func testTokenConcurrentConsume(t *testing.T, s chat.Store) {
	ctx := t.Context()
	tok := storeToken(t, s, storeUser(t, s, "hank"), "fam")
	const n = 10
	firsts := make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, first, err := s.ConsumeRefreshToken(ctx, tok.Hash)
			if err != nil {
				t.Errorf("ConsumeRefreshToken: %v", err)
			}
			firsts[i] = first
		})
	}
	wg.Wait()
	if got := countTrue(firsts); got != 1 {
		t.Errorf("%d of %d concurrent consumes saw a first use, want exactly 1", got, n)
	}
}

func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

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

	got, err := s.UserRooms(ctx, a.ID)
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
	got, err = s.UserRooms(ctx, c.ID)
	if err != nil {
		t.Fatalf("UserRooms(c): %v", err)
	}
	if len(got) != 1 || got[0].ID != r1.ID || got[0].LastReadSeq != 2 || got[0].MutedByUser {
		t.Errorf("UserRooms(c) = %+v, want only r1 with cursor 2, not muted", got)
	}

	got, err = s.UserRooms(ctx, chat.NewID())
	if err != nil || len(got) != 0 {
		t.Errorf("UserRooms(no rooms) = %v, %v; want none", got, err)
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

// testUnreadCount checks chat.UnreadCounter, for the stores that have it, against the
// member list it replaces on the send path.
func testUnreadCount(t *testing.T, s chat.Store) {
	uc, ok := s.(chat.UnreadCounter)
	if !ok {
		t.Skip("the store has no chat.UnreadCounter; SendMessage lists the members instead")
	}
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
	rooms, err := s.UserRooms(ctx, users[0].ID)
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
	gotTok, _, err := s.ConsumeRefreshToken(ctx, tok.Hash)
	if err != nil {
		t.Fatalf("ConsumeRefreshToken: %v", err)
	}
	check("RefreshToken.CreatedAt", gotTok.CreatedAt)
	check("RefreshToken.ExpiresAt", gotTok.ExpiresAt)

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
	rooms, err := s.UserRooms(ctx, u.ID)
	if err != nil || len(rooms) != 1 || rooms[0].LastMessage == nil {
		t.Fatalf("UserRooms = %+v, %v", rooms, err)
	}
	check("UserRoom.CreatedAt", rooms[0].CreatedAt.Time)
	check("UserRoom.LastMessage.CreatedAt", rooms[0].LastMessage.CreatedAt.Time)
}
