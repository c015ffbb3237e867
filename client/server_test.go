package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/chatchat/chatchat/client"
)

// recorded is one request as the test server saw it.
type recorded struct {
	Method string
	Path   string // escaped path, as on the wire
	Query  string
	Header http.Header
	Body   []byte
}

// server is an httptest server whose handlers the test registers, and which records every
// request, so that tests can assert exactly what the client sent.
type server struct {
	*httptest.Server
	mux *http.ServeMux

	mu   sync.Mutex
	reqs []recorded
	// wg counts the WebSocket scripts still running; hijacked connections are not
	// waited for by httptest.Server.Close.
	wg sync.WaitGroup
}

func newServer(tb testing.TB) *server {
	tb.Helper()
	s := &server{mux: http.NewServeMux()}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		s.mu.Lock()
		s.reqs = append(s.reqs, recorded{
			Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery,
			Header: r.Header.Clone(), Body: body,
		})
		s.mu.Unlock()
		s.mux.ServeHTTP(w, r)
	}))
	tb.Cleanup(func() {
		s.Close()
		s.wg.Wait()
	})
	return s
}

// requests returns the requests seen so far.
func (s *server) requests() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recorded(nil), s.reqs...)
}

// count returns how many requests had the method and path.
func (s *server) count(method, path string) int {
	n := 0
	for _, r := range s.requests() {
		if r.Method == method && r.Path == path {
			n++
		}
	}
	return n
}

// reply answers every request of pattern with status and body (a value to encode as JSON,
// or a string sent as is).
func (s *server) reply(pattern string, status int, body any) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, status, body)
	})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	if str, ok := body.(string); ok {
		w.WriteHeader(status)
		_, _ = io.WriteString(w, str)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if body != nil {
		_ = json.NewEncoder(w).Encode(body)
	}
}

func apiError(code, msg string) map[string]any {
	return map[string]any{"error": map[string]string{"code": code, "message": msg}}
}

// authed wraps h so that only the bearer token tok passes; others get 401 token_expired.
func authed(tok string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+tok {
			writeJSON(w, http.StatusUnauthorized, apiError("token_expired", "token expired"))
			return
		}
		h(w, r)
	}
}

// newClient returns a client of s holding tokens, with automatic heartbeats off unless
// opts turn them on.
func newClient(tb testing.TB, s *server, opts ...client.Option) *client.Client {
	tb.Helper()
	opts = append([]client.Option{
		client.WithHTTPClient(s.Client()),
		client.WithTokens(client.Tokens{AccessToken: "at1", RefreshToken: "rt1"}),
		client.WithHeartbeat(0),
	}, opts...)
	return client.New(s.URL, opts...)
}

func testContext(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

// peer is the server side of one WebSocket connection in a test.
type peer struct {
	tb testing.TB
	nc net.Conn
	r  *http.Request
}

// handleWS makes s accept WebSocket connections at /ws from clients with token tok (others
// get 401 unauthorized before the upgrade), and hands each to script in turn: the first
// connection to scripts[0], and so on; connections beyond the scripts are refused with 401,
// as if the token had been revoked.
func (s *server) handleWS(tb testing.TB, tok string, scripts ...func(p *peer)) {
	tb.Helper()
	var mu sync.Mutex
	n := 0
	s.mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		// The chat server says only "unauthorized" before the upgrade, expired or not.
		if r.Header.Get("Authorization") != "Bearer "+tok {
			writeJSON(w, http.StatusUnauthorized, apiError("unauthorized", "invalid or expired access token"))
			return
		}
		mu.Lock()
		i := n
		n++
		mu.Unlock()
		if i >= len(scripts) {
			writeJSON(w, http.StatusUnauthorized, apiError("unauthorized", "revoked"))
			return
		}
		// Counted before the upgrade: once hijacked, the connection is no longer
		// something httptest.Server.Close waits for.
		s.wg.Add(1)
		nc, _, _, err := ws.UpgradeHTTP(r, w)
		if err != nil {
			s.wg.Done()
			tb.Errorf("upgrade: %v", err)
			return
		}
		go func() {
			defer s.wg.Done()
			defer nc.Close()
			scripts[i](&peer{tb: tb, nc: nc, r: r})
		}()
	})
}

// read returns the next frame the client sent, failing the test on a timeout.
func (p *peer) read() client.Event {
	p.tb.Helper()
	_ = p.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := wsutil.ReadClientText(p.nc)
	if err != nil {
		p.tb.Errorf("peer read: %v", err)
		return client.Event{}
	}
	var ev client.Event
	if err := json.Unmarshal(b, &ev); err != nil {
		p.tb.Errorf("peer read %q: %v", b, err)
	}
	return ev
}

// readType skips frames until one of type typ (heartbeats may come in between).
func (p *peer) readType(typ string) client.Event {
	p.tb.Helper()
	for {
		ev := p.read()
		if ev.Type == typ || ev.Type == "" {
			return ev
		}
	}
}

func (p *peer) send(typ string, data any) {
	p.tb.Helper()
	b, err := json.Marshal(map[string]any{"type": typ, "data": data})
	if err != nil {
		p.tb.Errorf("peer send: %v", err)
		return
	}
	_ = p.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := wsutil.WriteServerText(p.nc, b); err != nil {
		p.tb.Errorf("peer send: %v", err)
	}
}

func (p *peer) close(code ws.StatusCode, reason string) {
	_ = ws.WriteFrame(p.nc, ws.NewCloseFrame(ws.NewCloseFrameBody(code, reason)))
}

// waitClosed waits until the client ends the connection.
func (p *peer) waitClosed() {
	_ = p.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, err := wsutil.ReadClientText(p.nc); err != nil {
			return
		}
	}
}
