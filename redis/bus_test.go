package redis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/chattest"
	"github.com/chatchat/chatchat/internal/testenv"
	"github.com/chatchat/chatchat/redis"
)

func TestBus(t *testing.T) {
	srv := testenv.Redis(t)
	chattest.TestBus(t, func(t *testing.T) (chat.Bus, chat.Bus) {
		prefix := srv.Prefix(t)
		// Two clients, as two nodes have.
		return newBus(t, srv.Client(t), prefix), newBus(t, srv.Client(t), prefix)
	})
}

func newBus(tb testing.TB, client goredis.UniversalClient, prefix string) *redis.Bus {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := redis.NewBus(ctx, client, redis.BusConfig{Prefix: prefix, Topics: []chat.Topic{chat.TopicSessions, chat.TopicPush}})
	if err != nil {
		tb.Fatalf("NewBus: %v", err)
	}
	tb.Cleanup(func() { _ = b.Close() })
	return b
}

// TestBusGapAfterReconnect kills the subscriber's connection from the server side and
// checks that the handlers hear of the gap and that delivery resumes.
func TestBusGapAfterReconnect(t *testing.T) {
	srv := testenv.Redis(t)
	prefix := srv.Prefix(t)
	// The subscriber's client is named so that only its connection is killed: the server
	// may be shared with other tests.
	name := strings.TrimSuffix(strings.ReplaceAll(prefix, ":", "-"), "-")
	subClient := goredis.NewClient(&goredis.Options{Addr: srv.Addr, ClientName: name})
	t.Cleanup(func() { _ = subClient.Close() })
	sub := newBus(t, subClient, prefix)
	pub := newBus(t, srv.Client(t), prefix)
	rec := chattest.NewEventRecorder()
	defer sub.Subscribe(chat.TopicSessions, rec)()
	ctx := context.Background()

	publish := func(i int) {
		t.Helper()
		ev := chat.Event{Type: chat.EventMessageCreated, RoomID: "r", Data: json.RawMessage(`{}`), Origin: "n", At: int64(i)}
		if err := pub.Publish(ctx, ev); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}
	publish(0)
	rec.WaitEvents(t, 1)
	if n := rec.Gaps(); n != 0 {
		t.Fatalf("gaps before any break = %d, want 0", n)
	}

	admin := srv.Client(t)
	for round := 1; round <= 2; round++ {
		id := pubsubClientID(t, admin, name)
		killed, err := admin.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub", "ID", id).Int()
		if err != nil || killed != 1 {
			t.Fatalf("CLIENT KILL TYPE pubsub ID %d = %d, %v; want 1 killed", id, killed, err)
		}
		rec.WaitGaps(t, round)
		publish(round)
		got := rec.WaitEvents(t, round+1)
		if last := got[len(got)-1].At; last != int64(round) {
			t.Fatalf("after reconnect %d got at=%d, want %d", round, last, round)
		}
	}
}

// pubsubClientID finds the id of the pub/sub connection of the client with the name.
func pubsubClientID(tb testing.TB, admin *goredis.Client, name string) int64 {
	tb.Helper()
	list, err := admin.Do(context.Background(), "CLIENT", "LIST", "TYPE", "pubsub").Text()
	if err != nil {
		tb.Fatalf("CLIENT LIST: %v", err)
	}
	for _, line := range strings.Split(list, "\n") {
		var id int64
		var match bool
		for _, field := range strings.Fields(line) {
			k, v, _ := strings.Cut(field, "=")
			switch {
			case k == "id":
				fmt.Sscan(v, &id)
			case k == "name" && v == name:
				match = true
			}
		}
		if match {
			return id
		}
	}
	tb.Fatalf("no pubsub connection named %s in:\n%s", name, list)
	return 0
}

// TestBusPublishFailsWhenRedisIsDown stops a private server under a bus: Publish must fail
// with an error, not hang, and Close must still return.
func TestBusPublishFailsWhenRedisIsDown(t *testing.T) {
	srv := testenv.StartRedis(t)
	client := goredis.NewClient(&goredis.Options{Addr: srv.Addr, MaxRetries: -1})
	t.Cleanup(func() { _ = client.Close() })
	b, err := redis.NewBus(context.Background(), client, redis.BusConfig{PublishTimeout: time.Second})
	if err != nil {
		t.Fatalf("NewBus: %v", err)
	}
	if err := b.Ping(context.Background()); err != nil {
		t.Fatalf("Ping while up: %v", err)
	}
	srv.Stop()
	err = b.Publish(context.Background(), chat.Event{Type: chat.EventTyping})
	if err == nil || !strings.Contains(err.Error(), "redis: publish") {
		t.Fatalf("Publish with Redis down = %v, want a wrapped error", err)
	}
	if err := b.Ping(context.Background()); err == nil {
		t.Fatalf("Ping with Redis down = nil, want an error")
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestNewBusFailsWhenRedisIsDown(t *testing.T) {
	srv := testenv.StartRedis(t)
	srv.Stop()
	client := goredis.NewClient(&goredis.Options{Addr: srv.Addr, MaxRetries: -1})
	t.Cleanup(func() { _ = client.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := redis.NewBus(ctx, client, redis.BusConfig{}); err == nil {
		t.Fatalf("NewBus with Redis down = nil error")
	}
}

// signal is a handler that hands each event to the benchmark loop.
type signal chan struct{}

func (s signal) HandleEvent(chat.Event) { s <- struct{}{} }
func (s signal) HandleGap()             {}

func BenchmarkBusRoundTrip(b *testing.B) {
	srv := testenv.Redis(b)
	prefix := srv.Prefix(b)
	pub := newBus(b, srv.Client(b), prefix)
	sub := newBus(b, srv.Client(b), prefix)
	got := make(signal, 1)
	defer sub.Subscribe(chat.TopicSessions, got)()
	ev := chat.Event{
		Type: chat.EventMessageCreated, RoomID: "room-1", Origin: "node-a", At: 1,
		Data: json.RawMessage(`{"message":{"id":"m1","roomId":"room-1","seq":1,"text":"hello"}}`),
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := pub.Publish(ctx, ev); err != nil {
			b.Fatal(err)
		}
		select {
		case <-got:
		case <-time.After(10 * time.Second):
			b.Fatal("event not received")
		}
	}
}

// TestBusSilentConnection makes the subscription's connection go silent without an error:
// the health check must notice, resubscribe on a new connection and report the gap.
func TestBusSilentConnection(t *testing.T) {
	srv := testenv.Redis(t)
	prefix := srv.Prefix(t)
	px := newProxy(t, srv.Addr)
	subClient := goredis.NewClient(&goredis.Options{Addr: px.addr})
	t.Cleanup(func() { _ = subClient.Close() })
	sub, err := redis.NewBus(context.Background(), subClient, redis.BusConfig{Prefix: prefix, HealthCheck: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("NewBus: %v", err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	pub := newBus(t, srv.Client(t), prefix)
	rec := chattest.NewEventRecorder()
	defer sub.Subscribe(chat.TopicSessions, rec)()
	ctx := context.Background()

	ev := chat.Event{Type: chat.EventTyping, Data: json.RawMessage(`{}`), Origin: "n"}
	if err := pub.Publish(ctx, ev); err != nil {
		t.Fatal(err)
	}
	rec.WaitEvents(t, 1)

	px.silence()
	rec.WaitGaps(t, 1)
	ev.At = 1
	if err := pub.Publish(ctx, ev); err != nil {
		t.Fatal(err)
	}
	got := rec.WaitEvents(t, 2)
	if got[len(got)-1].At != 1 {
		t.Fatalf("after resubscribing got at=%d, want 1", got[len(got)-1].At)
	}
}

// TestPublishBatch: a batch's events reach their topics' subscribers in order and its job
// reaches the queue's consumers, from one call; a queue of another kind is left to the
// caller, with nothing sent.
func TestPublishBatch(t *testing.T) {
	srv := testenv.Redis(t)
	prefix := srv.Prefix(t)
	pub, sub := newBus(t, srv.Client(t), prefix), newBus(t, srv.Client(t), prefix)
	sessions, push := chattest.NewEventRecorder(), chattest.NewEventRecorder()
	defer sub.Subscribe(chat.TopicSessions, sessions)()
	defer sub.Subscribe(chat.TopicPush, push)()
	q := redis.NewQueue(srv.Client(t), redis.QueueConfig{Prefix: prefix})

	created := chat.Event{Type: chat.EventMessageCreated, RoomID: "r", Seq: 7, Data: json.RawMessage(`{"n":1}`), Origin: "n", At: 1}
	fcm := chat.Event{Type: chat.EventFCMTokenMessage, RoomID: "r", Data: json.RawMessage(`{"n":1}`), Origin: "n", At: 1}
	job := chat.PushJob{Message: chat.Message{ID: "m7", RoomID: "r", Seq: 7}, EnqueuedAt: 1}
	sent, err := pub.PublishBatch(t.Context(), []chat.Event{created, fcm}, q, &job)
	if !sent || err != nil {
		t.Fatalf("PublishBatch = %t, %v", sent, err)
	}
	if got := sessions.WaitEvents(t, 1); got[0].Type != created.Type || got[0].Seq != 7 {
		t.Fatalf("sessions got %+v", got[0])
	}
	if got := push.WaitEvents(t, 1); got[0].Type != fcm.Type {
		t.Fatalf("push got %+v", got[0])
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	ds, err := q.Consumer("c1").Receive(ctx, 10)
	if err != nil || len(ds) != 1 || ds[0].Job.Message.ID != "m7" {
		t.Fatalf("queue: %+v, %v", ds, err)
	}

	// Events alone need no queue.
	if sent, err := pub.PublishBatch(t.Context(), []chat.Event{created}, nil, nil); !sent || err != nil {
		t.Fatalf("PublishBatch without a job = %t, %v", sent, err)
	}
	sessions.WaitEvents(t, 2)

	other := otherQueue{}
	if sent, err := pub.PublishBatch(t.Context(), []chat.Event{created}, other, &job); sent || err != nil {
		t.Fatalf("PublishBatch with another kind of queue = %t, %v; want false, nil", sent, err)
	}
}

type otherQueue struct{}

func (otherQueue) Enqueue(context.Context, chat.PushJob) error { return nil }
