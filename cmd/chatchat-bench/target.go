package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatchat/chatchat/client"
	"github.com/gobwas/ws"
)

// target is the server under test: ChatChat or the peer it is compared with.
type target interface {
	// setup makes the users and rooms the run needs (rooms[i].id filled).
	setup(ctx context.Context, r *runner) error
	// dial opens conn c's WebSocket, subscribed to its room, before its reader starts.
	dial(ctx context.Context, r *runner, c *benchConn, src net.IP) error
	// publish sends one message with text to room through the HTTP API.
	publish(ctx context.Context, r *runner, room *room, msgNo int64, text string) error
	// heartbeat is the frame sent to every connection periodically (nil: none).
	heartbeat() []byte
	// pingReply answers an application-level ping frame "{}" (nil: there is none).
	pingReply() []byte
}

// room is one room (ChatChat) or channel (Centrifugo) and the connections in it.
type room struct {
	id      string
	members []int // connection indexes
	next    atomic.Int64
	online  atomic.Int64 // members connected: the deliveries each message owes
}

// ---- ChatChat ----

type chatchatTarget struct {
	api    string   // base URL of the API
	wsURLs []string // chat servers, connections spread round-robin
	hc     *http.Client
	users  []*client.Client // by connection index: one user per connection
	ids    []string
}

func (t *chatchatTarget) setup(ctx context.Context, r *runner) error {
	n := r.cfg.Clients
	t.users = make([]*client.Client, n)
	t.ids = make([]string, n)
	run := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	start := time.Now()
	err := parallel(ctx, n, r.cfg.SetupWorkers, func(ctx context.Context, i int) error {
		c := client.New(t.api, client.WithHTTPClient(t.hc), client.WithHeartbeat(0))
		name := fmt.Sprintf("b%su%d", run, i)
		a, err := c.Signup(ctx, name, "bench-password-1", name)
		if err != nil {
			return fmt.Errorf("sign up %s: %w", name, err)
		}
		t.users[i], t.ids[i] = c, a.User.ID
		return nil
	})
	if err != nil {
		return err
	}
	r.logf("signed up %d users in %s", n, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	err = parallel(ctx, len(r.rooms), r.cfg.SetupWorkers, func(ctx context.Context, i int) error {
		rm := r.rooms[i]
		owner := t.users[rm.members[0]]
		others := make([]string, 0, len(rm.members)-1)
		for _, m := range rm.members[1:] {
			others = append(others, t.ids[m])
		}
		created, _, err := owner.CreateRoom(ctx, client.NewRoom{Type: "group", Name: fmt.Sprintf("bench %d", i), MemberIDs: others})
		if err != nil {
			return fmt.Errorf("create room %d: %w", i, err)
		}
		rm.id = created.ID
		return nil
	})
	if err == nil && len(r.rooms) > 0 {
		r.logf("created %d rooms in %s", len(r.rooms), time.Since(start).Round(time.Millisecond))
	}
	return err
}

func (t *chatchatTarget) dial(ctx context.Context, r *runner, c *benchConn, src net.IP) error {
	hdr := http.Header{"Authorization": {"Bearer " + t.users[c.idx].Tokens().AccessToken}}
	node := c.idx % len(t.wsURLs)
	if r.cfg.WSByRoom && r.cfg.RoomSize > 0 {
		node = (c.idx / r.cfg.RoomSize) % len(t.wsURLs) // rooms are consecutive clients
	}
	nc, br, err := dialWS(ctx, wsScheme(t.wsURLs[node])+"/ws", hdr, src)
	if err != nil {
		return err
	}
	c.nc, c.br = nc, br
	// The first heartbeat makes the user online, as the real client does.
	return c.writeText(t.heartbeat())
}

func (t *chatchatTarget) publish(ctx context.Context, r *runner, rm *room, msgNo int64, text string) error {
	sender := rm.members[int(msgNo)%len(rm.members)]
	if r.cfg.OneSender {
		sender = rm.members[0]
	}
	_, _, err := t.users[sender].SendMessage(ctx, rm.id, client.NewMessage{Type: "text", Text: text})
	return err
}

func (t *chatchatTarget) heartbeat() []byte { return []byte(`{"type":"HEART_BEAT","data":{}}`) }
func (t *chatchatTarget) pingReply() []byte { return nil }

// resumeFrame is the RESUME frame that asks for the room's messages after seq.
func (t *chatchatTarget) resumeFrame(roomID string, seq int64) []byte {
	return fmt.Appendf(nil, `{"type":"RESUME","data":{"rooms":{%q:%d}}}`, roomID, seq)
}

// ---- Centrifugo ----

// centrifugoTarget speaks Centrifugo's JSON protocol over WebSocket (connect, subscribe,
// publications) and publishes through its HTTP API.
type centrifugoTarget struct {
	base   string
	apiKey string
	hc     *http.Client
}

func (t *centrifugoTarget) setup(ctx context.Context, r *runner) error {
	for i, rm := range r.rooms {
		rm.id = "bench" + strconv.Itoa(i)
	}
	return nil
}

func (t *centrifugoTarget) dial(ctx context.Context, r *runner, c *benchConn, src net.IP) error {
	nc, br, err := dialWS(ctx, wsScheme(t.base)+"/connection/websocket", nil, src)
	if err != nil {
		return err
	}
	c.nc, c.br = nc, br
	cmds := `{"id":1,"connect":{"name":"bench"}}`
	if c.room >= 0 {
		cmds += "\n" + fmt.Sprintf(`{"id":2,"subscribe":{"channel":%q}}`, r.rooms[c.room].id)
	}
	if err := c.writeText([]byte(cmds)); err != nil {
		return err
	}
	// Wait for the replies, so that a publication sent after dial returns reaches it.
	want := []byte(`"id":1`)
	if c.room >= 0 {
		want = []byte(`"id":2`)
	}
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer func() { _ = nc.SetReadDeadline(time.Time{}) }()
	for {
		p, err := readFrame(br)
		if err != nil {
			return fmt.Errorf("centrifugo subscribe: %w", err)
		}
		if bytes.Contains(p, []byte(`"error"`)) {
			return fmt.Errorf("centrifugo refused: %.200s", p)
		}
		if bytes.Contains(p, want) {
			return nil
		}
	}
}

func readFrame(br *bufio.Reader) ([]byte, error) {
	h, err := ws.ReadHeader(br)
	if err != nil {
		return nil, err
	}
	p := make([]byte, h.Length)
	_, err = io.ReadFull(br, p)
	return p, err
}

func (t *centrifugoTarget) publish(ctx context.Context, r *runner, rm *room, msgNo int64, text string) error {
	body := fmt.Sprintf(`{"channel":%q,"data":{"text":%q}}`, rm.id, text)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.base+"/api/publish", strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("X-API-Key", t.apiKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK || bytes.Contains(b, []byte(`"error"`)) {
		return fmt.Errorf("centrifugo publish: %d %.200s", resp.StatusCode, b)
	}
	return nil
}

func (t *centrifugoTarget) heartbeat() []byte { return nil }
func (t *centrifugoTarget) pingReply() []byte { return []byte("{}") }

// parallel calls fn for 0..n-1 on workers goroutines and returns the first error; the
// others stop taking work once one failed.
func parallel(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(ctx, i); err != nil {
					once.Do(func() { firstErr = err; cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return firstErr
}

// wsScheme turns an http(s) base URL into its ws(s) form.
func wsScheme(u string) string {
	u = strings.TrimRight(u, "/")
	if rest, ok := strings.CutPrefix(u, "https://"); ok {
		return "wss://" + rest
	}
	if rest, ok := strings.CutPrefix(u, "http://"); ok {
		return "ws://" + rest
	}
	return u
}
