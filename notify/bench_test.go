package notify_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/memory"
	"github.com/chatchat/chatchat/notify"
)

// BenchmarkWorkerLargeRoom is the push worker's cost per message of a 1,000-member group
// in which a few members have a device (all offline): each op is one message's job, from
// the queue to the pushes logged. The messages are stored (and their jobs queued) with the
// timer stopped.
func BenchmarkWorkerLargeRoom(b *testing.B) {
	for _, withDevices := range []int{0, 10} {
		b.Run(fmt.Sprintf("devices=%d", withDevices), func(b *testing.B) {
			e := newEnv(b)
			users := make([]chat.User, 1000)
			for i := range users {
				users[i] = e.user(b, fmt.Sprintf("u%04d", i))
			}
			for i := range withDevices {
				e.device(b, users[1+i], chat.PlatformAndroid, fmt.Sprintf("tok-%d", i))
			}
			ctx := context.Background()
			ids := make([]string, 0, len(users)-1)
			for _, u := range users[1:] {
				ids = append(ids, u.ID)
			}
			r, _, err := e.svc.CreateRoom(ctx, users[0].ID, chat.NewRoom{Type: chat.RoomGroup, Name: "big"})
			if err != nil {
				b.Fatal(err)
			}
			for i := 0; i < len(ids); i += 100 {
				if _, err := e.svc.AddMembers(ctx, users[0].ID, r.ID, ids[i:min(i+100, len(ids))]); err != nil {
					b.Fatal(err)
				}
			}
			for i := 0; i < b.N; i++ {
				e.send(b, users[0], r.ID, fmt.Sprintf("m%d", i))
			}
			b.ResetTimer()
			start := time.Now()
			stop := e.run(b, e.queue.(*memory.Queue).Consumer("bench"), nil, notify.Config{Registerer: e.reg, Concurrency: 1})
			for e.pending() > 0 {
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			stop()
			b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "µs/message")
		})
	}
}
