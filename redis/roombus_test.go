package redis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/chattest"
	"github.com/chatchat/chatchat/internal/testenv"
	"github.com/chatchat/chatchat/redis"
)

// waitLimit bounds the waits of these tests: a guard against hanging on a shared machine.
const waitLimit = 10 * time.Second

// roomEnv is a Redis that room-mode tests run on: one server, or a Redis Cluster.
type roomEnv struct {
	client func(tb testing.TB) goredis.UniversalClient // a new client, as a node has
	prefix func(tb testing.TB) string                  // a prefix of the test's own
	addrs  []string                                    // every server (PUBSUB SHARDNUMSUB is per node)
}

// subscribers returns how many connections subscribe to a sharded channel, over every node.
func (env roomEnv) subscribers(tb testing.TB, ch string) int64 {
	tb.Helper()
	var n int64
	for _, addr := range env.addrs {
		rc := goredis.NewClient(&goredis.Options{Addr: addr})
		got, err := rc.PubSubShardNumSub(context.Background(), ch).Result()
		_ = rc.Close()
		if err != nil {
			tb.Fatalf("PUBSUB SHARDNUMSUB on %s: %v", addr, err)
		}
		n += got[ch]
	}
	return n
}

func singleRedis(t *testing.T) roomEnv {
	srv := testenv.Redis(t)
	return roomEnv{
		client: func(tb testing.TB) goredis.UniversalClient { return srv.Client(tb) },
		prefix: srv.Prefix,
		addrs:  []string{srv.Addr},
	}
}

// clusterRedis is a private cluster: the test's name is prefix enough.
func clusterRedis(t *testing.T) roomEnv {
	c := testenv.StartRedisCluster(t)
	return roomEnv{
		client: func(tb testing.TB) goredis.UniversalClient { return c.Client(tb) },
		prefix: func(tb testing.TB) string { return strings.ReplaceAll(tb.Name(), "/", ".") + ":" },
		addrs:  c.Addrs,
	}
}

// TestRoomBus runs the bus contract on the room mode, each node holding the suite's rooms.
func TestRoomBus(t *testing.T) { testRoomBusContract(t, singleRedis(t)) }

// TestRoomBusOnCluster runs the room mode's tests that need no server-side tricks on a
// Redis Cluster of three primaries: rooms' channels live on different nodes.
func TestRoomBusOnCluster(t *testing.T) {
	env := clusterRedis(t)
	t.Run("Contract", func(t *testing.T) { testRoomBusContract(t, env) })
	t.Run("RoutesByRoom", func(t *testing.T) { testRoomBusRoutesByRoom(t, env) })
	t.Run("ReleasesAfterDelay", func(t *testing.T) { testRoomBusReleasesAfterDelay(t, env) })
	t.Run("PublishBatch", func(t *testing.T) { testRoomBusPublishBatch(t, env) })
}

func testRoomBusContract(t *testing.T, env roomEnv) {
	chattest.TestBus(t, func(t *testing.T) (chat.Bus, chat.Bus) {
		prefix := env.prefix(t)
		pub := newRoomBus(t, env.client(t), redis.RoomBusConfig{Prefix: prefix})
		sub := newRoomBus(t, env.client(t), redis.RoomBusConfig{Prefix: prefix})
		for _, b := range []*redis.RoomBus{pub, sub} {
			holdRooms(t, b, "room-0", "room-1", "room-2")
		}
		return pub, sub
	})
}

func newRoomBus(tb testing.TB, client goredis.UniversalClient, cfg redis.RoomBusConfig) *redis.RoomBus {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if cfg.Topics == nil {
		cfg.Topics = []chat.Topic{chat.TopicSessions, chat.TopicPush}
	}
	b, err := redis.NewRoomBus(ctx, client, cfg)
	if err != nil {
		tb.Fatalf("NewRoomBus: %v", err)
	}
	tb.Cleanup(func() { _ = b.Close() })
	return b
}

// holdRooms holds the rooms on b and waits until Redis confirms their subscriptions.
func holdRooms(tb testing.TB, b *redis.RoomBus, ids ...string) {
	tb.Helper()
	for _, id := range ids {
		b.HoldRoom(id)
	}
	waitFor(tb, "rooms routed", func() bool {
		for _, id := range ids {
			if !b.RoomRouted(id) {
				return false
			}
		}
		return true
	})
}

func waitFor(tb testing.TB, what string, ok func() bool) {
	tb.Helper()
	deadline := time.Now().Add(waitLimit)
	for !ok() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// roomRecorder is an EventRecorder that also counts room gaps.
type roomRecorder struct {
	*chattest.EventRecorder
	mu   sync.Mutex
	gaps map[string]int
}

func newRoomRecorder() *roomRecorder {
	return &roomRecorder{EventRecorder: chattest.NewEventRecorder(), gaps: map[string]int{}}
}

func (r *roomRecorder) HandleRoomGap(roomID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gaps[roomID]++
}

func (r *roomRecorder) roomGaps(roomID string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.gaps[roomID]
}

func roomEvent(room string, at int64) chat.Event {
	return chat.Event{Type: chat.EventMessageCreated, RoomID: room, Data: json.RawMessage(`{}`), Origin: "n", At: at}
}

// received returns chatchat_bus_events_received_total{type} from reg.
func received(tb testing.TB, reg *prometheus.Registry, typ string) float64 {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatalf("Gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "chatchat_bus_events_received_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "type" && l.GetValue() == typ {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// TestRoomBusRoutesByRoom: a node that holds room A and not room B receives A's events and
// not B's, as its handlers and its received counter show; a node holding B gets B's.
func TestRoomBusRoutesByRoom(t *testing.T) { testRoomBusRoutesByRoom(t, singleRedis(t)) }

func testRoomBusRoutesByRoom(t *testing.T, env roomEnv) {
	prefix := env.prefix(t)
	reg := prometheus.NewRegistry()
	a := newRoomBus(t, env.client(t), redis.RoomBusConfig{Prefix: prefix, Metrics: redis.NewMetrics(reg)})
	b := newRoomBus(t, env.client(t), redis.RoomBusConfig{Prefix: prefix})
	recA, recB := newRoomRecorder(), newRoomRecorder()
	defer a.Subscribe(chat.TopicSessions, recA)()
	defer b.Subscribe(chat.TopicSessions, recB)()
	holdRooms(t, a, "A")
	holdRooms(t, b, "B")
	waitFor(t, "the first subscription's room gap", func() bool { return recA.roomGaps("A") == 1 })

	ctx := context.Background()
	for i := range 3 {
		for _, room := range []string{"B", "A"} {
			if err := b.Publish(ctx, roomEvent(room, int64(i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	gotB := recB.WaitEvents(t, 3)
	gotA := recA.WaitEvents(t, 3)
	// A's last event arrived after B's were published; give a stray B event a moment more.
	time.Sleep(100 * time.Millisecond)
	for _, ev := range recA.Events() {
		if ev.RoomID != "A" {
			t.Fatalf("node A received an event of room %s", ev.RoomID)
		}
	}
	for _, ev := range gotB {
		if ev.RoomID != "B" {
			t.Fatalf("node B received an event of room %s", ev.RoomID)
		}
	}
	if len(gotA) != 3 || len(recA.Events()) != 3 {
		t.Fatalf("node A received %d events, want 3", len(recA.Events()))
	}
	if n := received(t, reg, chat.EventMessageCreated); n != 3 {
		t.Fatalf("node A's chatchat_bus_events_received_total{type=MESSAGE_CREATED} = %v, want 3", n)
	}

	// An event for both rooms reaches both nodes, once each.
	both := chat.Event{Type: chat.EventPresenceUpdated, RoomIDs: []string{"A", "B"}, Data: json.RawMessage(`{}`), Origin: "n", At: 9}
	if err := a.Publish(ctx, both); err != nil {
		t.Fatal(err)
	}
	recA.WaitEvents(t, 4)
	recB.WaitEvents(t, 4)

	// Events for a user go to the nodes that hold the user.
	b.HoldUser("u1")
	waitFor(t, "user routed", func() bool { return b.UserRouted("u1") })
	toUser := chat.Event{Type: "USER_NOTE", UserIDs: []string{"u1"}, Data: json.RawMessage(`{}`), Origin: "n", At: 10}
	if err := a.Publish(ctx, toUser); err != nil {
		t.Fatal(err)
	}
	if got := recB.WaitEvents(t, 5); got[4].Type != "USER_NOTE" {
		t.Fatalf("node B got %+v, want the user's event", got[4])
	}

	// ROOM_UPDATED reaches every node: membership caches and room maps follow it.
	upd := chat.Event{Type: chat.EventRoomUpdated, RoomID: "C", Data: json.RawMessage(`{}`), Origin: "n", At: 11}
	if err := a.Publish(ctx, upd); err != nil {
		t.Fatal(err)
	}
	recA.WaitEvents(t, 5)
	recB.WaitEvents(t, 6)
	time.Sleep(100 * time.Millisecond)
	if n := len(recA.Events()); n != 5 {
		t.Fatalf("node A received %d events, want 5 (USER_NOTE is not for it)", n)
	}
	if n := received(t, reg, chat.EventPresenceUpdated); n != 1 {
		t.Fatalf("node A's PRESENCE_UPDATED count = %v, want 1", n)
	}
}

// TestRoomBusReleasesAfterDelay: a released room stays subscribed for the release delay, a
// hold within it keeps the subscription (no new gap), and after it the node hears the room
// no more.
func TestRoomBusReleasesAfterDelay(t *testing.T) { testRoomBusReleasesAfterDelay(t, singleRedis(t)) }

func testRoomBusReleasesAfterDelay(t *testing.T, env roomEnv) {
	prefix := env.prefix(t)
	const delay = 300 * time.Millisecond
	sub := newRoomBus(t, env.client(t), redis.RoomBusConfig{Prefix: prefix, ReleaseDelay: delay})
	pub := newRoomBus(t, env.client(t), redis.RoomBusConfig{Prefix: prefix})
	rec := newRoomRecorder()
	defer sub.Subscribe(chat.TopicSessions, rec)()
	holdRooms(t, sub, "A")
	waitFor(t, "room gap", func() bool { return rec.roomGaps("A") == 1 })
	ctx := context.Background()
	subscribers := func() int64 { return env.subscribers(t, sub.RoomChannel("A")) }

	// Released and held again within the delay: nothing changes.
	sub.ReleaseRoom("A")
	sub.HoldRoom("A")
	time.Sleep(2 * delay)
	if n := subscribers(); n != 1 {
		t.Fatalf("subscribers of A after a release and hold = %d, want 1", n)
	}
	if n := rec.roomGaps("A"); n != 1 {
		t.Fatalf("room gaps after a release and hold = %d, want 1", n)
	}

	sub.ReleaseRoom("A")
	start := time.Now()
	if err := pub.Publish(ctx, roomEvent("A", 1)); err != nil {
		t.Fatal(err)
	}
	rec.WaitEvents(t, 1) // within the delay: still heard
	waitFor(t, "unsubscribe", func() bool { return subscribers() == 0 })
	if took := time.Since(start); took < delay-50*time.Millisecond {
		t.Fatalf("unsubscribed after %v, before the delay of %v", took, delay)
	}
	if err := pub.Publish(ctx, roomEvent("A", 2)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(rec.Events()); n != 1 {
		t.Fatalf("events after the release = %d, want 1", n)
	}
	if sub.RoomRouted("A") {
		t.Fatalf("RoomRouted(A) after the release")
	}

	// Held again: subscribed again, and the room re-syncs.
	holdRooms(t, sub, "A")
	waitFor(t, "second room gap", func() bool { return rec.roomGaps("A") == 2 })
}

// TestRoomBusGapAfterReconnect kills the subscriber's connections from the server side: each
// held room hears of the gap, the control channel's handlers too, and delivery resumes.
func TestRoomBusGapAfterReconnect(t *testing.T) {
	srv := testenv.Redis(t)
	prefix := srv.Prefix(t)
	name := strings.TrimSuffix(strings.ReplaceAll(prefix, ":", "-"), "-")
	subClient := goredis.NewClient(&goredis.Options{Addr: srv.Addr, ClientName: name})
	t.Cleanup(func() { _ = subClient.Close() })
	sub := newRoomBus(t, subClient, redis.RoomBusConfig{Prefix: prefix})
	pub := newRoomBus(t, srv.Client(t), redis.RoomBusConfig{Prefix: prefix})
	rec := newRoomRecorder()             // a chat server: room gaps
	cache := chattest.NewEventRecorder() // a membership cache: whole gaps
	defer sub.Subscribe(chat.TopicSessions, rec)()
	defer sub.Subscribe(chat.TopicSessions, cache)()
	holdRooms(t, sub, "A", "B")
	waitFor(t, "first room gaps", func() bool { return rec.roomGaps("A") == 1 && rec.roomGaps("B") == 1 })
	ctx := context.Background()
	admin := srv.Client(t)

	for round := 1; round <= 2; round++ {
		killPubSub(t, admin, name)
		waitFor(t, fmt.Sprintf("room gaps of round %d", round), func() bool {
			return rec.roomGaps("A") == round+1 && rec.roomGaps("B") == round+1
		})
		cache.WaitGaps(t, round)
		if rec.Gaps() != 0 {
			t.Fatalf("a room gap handler got %d whole gaps, want none", rec.Gaps())
		}
		waitFor(t, "rooms routed again", func() bool { return sub.RoomRouted("A") && sub.RoomRouted("B") })
		if err := pub.Publish(ctx, roomEvent("A", int64(round))); err != nil {
			t.Fatal(err)
		}
		got := rec.WaitEvents(t, round)
		if last := got[len(got)-1].At; last != int64(round) {
			t.Fatalf("after reconnect %d got at=%d, want %d", round, last, round)
		}
	}
}

// killPubSub kills every pub/sub connection of the client with the name (one per shard).
func killPubSub(tb testing.TB, admin *goredis.Client, name string) {
	tb.Helper()
	ctx := context.Background()
	list, err := admin.Do(ctx, "CLIENT", "LIST", "TYPE", "pubsub").Text()
	if err != nil {
		tb.Fatalf("CLIENT LIST: %v", err)
	}
	n := 0
	for _, line := range strings.Split(list, "\n") {
		if !strings.Contains(" "+line+" ", " name="+name+" ") {
			continue
		}
		for _, field := range strings.Fields(line) {
			if id, ok := strings.CutPrefix(field, "id="); ok {
				if err := admin.Do(ctx, "CLIENT", "KILL", "ID", id).Err(); err != nil {
					tb.Fatalf("CLIENT KILL ID %s: %v", id, err)
				}
				n++
			}
		}
	}
	if n < redis.RoomShards { // and the push topic's, when it is heard
		tb.Fatalf("killed %d pub/sub connections named %s, want at least %d", n, name, redis.RoomShards)
	}
}

// TestRoomBusSilentConnection: a shard's connection gone silent is replaced, and its rooms
// re-sync.
func TestRoomBusSilentConnection(t *testing.T) {
	srv := testenv.Redis(t)
	prefix := srv.Prefix(t)
	px := newProxy(t, srv.Addr)
	subClient := goredis.NewClient(&goredis.Options{Addr: px.addr})
	t.Cleanup(func() { _ = subClient.Close() })
	sub := newRoomBus(t, subClient, redis.RoomBusConfig{Prefix: prefix, HealthCheck: 100 * time.Millisecond})
	pub := newRoomBus(t, srv.Client(t), redis.RoomBusConfig{Prefix: prefix})
	rec := newRoomRecorder()
	defer sub.Subscribe(chat.TopicSessions, rec)()
	holdRooms(t, sub, "A")
	waitFor(t, "room gap", func() bool { return rec.roomGaps("A") == 1 })

	px.silence()
	waitFor(t, "room gap after silence", func() bool { return rec.roomGaps("A") == 2 })
	if err := pub.Publish(context.Background(), roomEvent("A", 1)); err != nil {
		t.Fatal(err)
	}
	if got := rec.WaitEvents(t, 1); got[0].At != 1 {
		t.Fatalf("after resubscribing got %+v", got[0])
	}
}

// TestRoomBusPublishBatch: a batch's room events and push event reach their subscribers
// from one call, as on the global bus.
func TestRoomBusPublishBatch(t *testing.T) { testRoomBusPublishBatch(t, singleRedis(t)) }

func testRoomBusPublishBatch(t *testing.T, env roomEnv) {
	prefix := env.prefix(t)
	pub := newRoomBus(t, env.client(t), redis.RoomBusConfig{Prefix: prefix})
	sub := newRoomBus(t, env.client(t), redis.RoomBusConfig{Prefix: prefix})
	holdRooms(t, sub, "r")
	sessions, push := chattest.NewEventRecorder(), chattest.NewEventRecorder()
	defer sub.Subscribe(chat.TopicSessions, sessions)()
	defer sub.Subscribe(chat.TopicPush, push)()
	q := redis.NewQueue(env.client(t), redis.QueueConfig{Prefix: prefix})
	created := chat.Event{Type: chat.EventMessageCreated, RoomID: "r", Seq: 7, Data: json.RawMessage(`{"n":1}`), Origin: "n", At: 1}
	fcm := chat.Event{Type: chat.EventFCMTokenMessage, RoomID: "r", Data: json.RawMessage(`{"n":1}`), Origin: "n", At: 1}
	job := chat.PushJob{Message: chat.Message{ID: "m7", RoomID: "r", Seq: 7}, EnqueuedAt: 1}
	if sent, err := pub.PublishBatch(t.Context(), []chat.Event{created, fcm}, q, &job); !sent || err != nil {
		t.Fatalf("PublishBatch = %t, %v", sent, err)
	}
	if got := sessions.WaitEvents(t, 1); got[0].Seq != 7 {
		t.Fatalf("sessions got %+v", got[0])
	}
	if got := push.WaitEvents(t, 1); got[0].Type != fcm.Type {
		t.Fatalf("push got %+v", got[0])
	}
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	ds, err := q.Consumer("c1").Receive(ctx, 10)
	if err != nil || len(ds) != 1 || ds[0].Job.Message.ID != "m7" {
		t.Fatalf("queue: %+v, %v", ds, err)
	}
}

// TestRoomBusPublishFailsWhenRedisIsDown: Publish fails fast and Close returns.
func TestRoomBusPublishFailsWhenRedisIsDown(t *testing.T) {
	srv := testenv.StartRedis(t)
	client := goredis.NewClient(&goredis.Options{Addr: srv.Addr, MaxRetries: -1})
	t.Cleanup(func() { _ = client.Close() })
	b, err := redis.NewRoomBus(context.Background(), client, redis.RoomBusConfig{PublishTimeout: time.Second})
	if err != nil {
		t.Fatalf("NewRoomBus: %v", err)
	}
	b.HoldRoom("A")
	srv.Stop()
	err = b.Publish(context.Background(), roomEvent("A", 1))
	if err == nil || !strings.Contains(err.Error(), "redis: publish") {
		t.Fatalf("Publish with Redis down = %v, want a wrapped error", err)
	}
	b.HoldRoom("B") // a hold never blocks, Redis or not
	done := make(chan struct{})
	go func() { _ = b.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(waitLimit):
		t.Fatalf("Close hangs with Redis down")
	}
}

// TestBusCountsReceived: the global bus counts what it hands on by type, a type it does not
// know as "other".
func TestBusCountsReceived(t *testing.T) {
	srv := testenv.Redis(t)
	prefix := srv.Prefix(t)
	reg := prometheus.NewRegistry()
	sub, err := redis.NewBus(t.Context(), srv.Client(t), redis.BusConfig{Prefix: prefix, Metrics: redis.NewMetrics(reg)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	pub := newBus(t, srv.Client(t), prefix)
	rec := chattest.NewEventRecorder()
	defer sub.Subscribe(chat.TopicSessions, rec)()
	for i, typ := range []string{chat.EventMessageCreated, chat.EventMessageCreated, "FROM_A_NEWER_NODE"} {
		ev := roomEvent("any", int64(i))
		ev.Type = typ
		if err := pub.Publish(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
	rec.WaitEvents(t, 3)
	if n := received(t, reg, chat.EventMessageCreated); n != 2 {
		t.Fatalf("MESSAGE_CREATED count = %v, want 2", n)
	}
	if n := received(t, reg, "other"); n != 1 {
		t.Fatalf("other count = %v, want 1", n)
	}
}
