package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chatchat/chatchat/client"
)

// node is one running `chatchat serve`, started through run in this process.
type node struct {
	URL     string
	DataDir string
	cancel  context.CancelFunc
	done    chan error
}

// urlLine finds the address in the line serve prints: "open http://ADDR/" with the api
// role, "WebSocket on ws://ADDR/ws" or "health on http://ADDR/readyz" without it.
var urlLine = regexp.MustCompile(`(?:open|on) (?:http|ws)://([^/\s]+)/`)

// servedURL returns the server's base URL (http://ADDR) when line is the one serve prints
// once it listens.
func servedURL(line string) (string, bool) {
	m := urlLine.FindStringSubmatch(line)
	if m == nil {
		return "", false
	}
	return "http://" + m[1], true
}

// startNode runs `chatchat serve` on a free port with a temporary (or given) data dir and
// the extra args, and stops it when the test ends.
func startNode(tb testing.TB, dataDir string, env map[string]string, args ...string) *node {
	tb.Helper()
	return startNodeLogs(tb, testLogWriter{tb}, dataDir, env, args...)
}

// startNodeLogs is startNode with the server's logs written to logs.
func startNodeLogs(tb testing.TB, logs io.Writer, dataDir string, env map[string]string, args ...string) *node {
	tb.Helper()
	if dataDir == "" {
		dataDir = tb.TempDir()
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	all := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--log-level", "warn",
		"--argon2-memory", "1024", "--argon2-iterations", "1"}, args...)
	n := &node{DataDir: dataDir, cancel: cancel, done: make(chan error, 1)}
	go func() {
		err := run(ctx, all, env, pw, logs)
		pw.CloseWithError(io.EOF)
		n.done <- err
	}()
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if u, ok := servedURL(sc.Text()); ok {
				found <- u
			}
		}
		close(found)
	}()
	select {
	case u, ok := <-found:
		if !ok {
			tb.Fatalf("server exited before listening: %v", <-n.done)
		}
		n.URL = u
	case <-time.After(30 * time.Second):
		tb.Fatal("server did not start within 30 s")
	}
	tb.Cleanup(func() { n.stop(tb) })
	return n
}

// stop shuts the node down and checks that it exits cleanly. Safe to call twice.
func (n *node) stop(tb testing.TB) {
	tb.Helper()
	if n.cancel == nil {
		return
	}
	n.cancel()
	n.cancel = nil
	select {
	case err := <-n.done:
		if err != nil {
			tb.Errorf("server exited with %v", err)
		}
	case <-time.After(30 * time.Second):
		tb.Error("server did not stop within 30 s")
	}
}

// testLogWriter sends the server's logs to the test log, so they show only on failure.
type testLogWriter struct{ tb testing.TB }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

var userSeq int

// newUser signs a fresh user up on n.
func newUser(tb testing.TB, n *node, name string) (*client.Client, client.Auth) {
	tb.Helper()
	userSeq++
	c := client.New(n.URL, client.WithHeartbeat(0))
	a, err := c.Signup(context.Background(), fmt.Sprintf("%s%d", name, userSeq), "correct horse battery", strings.ToUpper(name[:1])+name[1:])
	if err != nil {
		tb.Fatalf("signup %s: %v", name, err)
	}
	return c, a
}

// connect opens a WebSocket for c and waits until the server has registered it (a heartbeat
// round trip), so that later events cannot race the registration.
func connect(tb testing.TB, c *client.Client) *client.Conn {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := c.Connect(ctx)
	if err != nil {
		tb.Fatalf("connect: %v", err)
	}
	tb.Cleanup(func() { conn.Close() })
	roundTrip(tb, conn)
	return conn
}

// roundTrip sends a heartbeat and waits for its ack: every frame sent before it has been handled.
// Events that arrive meanwhile are kept for expect.
func roundTrip(tb testing.TB, conn *client.Conn) {
	tb.Helper()
	if err := conn.Heartbeat(context.Background()); err != nil {
		tb.Fatalf("heartbeat: %v", err)
	}
	expect(tb, conn, "HEART_BEAT_ACK", nil)
}

var pending = map[*client.Conn][]client.Event{}

// expect waits up to 10 s for an event of the type that satisfies match (nil: any), and
// returns it; events that do not match are kept for later calls.
func expect(tb testing.TB, conn *client.Conn, typ string, match func(client.Event) bool) client.Event {
	tb.Helper()
	for i, ev := range pending[conn] {
		if ev.Type == typ && (match == nil || match(ev)) {
			pending[conn] = append(pending[conn][:i:i], pending[conn][i+1:]...)
			return ev
		}
	}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-conn.Events():
			if !ok {
				tb.Fatalf("connection closed while waiting for %s: %v", typ, conn.Err())
			}
			if ev.Type == typ && (match == nil || match(ev)) {
				return ev
			}
			pending[conn] = append(pending[conn], ev)
		case <-deadline:
			tb.Fatalf("no %s event within 10 s (kept: %v)", typ, types(pending[conn]))
		}
	}
}

// drain returns the events already received, after a heartbeat round trip proves that
// nothing sent before it is still on the way.
func drain(tb testing.TB, conn *client.Conn) []client.Event {
	tb.Helper()
	roundTrip(tb, conn)
	evs := pending[conn]
	delete(pending, conn)
	return evs
}

func types(evs []client.Event) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Type)
	}
	return out
}
