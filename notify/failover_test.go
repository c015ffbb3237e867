package notify_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/fcm/fcmtest"
	"github.com/chatchat/chatchat/internal/testenv"
	"github.com/chatchat/chatchat/notify"
	"github.com/chatchat/chatchat/redis"
)

// TestKilledWorkerMidBurst runs two notification workers on one Redis Stream, each with
// its own FCM endpoint, and stops one in the middle of a burst, without acknowledging
// what it holds. The survivor reclaims the stopped worker's jobs, and every device gets
// every message exactly once across the two endpoints.
func TestKilledWorkerMidBurst(t *testing.T) {
	rs := testenv.Redis(t)
	prefix := rs.Prefix(t)
	e := newEnv(t)
	// Short, so that the test waits little for the reclaim; long enough that the
	// survivor never takes a job the other is still working on.
	const claimIdle = 2 * time.Second
	q := redis.NewQueue(rs.Client(t), redis.QueueConfig{Prefix: prefix, ClaimIdle: claimIdle})
	e.queue = q
	e.pending = func() int {
		n, err := q.Len(context.Background())
		if err != nil {
			t.Fatalf("queue length: %v", err)
		}
		return int(n)
	}
	e.newService()

	ann, bob, cat := e.user(t, "Ann"), e.user(t, "Bob"), e.user(t, "Cat")
	tokens := []string{"bob-phone", "bob-tablet", "cat-phone", "cat-browser"}
	e.device(t, bob, chat.PlatformAndroid, tokens[0])
	e.device(t, bob, chat.PlatformIOS, tokens[1])
	e.device(t, cat, chat.PlatformAndroid, tokens[2])
	e.device(t, cat, chat.PlatformWeb, tokens[3])
	r := e.room(t, chat.RoomGroup, "Team", ann, bob, cat)

	const burst = 30
	var msgs []chat.Message
	for i := range burst {
		msgs = append(msgs, e.send(t, ann, r.ID, fmt.Sprint("message ", i)))
	}

	// The doomed worker is stopped from inside its endpoint, while a push is in flight
	// and more of its jobs are in progress; the push in flight is answered and recorded.
	doomedSrv, survivorSrv := fcmtest.NewServer(t), fcmtest.NewServer(t)
	var (
		stopDoomed func()
		stopOnce   sync.Once
		stopped    = make(chan struct{})
		ready      = make(chan struct{})
	)
	doomedSrv.SetReply(func(req fcmtest.Request) fcmtest.Reply {
		if len(doomedSrv.Requests()) == 10 {
			stopOnce.Do(func() {
				go func() {
					<-ready
					stopDoomed()
					close(stopped)
				}()
			})
		}
		return fcmtest.Reply{}
	})
	cfg := notify.Config{Concurrency: 3}
	stopDoomed = e.run(t, q.Consumer("doomed"), sender(t, doomedSrv), cfg)
	close(ready)
	e.run(t, q.Consumer("survivor"), sender(t, survivorSrv), cfg)

	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		t.Fatal("the doomed worker was never stopped")
	}
	e.drained(t)

	seen := map[string]int{}
	for _, srv := range []*fcmtest.Server{doomedSrv, survivorSrv} {
		for _, req := range srv.Requests() {
			seen[req.MessageID()+"/"+req.Token]++
		}
	}
	for _, m := range msgs {
		for _, tok := range tokens {
			if n := seen[m.ID+"/"+tok]; n != 1 {
				t.Errorf("message %q pushed to %s %d times, want once", m.Text, tok, n)
			}
		}
	}
	if len(seen) != burst*len(tokens) {
		t.Errorf("%d distinct pushes, want %d", len(seen), burst*len(tokens))
	}
	if n := len(doomedSrv.Requests()); n < 10 || n >= burst*len(tokens) {
		t.Errorf("the doomed worker pushed %d, want it stopped mid-burst", n)
	}
	for _, u := range []chat.User{bob, cat} {
		if hs := e.history(t, u); len(hs) != burst*2 {
			t.Errorf("%s has %d history entries, want %d", u.Username, len(hs), burst*2)
		}
	}
}
