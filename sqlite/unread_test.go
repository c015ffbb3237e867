package sqlite_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// TestUnreadCountFollowsMembership checks the member count that UnreadCount subtracts
// from: the triggers of migration 4 keep it through creation, additions (repeated ones
// included), removals, and reads.
func TestUnreadCountFollowsMembership(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	ids := make([]string, 5)
	for i := range ids {
		u := chat.User{ID: chat.NewID(), Username: fmt.Sprint("m", i), DisplayName: "M", CreatedAt: chat.At(time.Now())}
		if err := s.CreateUser(ctx, u, "h"); err != nil {
			t.Fatal(err)
		}
		ids[i] = u.ID
	}
	room := chat.Room{ID: chat.NewID(), Type: chat.RoomGroup, Name: "r", MemberIDs: ids[:3], CreatedAt: chat.At(time.Now())}
	if err := s.CreateRoom(ctx, room, ""); err != nil {
		t.Fatal(err)
	}
	send := func(text string) int64 {
		t.Helper()
		m, _, err := s.CreateMessage(ctx, chat.Message{ID: chat.NewID(), RoomID: room.ID, SenderID: ids[0], ClientMsgID: text,
			Type: chat.MessageText, Text: text, CreatedAt: chat.At(time.Now())}, ids[:1])
		if err != nil {
			t.Fatal(err)
		}
		return m.Seq
	}
	check := func(what string, seq int64, want int) {
		t.Helper()
		if n, err := s.UnreadCount(ctx, room.ID, ids[0], seq); err != nil || n != want {
			t.Fatalf("%s: UnreadCount = %d, %v; want %d", what, n, err, want)
		}
	}
	seq := send("one")
	check("three members, the sender advanced", seq, 2)
	if _, err := s.AddMembers(ctx, room.ID, []string{ids[3], ids[4], ids[3], ids[1]}, time.Now()); err != nil {
		t.Fatal(err)
	}
	seq = send("two")
	check("two added, one of them twice, one already a member", seq, 4)
	if err := s.RemoveMember(ctx, room.ID, ids[2]); err != nil {
		t.Fatal(err)
	}
	check("one removed", seq, 3)
	if _, err := s.AdvanceReadCursor(ctx, room.ID, ids[1], seq); err != nil {
		t.Fatal(err)
	}
	check("one read up to the message", seq, 2)
	check("a later seq: everyone but the sender behind", seq+1, 3)
}
