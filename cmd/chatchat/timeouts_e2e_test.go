package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestSlowBodyIsCut: a request whose body trickles in (a byte a second) is cut at the read
// timeout instead of holding its connection and goroutine for as long as the client likes.
func TestSlowBodyIsCut(t *testing.T) {
	n := startNode(t, "", nil, "--http-read-timeout", "1s", "--http-write-timeout", "1s")
	u, _ := url.Parse(n.URL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/v1/auth/login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n", u.Host)
	start := time.Now()
	cut := false
	for i := 0; i < 30; i++ {
		if _, err := conn.Write([]byte(" ")); err != nil {
			cut = true
			break
		}
		_ = conn.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := bufio.NewReader(conn).ReadByte(); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue // nothing yet: the server is still reading
			}
			cut = true // closed, or answered and closed
			break
		}
		cut = true // an answer (400 for the cut body) means the server stopped reading
		break
	}
	if !cut {
		t.Fatalf("the server still read a trickled body after %s", time.Since(start).Round(time.Second))
	}
}

// TestWebSocketOutlivesHTTPTimeouts: the HTTP server's read and write timeouts bound the
// handshake only; a WebSocket stays up and answers long after them.
func TestWebSocketOutlivesHTTPTimeouts(t *testing.T) {
	n := startNode(t, "", nil, "--http-read-timeout", "1s", "--http-write-timeout", "1s")
	c, _ := newUser(t, n, "patient")
	conn := connect(t, c)
	time.Sleep(2500 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := conn.Heartbeat(ctx); err != nil {
		t.Fatalf("heartbeat after the HTTP timeouts: %v", err)
	}
	ev := expect(t, conn, "HEART_BEAT_ACK", nil)
	if !strings.Contains(ev.Type, "ACK") {
		t.Fatal(ev.Type)
	}
}
