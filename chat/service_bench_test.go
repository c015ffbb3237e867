package chat_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
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

// BenchmarkReactionStorm measures a reaction storm on one message of a 1,000-member room
// on SQLite: each operation is one member's reaction added (or, on the way back, removed)
// through the service — membership check, the store's write (one small row and the room's
// next rev), the message read back with its reactions, its unread count, and one
// MESSAGE_UPDATED encoded and published. The message carries up to 1,000 reactors, so the
// event grows with them: eventBytes/op is its average size.
func BenchmarkReactionStorm(b *testing.B) {
	b.Run("serial", func(b *testing.B) { benchReactionStorm(b, 1) })
	// Four clients at once: the single writer serializes their writes.
	b.Run("clients=4", func(b *testing.B) { benchReactionStorm(b, 4) })
}

func benchReactionStorm(b *testing.B, clients int) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "chat.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	bus := memory.NewBus()
	defer bus.Close()
	var bytes, events atomic.Int64
	bus.Subscribe(chat.TopicSessions, handlerFunc(func(ev chat.Event) {
		if ev.Type == chat.EventMessageUpdated {
			bytes.Add(int64(len(ev.Data)))
			events.Add(1)
		}
	}))
	svc := chat.NewService(chat.ServiceConfig{}, st, bus, memory.NewPresence(memory.PresenceConfig{}))
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
	m, _, err := svc.SendMessage(ctx, ids[0], room.ID, chat.NewMessage{Text: "react!"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	// clients goroutines share the b.N reactions, each with its own members.
	per := len(ids) / clients
	var wg sync.WaitGroup
	for c := range clients {
		mine := ids[c*per : (c+1)*per]
		wg.Go(func() {
			for i := 0; i < b.N/clients; i++ {
				var err error
				u := mine[i%len(mine)]
				if (i/len(mine))%2 == 0 {
					_, err = svc.React(ctx, u, room.ID, m.ID, "❤️")
				} else {
					_, err = svc.Unreact(ctx, u, room.ID, m.ID, "❤️")
				}
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if n := events.Load(); n > 0 {
		b.ReportMetric(float64(bytes.Load())/float64(n), "eventBytes/op")
	}
}

type handlerFunc func(chat.Event)

func (f handlerFunc) HandleEvent(ev chat.Event) { f(ev) }
func (f handlerFunc) HandleGap()                {}
