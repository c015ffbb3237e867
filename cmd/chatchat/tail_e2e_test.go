package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/client"
)

// TestTail runs `chatchat tail` as bob, by token and by password, while alice writes to
// him: the message arrives on tail's output as one JSON line.
func TestTail(t *testing.T) {
	n := startNode(t, "", nil)
	alice, _ := newUser(t, n, "alice")
	_, bob := newUser(t, n, "bob")
	room, _, err := alice.CreateRoom(t.Context(), client.NewRoom{Type: "direct", MemberIDs: []string{bob.User.ID}})
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"token", []string{"--token", bob.AccessToken}, nil},
		{"password from the environment", []string{"--user", bob.User.Username},
			map[string]string{"CHATCHAT_PASSWORD": "correct horse battery"}},
		{"separate chat URL", []string{"--token", bob.AccessToken, "--url", "http://127.0.0.1:1", "--chat-url", n.URL + "/ws"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"tail", "--url", n.URL}, tc.args...)
			lines := startTail(t, args, tc.env)
			text := "hi bob " + tc.name
			if _, _, err := alice.SendMessage(t.Context(), room.ID, client.NewMessage{ClientMsgID: "m" + string(rune('0'+i)), Text: text}); err != nil {
				t.Fatal(err)
			}
			for {
				var ev client.Event
				select {
				case line := <-lines:
					if err := json.Unmarshal([]byte(line), &ev); err != nil {
						t.Fatalf("tail printed %q, not a JSON event: %v", line, err)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("no MESSAGE_CREATED from tail within 10 s")
				}
				if ev.Type != chat.EventMessageCreated {
					continue // presence and the like
				}
				m, err := ev.Message()
				if err != nil || m.Text != text {
					t.Fatalf("tail printed message %+v, %v; want text %q", m, err, text)
				}
				return
			}
		})
	}
}

func TestTailRefuses(t *testing.T) {
	n := startNode(t, "", nil)
	_, bob := newUser(t, n, "bob")
	for _, tc := range []struct {
		name, want string
		args       []string
	}{
		{"wrong password", "invalid_credentials", []string{"--user", bob.User.Username, "--password", "wrong"}},
		{"bad token", "401", []string{"--token", "not-a-token"}},
		{"neither user nor token", "either --user", nil},
		{"both user and token", "either --user", []string{"--user", "bob", "--token", "t"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			var stderr bytes.Buffer
			err := run(ctx, append([]string{"tail", "--url", n.URL}, tc.args...), nil, io.Discard, &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("tail: %v; want an error naming %q", err, tc.want)
			}
		})
	}
}

// startTail runs `chatchat tail` with args until the test ends and returns its output
// lines, once it says it is listening.
func startTail(t *testing.T, args []string, env map[string]string) <-chan string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	stderr := &lineWriter{listening: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		err := run(ctx, args, env, pw, stderr)
		pw.Close()
		done <- err
	}()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("tail ended with %v", err)
		}
	})
	select {
	case <-stderr.listening:
	case err := <-done:
		done <- err
		t.Fatalf("tail ended before listening: %v; it said %q", err, stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatalf("tail did not say it listens within 10 s; it said %q", stderr.String())
	}
	return lines
}

// lineWriter keeps what tail writes to stderr and closes listening when it says so.
type lineWriter struct {
	mu        sync.Mutex
	buf       strings.Builder
	listening chan struct{}
	once      sync.Once
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), "tail: listening") {
		w.once.Do(func() { close(w.listening) })
	}
	return len(p), nil
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
