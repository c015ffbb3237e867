package chat_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/memory"
	"github.com/chatchat/chatchat/sqlite"
)

// BenchmarkSendMessage measures the service's send path (membership check, viewers,
// store, unread count, encode and publish) into a 1,000-member room on SQLite.
func BenchmarkSendMessage(b *testing.B) {
	for _, tc := range []struct {
		name string
		ttl  time.Duration
	}{{"members1000", 0}} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "chat.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			bus := memory.NewBus()
			defer bus.Close()
			svc := chat.NewService(chat.ServiceConfig{MembershipTTL: tc.ttl}, st, bus, memory.NewPresence(memory.PresenceConfig{}))
			var ids []string
			for i := 0; i < 1000; i++ {
				u := chat.User{ID: chat.NewID(), Username: fmt.Sprint("u", i), DisplayName: "U", CreatedAt: chat.At(time.Now())}
				if err := st.CreateUser(ctx, u, "x"); err != nil {
					b.Fatal(err)
				}
				ids = append(ids, u.ID)
			}
			room, _, err := svc.CreateRoom(ctx, ids[0], chat.NewRoom{Type: "group", MemberIDs: ids[1:]})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := svc.SendMessage(ctx, ids[0], room.ID, chat.NewMessage{Text: "hello"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
