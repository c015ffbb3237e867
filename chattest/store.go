package chattest

import (
	"fmt"
	"slices"
	"strings"
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
