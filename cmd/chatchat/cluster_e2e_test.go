package main

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/chatchat/chatchat/client"
	"github.com/chatchat/chatchat/internal/testenv"
	goredis "github.com/redis/go-redis/v9"
)

// cluster is one API process and two chat processes sharing a Redis and a database, each
// started through run as a separate node.
type cluster struct {
	api, ws1, ws2 *node
	redis         *testenv.RedisServer
	redisNodes    []string // a Redis Cluster's nodes, instead of redis
	prefix        string
	args          []string
	dataDir       string
}

const testSecret = "cluster-test-secret-0123456789abcdef"

func startCluster(t *testing.T) *cluster {
	t.Helper()
	r := testenv.Redis(t)
	return startClusterOn(t, &cluster{redis: r, prefix: r.Prefix(t)}, r.URL())
}

// startClusterOn starts c's API node (with notify) and two chat nodes on the Redis at
// redisURL and one MongoDB-wire database, with the extra serve flags.
func startClusterOn(t *testing.T, c *cluster, redisURL string, extra ...string) *cluster {
	t.Helper()
	c.dataDir = t.TempDir()
	c.args = append(append([]string{"--redis-url", redisURL, "--redis-prefix", c.prefix, "--jwt-secret", testSecret,
		"--rate-send", "0", "--rate-login", "0", "--rate-signup", "0"}, extra...), clusterStoreArgs(t)...)
	c.api = startNode(t, c.dataDir, nil, append(c.args, "--roles", "api,notify")...)
	c.ws1 = c.startWS(t)
	c.ws2 = c.startWS(t)
	return c
}

func (c *cluster) startWS(t *testing.T) *node {
	return startNode(t, c.dataDir, nil, append(c.args, "--roles", "ws")...)
}

// clusterStoreArgs points every node at one MongoDB-wire database of its own.
func clusterStoreArgs(t *testing.T) []string {
	m := testenv.Mongo(t)
	return []string{"--mongo-uri", m.URI, "--mongo-database", m.Database(t)}
}

// wsClient is a client of a chat node that uses the tokens of an API client.
func wsClient(n *node, apiC *client.Client) *client.Client {
	return client.New(n.URL, client.WithTokens(apiC.Tokens()), client.WithHeartbeat(0))
}

// collect reads MESSAGE_CREATED events until it has want distinct seqs or 10 s pass, and
// returns the seqs in arrival order (duplicates included).
func collect(t *testing.T, conn *client.Conn, want int) []int64 {
	t.Helper()
	var seqs []int64
	seen := map[int64]bool{}
	deadline := time.After(20 * time.Second)
	for len(seen) < want {
		select {
		case ev, ok := <-conn.Events():
			if !ok {
				t.Fatalf("connection closed after %d messages: %v", len(seen), conn.Err())
			}
			if m, err := ev.Message(); err == nil && ev.Type == "MESSAGE_CREATED" {
				seqs = append(seqs, m.Seq)
				seen[m.Seq] = true
			}
		case <-deadline:
			t.Fatalf("got %d of %d messages", len(seen), want)
		}
	}
	return seqs
}

func TestClusterDeliversAcrossChatNodes(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()
	alice, aliceA := newUser(t, c.api, "alice")
	bob, bobA := newUser(t, c.api, "bob")
	room, _, err := alice.CreateRoom(ctx, client.NewRoom{Type: "group", Name: "x", MemberIDs: []string{bobA.User.ID}})
	if err != nil {
		t.Fatal(err)
	}
	ac := connect(t, wsClient(c.ws1, alice))
	bc := connect(t, wsClient(c.ws2, bob))

	// Presence crosses nodes: bob's connection on ws2 was announced to alice on ws1.
	expect(t, ac, "PRESENCE_UPDATED", func(ev client.Event) bool {
		p, _ := ev.Presence()
		return p.UserID == bobA.User.ID && p.Status == "online"
	})

	const n = 50
	for i := 1; i <= n; i++ {
		if _, _, err := alice.SendMessage(ctx, room.ID, client.NewMessage{Text: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
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

	// The last session closing, on either node, takes the user offline at once.
	bc.Close()
	expect(t, ac, "PRESENCE_UPDATED", func(ev client.Event) bool {
		p, _ := ev.Presence()
		return p.UserID == bobA.User.ID && p.Status == "offline"
	})
	ps, err := alice.Presence(ctx, bobA.User.ID)
	if err != nil || ps[0].Status != "offline" {
		t.Fatalf("bob after closing: %+v %v", ps, err)
	}
	_ = aliceA
}

func TestClusterSurvivesLostPubSubConnection(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()
	alice, _ := newUser(t, c.api, "alice")
	bob, bobA := newUser(t, c.api, "bob")
	room, _, _ := alice.CreateRoom(ctx, client.NewRoom{Type: "direct", MemberIDs: []string{bobA.User.ID}})
	bc := connect(t, wsClient(c.ws2, bob))

	rc := goredis.NewClient(&goredis.Options{Addr: c.redis.Addr})
	defer rc.Close()
	const n = 60
	done := make(chan error, 1)
	go func() {
		for i := 1; i <= n; i++ {
			if _, _, err := alice.SendMessage(ctx, room.ID, client.NewMessage{Text: fmt.Sprint(i)}); err != nil {
				done <- err
				return
			}
			if i%20 == 0 {
				// Kill every subscriber connection mid-flow: what is published until the
				// chat nodes resubscribe is lost by Pub/Sub, and must be re-synced.
				if err := rc.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
					done <- err
					return
				}
			}
		}
		done <- nil
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	seqs := collect(t, bc, n)
	if len(seqs) < n {
		t.Fatalf("bob got %d of %d", len(seqs), n)
	}
}

func TestClusterClientMovesToAnotherChatNode(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()
	alice, _ := newUser(t, c.api, "alice")
	bob, bobA := newUser(t, c.api, "bob")
	room, _, _ := alice.CreateRoom(ctx, client.NewRoom{Type: "direct", MemberIDs: []string{bobA.User.ID}})
	bc := connect(t, wsClient(c.ws1, bob))
	for i := 1; i <= 5; i++ {
		alice.SendMessage(ctx, room.ID, client.NewMessage{Text: fmt.Sprint(i)})
	}
	seqs := collect(t, bc, 5)
	last := seqs[len(seqs)-1]

	c.ws1.stop(t) // the node goes away: its clients are closed with 1001
	<-bc.Done()
	if code := client.CloseCode(bc.Err()); code != 1001 {
		t.Fatalf("close code %d, want 1001", code)
	}
	for i := 6; i <= 10; i++ { // sent while bob has no connection
		alice.SendMessage(ctx, room.ID, client.NewMessage{Text: fmt.Sprint(i)})
	}
	bc2 := connect(t, wsClient(c.ws2, bob))
	if err := bc2.Resume(ctx, map[string]int64{room.ID: last}); err != nil {
		t.Fatal(err)
	}
	for i := 11; i <= 12; i++ { // and live ones after the move
		alice.SendMessage(ctx, room.ID, client.NewMessage{Text: fmt.Sprint(i)})
	}
	got := collect(t, bc2, 7)
	seen := map[int64]bool{}
	for _, s := range got {
		seen[s] = true
	}
	for s := int64(6); s <= 12; s++ {
		if !seen[s] {
			t.Fatalf("missing seq %d after moving nodes: %v", s, got)
		}
	}
}

// TestTwoAPINodesConcurrency: sends and sign-ups racing through two API processes on one
// database keep the store's guarantees.
func TestTwoAPINodesConcurrency(t *testing.T) {
	c := startCluster(t)
	api2 := startNode(t, c.dataDir, nil, append(c.args, "--roles", "api")...)
	ctx := context.Background()
	alice, _ := newUser(t, c.api, "alice")
	_, bobA := newUser(t, c.api, "bob")
	room, _, err := alice.CreateRoom(ctx, client.NewRoom{Type: "direct", MemberIDs: []string{bobA.User.ID}})
	if err != nil {
		t.Fatal(err)
	}
	alice2 := client.New(api2.URL, client.WithTokens(alice.Tokens()))

	const n = 200
	seqs := make(chan int64, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			via := alice
			if i%2 == 1 {
				via = alice2
			}
			m, _, err := via.SendMessage(ctx, room.ID, client.NewMessage{ClientMsgID: fmt.Sprint("c", i), Text: fmt.Sprint(i)})
			if err != nil {
				errs <- err
				return
			}
			seqs <- m.Seq
		}()
	}
	wg.Wait()
	close(seqs)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for s := range seqs {
		if s < 1 || s > n || seen[s] {
			t.Fatalf("seq %d out of range or given twice", s)
		}
		seen[s] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct seqs, want %d", len(seen), n)
	}

	// One username signed up 10 times at once through both nodes: one user.
	var created, conflicts int
	var mu sync.Mutex
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			base := c.api.URL
			if i%2 == 1 {
				base = api2.URL
			}
			_, err := client.New(base).Signup(ctx, "samename", "correct horse battery", "Same")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				created++
			case client.ErrorCode(err) == "username_taken":
				conflicts++
			default:
				t.Errorf("signup: %v", err)
			}
		}()
	}
	wg.Wait()
	if created != 1 || conflicts != 9 {
		t.Fatalf("concurrent sign-ups: %d created, %d conflicts; want 1 and 9", created, conflicts)
	}
}
