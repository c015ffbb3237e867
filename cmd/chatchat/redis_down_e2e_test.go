package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"testing"
	"time"

	"github.com/chatchat/chatchat/client"
	"github.com/chatchat/chatchat/internal/testenv"
	goredis "github.com/redis/go-redis/v9"
)

func readyz(t *testing.T, n *node) (int, map[string]string) {
	t.Helper()
	resp, err := http.Get(n.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Checks map[string]string `json:"checks"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Checks
}

// TestRedisOutage: with Redis gone the API keeps storing messages, chat nodes keep their
// sockets, /readyz says what is wrong; when Redis is back every client is re-synced.
func TestRedisOutage(t *testing.T) {
	r := testenv.StartRedis(t) // private: this test stops it
	_, port, _ := net.SplitHostPort(r.Addr)
	dir := t.TempDir()
	args := []string{"--redis-url", r.URL(), "--jwt-secret", testSecret, "--rate-send", "0"}
	api := startNode(t, dir, nil, append(args, "--roles", "api")...)
	chatNode := startNode(t, dir, nil, append(args, "--roles", "ws")...)
	ctx := context.Background()
	alice, _ := newUser(t, api, "alice")
	bob, bobA := newUser(t, api, "bob")
	room, _, _ := alice.CreateRoom(ctx, client.NewRoom{Type: "direct", MemberIDs: []string{bobA.User.ID}})
	bc := connect(t, wsClient(chatNode, bob))
	alice.SendMessage(ctx, room.ID, client.NewMessage{Text: "1"})
	expect(t, bc, "MESSAGE_CREATED", isMessage(1))

	r.Stop()
	for i := 2; i <= 4; i++ {
		start := time.Now()
		m, created, err := alice.SendMessage(ctx, room.ID, client.NewMessage{Text: fmt.Sprint(i)})
		if err != nil || !created || m.Seq != int64(i) {
			t.Fatalf("send with Redis down: %+v %v %v", m, created, err)
		}
		t.Logf("send %d with Redis down took %v", i, time.Since(start))
	}
	for _, n := range []*node{api, chatNode} {
		if status, checks := readyz(t, n); status != http.StatusServiceUnavailable || checks["redis"] == "ok" {
			t.Fatalf("readyz with Redis down: %d %v", status, checks)
		}
	}
	select {
	case <-bc.Done():
		t.Fatalf("the chat node dropped its socket when Redis went away: %v", bc.Err())
	default:
	}

	// Redis comes back on the same address: the chat node resubscribes and re-syncs.
	cmd := exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	rc := goredis.NewClient(&goredis.Options{Addr: r.Addr})
	defer rc.Close()
	for i := 0; rc.Ping(ctx).Err() != nil; i++ {
		if i > 100 {
			t.Fatal("redis did not come back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	seqs := collect(t, bc, 3) // 2, 3 and 4, missed while Redis was down
	t.Logf("re-synced seqs %v", seqs)
	for i := 0; ; i++ {
		if status, _ := readyz(t, api); status == http.StatusOK {
			break
		}
		if i > 100 {
			t.Fatal("api not ready after Redis came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	alice.SendMessage(ctx, room.ID, client.NewMessage{Text: "5"})
	expect(t, bc, "MESSAGE_CREATED", isMessage(5))
}

// TestRedisHung: with Redis hung (SIGSTOP: connections open, nothing answered) a send is
// stored and answered after the bus's short timeout, not after the client libraries'
// retries (it took 20-25 s); once Redis is back, the outbox relay publishes what the hung
// Redis did not take, and the member's socket receives it.
func TestRedisHung(t *testing.T) {
	r := testenv.StartRedis(t) // private: this test hangs it
	dir := t.TempDir()
	args := []string{"--redis-url", r.URL(), "--jwt-secret", testSecret, "--rate-send", "0",
		"--outbox-relay-interval", "200ms", "--outbox-relay-age", "500ms"}
	api := startNode(t, dir, nil, append(args, "--roles", "api,notify")...)
	chatNode := startNode(t, dir, nil, append(args, "--roles", "ws")...)
	ctx := context.Background()
	alice, _ := newUser(t, api, "alice")
	bob, bobA := newUser(t, api, "bob")
	room, _, _ := alice.CreateRoom(ctx, client.NewRoom{Type: "direct", MemberIDs: []string{bobA.User.ID}})
	bc := connect(t, wsClient(chatNode, bob))

	r.Pause()
	defer r.Resume()
	// Bounded by the test's deadline, not measured: the time is logged.
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	start := time.Now()
	m, created, err := alice.SendMessage(sctx, room.ID, client.NewMessage{Text: "1"})
	if err != nil || !created || m.Seq != 1 {
		t.Fatalf("send with Redis hung: %+v %v %v after %v", m, created, err, time.Since(start))
	}
	t.Logf("send with Redis hung took %v", time.Since(start))

	r.Resume()
	expect(t, bc, "MESSAGE_CREATED", isMessage(1))
}
