package chattest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// The store's contract is one suite per interface of chat/store.go, each exported so that
// an adapter of one interface alone can run its own. Every suite takes a factory of fresh,
// empty stores that register their own cleanup on t; they are whole chat.Stores because
// the suites set up users and rooms to exercise the interface under test.

// storeCase is one behaviour of a suite.
type storeCase struct {
	name string
	run  func(t *testing.T, s chat.Store)
}

func runStoreCases(t *testing.T, newStore func(t *testing.T) chat.Store, cases []storeCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newStore(t)) })
	}
}

// TestStore runs every suite of chat.Store's interfaces, each under its own name.
func TestStore(t *testing.T, newStore func(t *testing.T) chat.Store) {
	t.Run("Users", func(t *testing.T) { TestUserStore(t, newStore) })
	t.Run("RefreshTokens", func(t *testing.T) { TestTokenStore(t, newStore) })
	t.Run("Revocations", func(t *testing.T) { TestRevocationStore(t, newStore) })
	t.Run("Rooms", func(t *testing.T) { TestRoomStore(t, newStore) })
	t.Run("Members", func(t *testing.T) { TestMemberStore(t, newStore) })
	t.Run("Moderation", func(t *testing.T) { TestModerationStore(t, newStore) })
	t.Run("Cursors", func(t *testing.T) { TestCursorStore(t, newStore) })
	t.Run("Deliveries", func(t *testing.T) { TestDeliveryStore(t, newStore) })
	t.Run("Messages", func(t *testing.T) { TestMessageStore(t, newStore) })
	t.Run("Outbox", func(t *testing.T) { TestOutboxStore(t, newStore) })
	t.Run("UserAdmin", func(t *testing.T) { TestUserAdminStore(t, newStore) })
	t.Run("Audit", func(t *testing.T) { TestAuditStore(t, newStore) })
	t.Run("Blocks", func(t *testing.T) { TestBlockStore(t, newStore) })
	t.Run("Reports", func(t *testing.T) { TestReportStore(t, newStore) })
	t.Run("UserData", func(t *testing.T) { TestUserDataStore(t, newStore) })
	t.Run("RoomHeads", func(t *testing.T) { TestRoomHeadStore(t, newStore) })
	t.Run("MessageChanges", func(t *testing.T) { TestMessageChangeStore(t, newStore) })
	t.Run("Mentions", func(t *testing.T) { TestMentionStore(t, newStore) })
	t.Run("Retention", func(t *testing.T) { TestRetentionStore(t, newStore) })
}

// TestUserStore runs the contract of chat.UserStore.
func TestUserStore(t *testing.T, newStore func(t *testing.T) chat.Store) {
	runStoreCases(t, newStore, []storeCase{
		{"CreateAndLookUp", testUserCreateAndLookUp},
		{"DuplicateUsernameConflicts", testUserDuplicate},
		{"NotFound", testUserNotFound},
		{"ByIDs", testUsersByIDs},
		{"Search", testSearchUsers},
		{"ConcurrentSameUsername", testUserConcurrentCreate},
	})
}

// TestRoomStore runs the contract of chat.RoomStore.
func TestRoomStore(t *testing.T, newStore func(t *testing.T) chat.Store) {
	runStoreCases(t, newStore, []storeCase{
		{"CreateGroup", testCreateGroupRoom},
		{"CreateDirect", testCreateDirectRoom},
		{"NotFound", testRoomNotFound},
		{"UserRooms", testUserRooms},
		{"UserRoomPages", testUserRoomPages},
		{"UserRoomIDs", testUserRoomIDs},
		{"TimesAreUTCMilliseconds", testTimes},
	})
}

// TestMemberStore runs the contract of chat.MemberStore.
func TestMemberStore(t *testing.T, newStore func(t *testing.T) chat.Store) {
	runStoreCases(t, newStore, []storeCase{
		{"Member", testMember},
		{"AddMembers", testAddMembers},
		{"RemoveMember", testRemoveMember},
		{"SetMuted", testSetMuted},
	})
}

// TestCursorStore runs the contract of chat.CursorStore.
func TestCursorStore(t *testing.T, newStore func(t *testing.T) chat.Store) {
	runStoreCases(t, newStore, []storeCase{
		{"AdvanceReadCursor", testAdvanceReadCursor},
		{"ConcurrentAdvanceReadCursor", testConcurrentAdvanceReadCursor},
		{"UnreadCount", testUnreadCount},
		{"UnreadTotal", testUnreadTotal},
	})
}

// TestMessageStore runs the contract of chat.MessageStore.
func TestMessageStore(t *testing.T, newStore func(t *testing.T) chat.Store) {
	runStoreCases(t, newStore, []storeCase{
		{"SeqPerRoom", testMessageSeq},
		{"IdempotentByClientMsgID", testMessageIdempotent},
		{"AdvanceCursors", testMessageAdvance},
		{"CreatedCountsUnread", testMessageCreatedUnread},
		{"MediaID", testMessageMediaID},
		{"History", testHistory},
		{"ConcurrentCreate", testConcurrentCreateMessage},
		{"ConcurrentRetries", testConcurrentRetries},
	})
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
