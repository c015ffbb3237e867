package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatchat/chatchat/client"
	"github.com/chatchat/chatchat/internal/testenv"
	"github.com/chatchat/chatchat/redis"
	goredis "github.com/redis/go-redis/v9"
)

// startRoomCluster is startCluster with the bus in room mode.
func startRoomCluster(t *testing.T) *cluster {
	t.Helper()
	r := testenv.Redis(t)
	return startClusterOn(t, &cluster{redis: r, prefix: r.Prefix(t)}, r.URL(), "--bus-mode", "room", "--bus-release-delay", "1s")
}

// waitRoomSubscribers waits until n chat nodes hear the room's channel.
func (c *cluster) waitRoomSubscribers(t *testing.T, roomID string, n int64) {
	t.Helper()
	addrs := c.redisNodes
	if addrs == nil {
		addrs = []string{c.redis.Addr}
	}
	ch := redis.RoomChannel(c.prefix, roomID)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var subs int64
		for _, addr := range addrs { // PUBSUB SHARDNUMSUB counts a node's own subscribers
			rc := goredis.NewClient(&goredis.Options{Addr: addr})
			got, err := rc.PubSubShardNumSub(context.Background(), ch).Result()
			rc.Close()
			if err != nil {
				t.Fatalf("PUBSUB SHARDNUMSUB on %s: %v", addr, err)
			}
			subs += got[ch]
		}
		if subs == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("room %s has %d subscribed nodes, want %d", roomID, subs, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startRedisClusterCluster is startRoomCluster on a Redis Cluster (--redis-cluster).
func startRedisClusterCluster(t *testing.T) *cluster {
	t.Helper()
	rc := testenv.StartRedisCluster(t)
	url := "redis://" + rc.Addrs[0] + "?addr=" + strings.Join(rc.Addrs[1:], "&addr=")
	return startClusterOn(t, &cluster{prefix: "e2e:", redisNodes: rc.Addrs}, url,
		"--redis-cluster", "--bus-mode", "room", "--bus-release-delay", "1s")
}

// TestRedisClusterDeliversAcrossChatNodes: on a Redis Cluster (room mode, presence with
// hash tags) messages cross chat nodes, presence too, and a member added on another node
// receives the room's later messages.
func TestRedisClusterDeliversAcrossChatNodes(t *testing.T) {
	c := startRedisClusterCluster(t)
	ctx := context.Background()
	alice, _ := newUser(t, c.api, "alice")
	bob, bobA := newUser(t, c.api, "bob")
	carol, carolA := newUser(t, c.api, "carol")
	room, _, err := alice.CreateRoom(ctx, client.NewRoom{Type: "group", Name: "x", MemberIDs: []string{bobA.User.ID}})
	if err != nil {
		t.Fatal(err)
	}
	ac := connect(t, wsClient(c.ws1, alice))
	bc := connect(t, wsClient(c.ws2, bob))
	cc := connect(t, wsClient(c.ws2, carol))
	c.waitRoomSubscribers(t, room.ID, 2)
	expect(t, ac, "PRESENCE_UPDATED", func(ev client.Event) bool {
		p, _ := ev.Presence()
		return p.UserID == bobA.User.ID && p.Status == "online"
	})

	const n = 20
	for i := 1; i <= n; i++ {
		if _, _, err := alice.SendMessage(ctx, room.ID, client.NewMessage{Text: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for name, conn := range map[string]*client.Conn{"alice@ws1": ac, "bob@ws2": bc} {
		seqs := collect(t, conn, n)
		for i, s := range seqs {
			if s != int64(i+1) {
				t.Fatalf("%s got seqs out of order or twice: %v", name, seqs)
			}
		}
	}

	if _, err := alice.AddMembers(ctx, room.ID, carolA.User.ID); err != nil {
		t.Fatal(err)
	}
	expect(t, cc, "ROOM_UPDATED", nil)
	if _, _, err := alice.SendMessage(ctx, room.ID, client.NewMessage{Text: "to carol too"}); err != nil {
		t.Fatal(err)
	}
	expect(t, cc, "MESSAGE_CREATED", func(ev client.Event) bool {
		m, err := ev.Message()
		return err == nil && m.Seq == n+1
	})

	bc.Close()
	expect(t, ac, "PRESENCE_UPDATED", func(ev client.Event) bool {
		p, _ := ev.Presence()
		return p.UserID == bobA.User.ID && p.Status == "offline"
	})
}

// busReceived reads chatchat_bus_events_received_total{type} from a node's /metrics.
func busReceived(t *testing.T, n *node, typ string) float64 {
	t.Helper()
	resp, err := http.Get(n.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	want := `chatchat_bus_events_received_total{type="` + typ + `"} `
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), want); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %q: %v", sc.Text(), err)
			}
			return f
		}
	}
	t.Fatalf("no %s in %s/metrics", strings.TrimSpace(want), n.URL)
	return 0
}

// TestRoomClusterDeliversAcrossChatNodes: in room mode a message sent through the API
// reaches members on both chat nodes, in order and once; a node hears the rooms it holds
// and no other.
func TestRoomClusterDeliversAcrossChatNodes(t *testing.T) {
	c := startRoomCluster(t)
	ctx := context.Background()
	alice, _ := newUser(t, c.api, "alice")
	bob, bobA := newUser(t, c.api, "bob")
	carol, _ := newUser(t, c.api, "carol")
	room, _, err := alice.CreateRoom(ctx, client.NewRoom{Type: "group", Name: "x", MemberIDs: []string{bobA.User.ID}})
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := carol.CreateRoom(ctx, client.NewRoom{Type: "group", Name: "ws1 only"})
	if err != nil {
		t.Fatal(err)
	}
	ac := connect(t, wsClient(c.ws1, alice))
	bc := connect(t, wsClient(c.ws2, bob))
	cc := connect(t, wsClient(c.ws1, carol))
	c.waitRoomSubscribers(t, room.ID, 2)
	c.waitRoomSubscribers(t, other.ID, 1)

	// Presence crosses nodes: bob's connection on ws2 was announced to alice on ws1.
	expect(t, ac, "PRESENCE_UPDATED", func(ev client.Event) bool {
		p, _ := ev.Presence()
		return p.UserID == bobA.User.ID && p.Status == "online"
	})
	ws2Before := busReceived(t, c.ws2, "MESSAGE_CREATED")

	const n, others = 30, 10
	for i := 1; i <= others; i++ {
		if _, _, err := carol.SendMessage(ctx, other.ID, client.NewMessage{Text: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= n; i++ {
		if _, _, err := alice.SendMessage(ctx, room.ID, client.NewMessage{Text: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	collect(t, cc, others)
	for name, conn := range map[string]*client.Conn{"alice@ws1": ac, "bob@ws2": bc} {
		seqs := collect(t, conn, n)
		if len(seqs) != n {
			t.Fatalf("%s got %d deliveries for %d messages (duplicates)", name, len(seqs), n)
		}
		for i, s := range seqs {
			if s != int64(i+1) {
				t.Fatalf("%s got seqs out of order: %v", name, seqs)
			}
		}
	}
	// ws2 holds the first room only: it heard its n messages and none of carol's room.
	if got := busReceived(t, c.ws2, "MESSAGE_CREATED") - ws2Before; got != n {
		t.Fatalf("ws2 received %v MESSAGE_CREATED events, want %d (its room's only)", got, n)
	}
	if got := busReceived(t, c.ws1, "MESSAGE_CREATED"); got < n+others {
		t.Fatalf("ws1 received %v MESSAGE_CREATED events, want at least %d", got, n+others)
	}

	// The last session of bob on ws2 leaving releases the room there after the delay.
	bc.Close()
	c.waitRoomSubscribers(t, room.ID, 1)
}

// TestRoomClusterMemberAddedOnAnotherNode: a user connected to a node that holds none of
// a group's members is added to it through the API; the node learns of it (ROOM_UPDATED),
// subscribes to the room, and the user receives the room's later messages, those sent
// before the subscription took hold included (the room's re-sync).
func TestRoomClusterMemberAddedOnAnotherNode(t *testing.T) {
	c := startRoomCluster(t)
	ctx := context.Background()
	alice, _ := newUser(t, c.api, "alice")
	carol, carolA := newUser(t, c.api, "carol")
	room, _, err := alice.CreateRoom(ctx, client.NewRoom{Type: "group", Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	ac := connect(t, wsClient(c.ws1, alice))
	cc := connect(t, wsClient(c.ws2, carol))
	c.waitRoomSubscribers(t, room.ID, 1)
	if _, _, err := alice.SendMessage(ctx, room.ID, client.NewMessage{Text: "before carol"}); err != nil {
		t.Fatal(err)
	}
	collect(t, ac, 1)

	if _, err := alice.AddMembers(ctx, room.ID, carolA.User.ID); err != nil {
		t.Fatal(err)
	}
	// Sent at once, racing ws2's subscription to the room.
	const n = 10
	for i := 1; i <= n; i++ {
		if _, _, err := alice.SendMessage(ctx, room.ID, client.NewMessage{Text: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	expect(t, cc, "ROOM_UPDATED", nil)
	seqs := collect(t, cc, n)
	seen := map[int64]bool{}
	for _, s := range seqs {
		seen[s] = true
	}
	for s := int64(2); s <= n+1; s++ {
		if !seen[s] {
			t.Fatalf("carol missed seq %d: %v", s, seqs)
		}
	}
	if seen[1] {
		t.Fatalf("carol got seq 1, sent before she was added: %v", seqs)
	}
	c.waitRoomSubscribers(t, room.ID, 2)
	// Live from now on.
	if _, _, err := alice.SendMessage(ctx, room.ID, client.NewMessage{Text: "live"}); err != nil {
		t.Fatal(err)
	}
	expect(t, cc, "MESSAGE_CREATED", func(ev client.Event) bool {
		m, err := ev.Message()
		return err == nil && m.Seq == n+2
	})
}

// TestRoomClusterSurvivesLostPubSubConnection: in room mode, every subscriber connection
// killed mid-flow comes back, and each room's re-sync fills what Pub/Sub dropped meanwhile.
func TestRoomClusterSurvivesLostPubSubConnection(t *testing.T) {
	c := startRoomCluster(t)
	ctx := context.Background()
	alice, _ := newUser(t, c.api, "alice")
	bob, bobA := newUser(t, c.api, "bob")
	room, _, _ := alice.CreateRoom(ctx, client.NewRoom{Type: "direct", MemberIDs: []string{bobA.User.ID}})
	bc := connect(t, wsClient(c.ws2, bob))
	c.waitRoomSubscribers(t, room.ID, 1)

	rc := goredis.NewClient(&goredis.Options{Addr: c.redis.Addr})
	defer rc.Close()
	const n = 60
	for i := 1; i <= n; i++ {
		if _, _, err := alice.SendMessage(ctx, room.ID, client.NewMessage{Text: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
		if i%20 == 0 {
			if err := rc.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	seqs := collect(t, bc, n)
	if len(seqs) < n {
		t.Fatalf("bob got %d of %d", len(seqs), n)
	}
}

func TestConfigBusMode(t *testing.T) {
	for _, tc := range []struct {
		s       settings
		want    string
		wantErr bool
	}{
		{settings{}, busGlobal, false},
		{settings{BusMode: "global", RedisURL: "redis://x"}, busGlobal, false},
		{settings{BusMode: "room", RedisURL: "redis://x"}, busRoom, false},
		{settings{BusMode: "room"}, "", true},                           // no Redis
		{settings{BusMode: "rooms", RedisURL: "redis://x"}, "", true},   // a typo
		{settings{RedisURL: "redis://x", RedisCluster: true}, "", true}, // cluster needs room
		{settings{BusMode: "room", RedisURL: "redis://x", RedisCluster: true}, busRoom, false},
	} {
		got, err := tc.s.busMode()
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("busMode(%q, url %q, cluster %t) = %q, %v; want %q (error %t)",
				tc.s.BusMode, tc.s.RedisURL, tc.s.RedisCluster, got, err, tc.want, tc.wantErr)
		}
	}
	env := map[string]string{"CHATCHAT_BUS_MODE": "room", "CHATCHAT_BUS_RELEASE_DELAY": "5s", "CHATCHAT_REDIS_CLUSTER": "true"}
	s, err := parseServe(nil, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s.BusMode != busRoom || s.BusReleaseDelay != 5*time.Second || !s.RedisCluster || len(s.unknownEnv) != 0 {
		t.Fatalf("from the environment: mode %q, delay %v, cluster %t, unknown %v", s.BusMode, s.BusReleaseDelay, s.RedisCluster, s.unknownEnv)
	}
}
