package sqlite_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// BenchmarkChangesCatchUp measures a device's catch-up after 10,000 changes (edits and
// reactions by 50 members) to 1,000 messages of a room: each op pages the changes feed from
// the rev before them, 500 at a time, to the end — the messages in their current state.
func BenchmarkChangesCatchUp(b *testing.B) {
	ctx := context.Background()
	s := open(b)
	var users []chat.User
	for i := range 50 {
		u := chat.User{ID: chat.NewID(), Username: fmt.Sprint("u", i), DisplayName: "U", CreatedAt: chat.At(time.Now())}
		if err := s.CreateUser(ctx, u, "x"); err != nil {
			b.Fatal(err)
		}
		users = append(users, u)
	}
	var ids []string
	for _, u := range users {
		ids = append(ids, u.ID)
	}
	room := chat.Room{ID: chat.NewID(), Type: chat.RoomGroup, Name: "r", MemberIDs: ids, CreatedAt: chat.At(time.Now())}
	if err := s.CreateRoom(ctx, room, ""); err != nil {
		b.Fatal(err)
	}
	var msgs []chat.Message
	for i := range 1000 {
		m, _, err := s.CreateMessage(ctx, chat.Message{ID: chat.NewID(), RoomID: room.ID, SenderID: ids[i%50],
			Type: chat.MessageText, Text: fmt.Sprint("message ", i), CreatedAt: chat.At(time.Now())}, nil)
		if err != nil {
			b.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	from := msgs[len(msgs)-1].Rev
	for i := range 10000 {
		c := chat.Change{RoomID: room.ID, MessageID: msgs[(i*7)%1000].ID, UserID: ids[i%50], At: time.Now(), MaxEmoji: 20}
		if i%2 == 0 {
			c.Kind, c.Text = chat.ChangeEdit, fmt.Sprint("edit ", i)
		} else {
			c.Kind, c.Emoji = chat.ChangeReact, fmt.Sprint("e", i%5)
		}
		if _, _, err := s.ChangeMessage(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		after, n := from, 0
		for {
			page, more, err := s.Changes(ctx, room.ID, after, 500)
			if err != nil {
				b.Fatal(err)
			}
			n += len(page)
			if !more {
				break
			}
			after = page[len(page)-1].Rev
		}
		if n != 1000 {
			b.Fatalf("caught up with %d messages, want 1000", n)
		}
	}
}
