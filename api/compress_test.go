package api_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatchat/chatchat/api"
	"github.com/chatchat/chatchat/auth"
	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/memory"
	"github.com/chatchat/chatchat/sqlite"
	"github.com/oklog/ulid/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// apiServer starts the real API (SQLite store, in-process bus and presence) on a loopback
// listener, behind the router the binary uses. extra routes are registered beside it.
func apiServer(tb testing.TB, extra func(rt *api.Router)) string {
	tb.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "chat.db"))
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { _ = store.Close() })
	svc := chat.NewService(chat.ServiceConfig{Logger: log}, store, memory.NewBus(), memory.NewPresence(memory.PresenceConfig{}))
	authSvc := auth.New(auth.Config{
		Secret: []byte("compress-test-secret-compress-test"),
		Argon2: auth.Argon2Params{Memory: 1024, Time: 1},
	}, store, store, store)
	rt := api.NewRouter(log, prometheus.NewRegistry())
	api.NewServer(api.Config{Logger: log}, svc, authSvc).Register(rt)
	if extra != nil {
		extra(rt)
	}
	srv := httptest.NewServer(rt)
	tb.Cleanup(srv.Close)
	return srv.URL
}

// rawClient neither asks for gzip by itself nor decodes it, so that the test sees the
// bytes on the wire.
var rawClient = &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 10 * time.Second}

// call sends a request with an optional JSON body and Accept-Encoding, and returns the
// response with its body read.
func call(tb testing.TB, method, url, token, acceptEncoding string, body any) (*http.Response, []byte) {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			tb.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	resp, err := rawClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return resp, b
}

func gunzip(tb testing.TB, b []byte) []byte {
	tb.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		tb.Fatalf("not gzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatalf("gunzip: %v", err)
	}
	return out
}

func TestGzipResponses(t *testing.T) {
	base := apiServer(t, func(rt *api.Router) {
		// A route outside the API's own, as media downloads and /metrics are: never gzipped.
		rt.HandleFunc("GET /plain", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`[` + strings.Repeat(`"x",`, 1000) + `"x"]`))
		})
	})
	resp, b := call(t, "POST", base+"/api/v1/auth/signup", "", "gzip", map[string]string{
		"username": "alice", "password": "correct horse battery", "displayName": "Alice",
	})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("signup: %d %s", resp.StatusCode, b)
	}
	if ce := resp.Header.Get("Content-Encoding"); ce != "" {
		t.Fatalf("signup answer (tokens) has Content-Encoding %q; want none", ce)
	}
	var who struct{ AccessToken string }
	if err := json.Unmarshal(b, &who); err != nil {
		t.Fatalf("signup answer: %v: %s", err, b)
	}
	tok := who.AccessToken
	resp, b = call(t, "POST", base+"/api/v1/rooms", tok, "", map[string]any{"type": "group", "name": "compress", "memberIds": []string{}})
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		t.Fatalf("create room: %d %s", resp.StatusCode, b)
	}
	var room chat.Room
	if err := json.Unmarshal(b, &room); err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		resp, b = call(t, "POST", base+"/api/v1/rooms/"+room.ID+"/messages", tok, "", map[string]any{
			"clientMsgId": fmt.Sprintf("c-%d", i), "text": fmt.Sprintf("message %d: the quick brown fox jumps over the lazy dog", i),
		})
		if resp.StatusCode/100 != 2 {
			t.Fatalf("send: %d %s", resp.StatusCode, b)
		}
	}
	history := base + "/api/v1/rooms/" + room.ID + "/messages?limit=100"

	t.Run("large JSON with Accept-Encoding is gzipped", func(t *testing.T) {
		_, plain := call(t, "GET", history, tok, "", nil)
		resp, b := call(t, "GET", history, tok, "gzip, deflate, br", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("history: %d", resp.StatusCode)
		}
		if ce := resp.Header.Get("Content-Encoding"); ce != "gzip" {
			t.Fatalf("Content-Encoding %q, want gzip (plain body %d bytes)", ce, len(plain))
		}
		if v := resp.Header.Values("Vary"); !contains(v, "Accept-Encoding") {
			t.Fatalf("Vary %q, want Accept-Encoding", v)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("Content-Type %q", ct)
		}
		if len(b) >= len(plain) {
			t.Fatalf("gzipped %d bytes, plain %d", len(b), len(plain))
		}
		var got, want map[string]any
		if err := json.Unmarshal(gunzip(t, b), &got); err != nil {
			t.Fatalf("gunzipped body: %v", err)
		}
		if err := json.Unmarshal(plain, &want); err != nil {
			t.Fatalf("plain body: %v", err)
		}
		if g, w := mustJSON(t, got), mustJSON(t, want); g != w {
			t.Fatalf("gunzipped JSON differs from the plain answer:\n%s\n%s", g, w)
		}
		if n := len(got["messages"].([]any)); n != 30 {
			t.Fatalf("%d messages, want 30", n)
		}
	})
	t.Run("no Accept-Encoding: plain, with Vary", func(t *testing.T) {
		resp, b := call(t, "GET", history, tok, "", nil)
		if ce := resp.Header.Get("Content-Encoding"); ce != "" {
			t.Fatalf("Content-Encoding %q without Accept-Encoding", ce)
		}
		if !contains(resp.Header.Values("Vary"), "Accept-Encoding") {
			t.Fatalf("Vary %q, want Accept-Encoding", resp.Header.Values("Vary"))
		}
		if !json.Valid(b) {
			t.Fatalf("body is not JSON: %.80q", b)
		}
	})
	t.Run("small JSON is not gzipped", func(t *testing.T) {
		resp, b := call(t, "GET", base+"/api/v1/users/me", tok, "gzip", nil)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != "" || len(b) >= api.DefaultGzipMinBytes {
			t.Fatalf("users/me: %d, Content-Encoding %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Encoding"), len(b))
		}
	})
	t.Run("errors keep the error shape", func(t *testing.T) {
		for _, c := range []struct{ name, url, token string }{
			{"unauthorized", history, ""},
			{"not found", base + "/api/v1/rooms/nope/messages", tok},
			{"no such endpoint", base + "/api/v1/nothing", tok},
		} {
			resp, b := call(t, "GET", c.url, c.token, "gzip", nil)
			if resp.StatusCode < 400 || resp.Header.Get("Content-Encoding") != "" {
				t.Fatalf("%s: %d, Content-Encoding %q", c.name, resp.StatusCode, resp.Header.Get("Content-Encoding"))
			}
			var e struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal(b, &e); err != nil || e.Error.Code == "" {
				t.Fatalf("%s: body %q is not the error shape (%v)", c.name, b, err)
			}
		}
	})
	t.Run("routes outside the API are left alone", func(t *testing.T) {
		resp, b := call(t, "GET", base+"/plain", "", "gzip", nil)
		if resp.Header.Get("Content-Encoding") != "" || !json.Valid(b) {
			t.Fatalf("/plain: Content-Encoding %q", resp.Header.Get("Content-Encoding"))
		}
	})
	t.Run("Go's client decodes it transparently", func(t *testing.T) {
		req, _ := http.NewRequest("GET", history, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if !resp.Uncompressed || !json.Valid(b) {
			t.Fatalf("Uncompressed %v, body valid JSON %v", resp.Uncompressed, json.Valid(b))
		}
	})
}

func TestGzipKeepsFlushAndHijack(t *testing.T) {
	z, err := api.Compress(0)
	if err != nil {
		t.Fatal(err)
	}
	base := apiServer(t, func(rt *api.Router) {
		// Streams a large JSON answer in two flushed parts.
		rt.Handle("GET /stream", z(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"a":"`+strings.Repeat("a", 4096)+`",`)
			if err := http.NewResponseController(w).Flush(); err != nil {
				t.Errorf("flush through gzip: %v", err)
			}
			_, _ = io.WriteString(w, `"b":"`+strings.Repeat("b", 4096)+`"}`)
		})))
		// Takes the connection over, as the WebSocket upgrade does.
		rt.Handle("GET /hijack", z(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, rw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Errorf("hijack through gzip: %v", err)
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			defer conn.Close()
			_, _ = rw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
			_ = rw.Flush()
		})))
	})
	resp, b := call(t, "GET", base+"/stream", "", "gzip", nil)
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("stream: Content-Encoding %q", resp.Header.Get("Content-Encoding"))
	}
	var v struct{ A, B string }
	if err := json.Unmarshal(gunzip(t, b), &v); err != nil || len(v.A) != 4096 || len(v.B) != 4096 {
		t.Fatalf("stream: %v, %d+%d bytes", err, len(v.A), len(v.B))
	}
	resp, b = call(t, "GET", base+"/hijack", "", "gzip", nil)
	if resp.StatusCode != http.StatusOK || string(b) != "hijacked" {
		t.Fatalf("hijack: %d %q", resp.StatusCode, b)
	}
}

func contains(vs []string, want string) bool {
	for _, v := range vs {
		for _, p := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(p), want) {
				return true
			}
		}
	}
	return false
}

func mustJSON(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// Payloads shaped like the API's largest common answers: a 100-message history page and
// the room list of a user in 50 rooms. Ids are ULIDs of the object's own time with random
// entropy (as chat.NewID makes them, so only their time prefix compresses), the texts
// chat sentences of 10–200 characters from a small vocabulary (kinder to gzip than real
// text: the savings measured are an upper bound).
func historyPage(n int) map[string]any {
	r := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	room := idAt(r, t0.Add(-48*time.Hour))
	senders := []string{idAt(r, t0.Add(-90*time.Hour)), idAt(r, t0.Add(-70*time.Hour)), idAt(r, t0.Add(-50*time.Hour)), idAt(r, t0.Add(-30*time.Hour))}
	msgs := make([]chat.Message, n)
	for i := range msgs {
		at := t0.Add(time.Duration(i) * 37 * time.Second)
		msgs[i] = chat.Message{
			ID: idAt(r, at), RoomID: room, Seq: int64(1000 + i), SenderID: senders[r.IntN(len(senders))],
			ClientMsgID: idAt(r, at.Add(-time.Duration(r.IntN(500))*time.Millisecond)), Type: "text", Text: sentence(r, 10+r.IntN(190)),
			CreatedAt: chat.At(at),
		}
	}
	return map[string]any{"messages": msgs, "hasMore": true}
}

func roomList(n int) map[string]any {
	r := rand.New(rand.NewPCG(3, 4))
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	me := idAt(r, t0.Add(-1000*time.Hour))
	rooms := make([]chat.Room, n)
	for i := range rooms {
		members := []string{me}
		for range 1 + r.IntN(8) {
			members = append(members, idAt(r, t0.Add(-time.Duration(r.IntN(1000))*time.Hour)))
		}
		unread := int64(r.IntN(20))
		muted := r.IntN(5) == 0
		typ, name := "group", sentence(r, 8+r.IntN(16))
		if len(members) == 2 {
			typ, name = "direct", ""
		}
		at := t0.Add(-time.Duration(r.IntN(10000)) * time.Minute)
		rooms[i] = chat.Room{
			ID: idAt(r, at.Add(-time.Duration(r.IntN(500))*time.Hour)), Type: typ, Name: name, MemberIDs: members, LastSeq: int64(r.IntN(5000)),
			CreatedAt: chat.At(t0), UnreadCount: &unread, Muted: &muted,
			LastMessage: &chat.Message{
				ID: idAt(r, at), Seq: int64(r.IntN(5000)), SenderID: members[r.IntN(len(members))],
				ClientMsgID: idAt(r, at), Type: "text", Text: sentence(r, 10+r.IntN(120)),
				CreatedAt: chat.At(at),
			},
		}
		rooms[i].LastMessage.RoomID = rooms[i].ID
	}
	return map[string]any{"rooms": rooms}
}

// idAt is an id as chat.NewID makes it at time t.
func idAt(r *rand.Rand, t time.Time) string {
	var entropy [10]byte
	for i := range entropy {
		entropy[i] = byte(r.Uint32())
	}
	return strings.ToLower(ulid.MustNew(ulid.Timestamp(t), bytes.NewReader(entropy[:])).String())
}

var words = strings.Fields(`the a to and of I you it is in that for on we this be with are
have not at so just do can will was what but if my your me lunch meeting tomorrow today
later ok thanks see sounds good call please review the draft deploy fixed bug on it yes no
maybe coffee now send link doc friday weekend great idea let's push merged tests pass`)

func sentence(r *rand.Rand, n int) string {
	var sb strings.Builder
	for sb.Len() < n {
		if sb.Len() > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(words[r.IntN(len(words))])
	}
	return sb.String()
}

// discard is a ResponseWriter that counts the body bytes.
type discard struct {
	h http.Header
	n int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) WriteHeader(int)             {}
func (d *discard) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }

// BenchmarkGzip measures what gzip costs and saves on the two largest common answers:
// the handler's JSON encoding plus, in the gzip cases, the middleware. It reports the
// bytes of one response (wire B/op).
//
//	go test -run x -bench Gzip -benchmem ./api
func BenchmarkGzip(b *testing.B) {
	z, err := api.Compress(0)
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range []struct {
		name string
		v    any
	}{{"history100", historyPage(100)}, {"rooms50", roomList(50)}} {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_ = json.NewEncoder(w).Encode(p.v)
		})
		for _, c := range []struct {
			name string
			h    http.Handler
			ae   string
		}{{"none", h, ""}, {"gzip", z(h), "gzip"}} {
			b.Run(p.name+"/"+c.name, func(b *testing.B) {
				req := httptest.NewRequest("GET", "/api/v1/x", nil)
				if c.ae != "" {
					req.Header.Set("Accept-Encoding", c.ae)
				}
				w := &discard{h: http.Header{}}
				for b.Loop() {
					clear(w.h)
					w.n = 0
					c.h.ServeHTTP(w, req)
				}
				b.ReportMetric(float64(w.n), "wire-B/op")
			})
		}
	}
}
