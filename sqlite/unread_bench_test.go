package sqlite_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// BenchmarkUnreadCount compares the two ways SendMessage can learn a message's unread
// count in a large room: listing the members (what it did) and counting them in SQL
// (chat.CursorStore.UnreadCount), and its delivery twin (chat.DeliveryStore.UndeliveredCount).
func BenchmarkUnreadCount(b *testing.B) {
	ctx := context.Background()
	s := open(b)
	const members = 1000
	ids := make([]string, members)
	for i := range ids {
		u := chat.User{ID: chat.NewID(), Username: fmt.Sprint("u", i), DisplayName: "U", CreatedAt: chat.At(time.Now())}
		if err := s.CreateUser(ctx, u, "h"); err != nil {
			b.Fatal(err)
		}
		ids[i] = u.ID
	}
	room := chat.Room{ID: chat.NewID(), Type: chat.RoomGroup, Name: "r", MemberIDs: ids, CreatedAt: chat.At(time.Now())}
	if err := s.CreateRoom(ctx, room, ""); err != nil {
		b.Fatal(err)
	}
	m, _, err := s.CreateMessage(ctx, chat.Message{ID: chat.NewID(), RoomID: room.ID, SenderID: ids[0], ClientMsgID: "c",
		Type: chat.MessageText, Text: "hello", CreatedAt: chat.At(time.Now())}, ids[:1])
	if err != nil {
		b.Fatal(err)
	}
	b.Run(fmt.Sprintf("Members/members=%d", members), func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Members(ctx, room.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run(fmt.Sprintf("UnreadCount/members=%d", members), func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if n, err := s.UnreadCount(ctx, room.ID, ids[0], m.Seq); err != nil || n != members-1 {
				b.Fatal(n, err)
			}
		}
	})
	b.Run(fmt.Sprintf("UndeliveredCount/members=%d", members), func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if n, err := s.UndeliveredCount(ctx, room.ID, ids[0], m.Seq); err != nil || n != members-1 {
				b.Fatal(n, err)
			}
		}
	})
}
