package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/client"
)

var (
	t0   = chat.At(time.Date(2026, 11, 24, 10, 0, 0, 123e6, time.UTC))
	ann  = chat.User{ID: "u1", Username: "ann", DisplayName: "Ann", CreatedAt: t0}
	bob  = chat.User{ID: "u2", Username: "bob", DisplayName: "Bob", CreatedAt: t0}
	msg1 = chat.Message{ID: "m1", RoomID: "r1", Seq: 1, SenderID: "u1", ClientMsgID: "c1",
		Type: chat.MessageText, Text: "hi", CreatedAt: t0, UnreadCount: 1}
	room1 = chat.Room{ID: "r1", Type: chat.RoomGroup, Name: "team", MemberIDs: []string{"u1", "u2"},
		LastSeq: 1, CreatedAt: t0}
	media1 = chat.Media{ID: "md1", RoomID: "r1", Filename: "cat.png", ContentType: "image/png",
		Size: 3, URL: "http://x/m", URLExpiresAt: &t0}
)

// TestEndpoints checks, for every typed method, the exact request the client makes (method,
// path, query, body, token) and that it decodes the canned answer.
func TestEndpoints(t *testing.T) {
	online := chat.Presence{UserID: "u2", Status: chat.StatusOnline, LastActiveAt: &t0}
	bobOnline := bob
	bobOnline.Presence = &online
	read := chat.ReadReceipt{RoomID: "r1", UserID: "u1", LastReadSeq: 1}
	delivered := chat.DeliveryReceipt{RoomID: "r1", UserID: "u1", LastDeliveredSeq: 7}
	notif := client.Notification{ID: "n1", MessageID: "m1", RoomID: "r1", Seq: 1, Platform: "web",
		Status: client.NotificationLogged, Title: "Ann", Body: "hi", CreatedAt: t0}
	presigned := client.PresignedMedia{Media: media1, UploadURL: "http://s3/up",
		UploadHeaders: map[string]string{"Content-Type": "image/png"}}
	muted := true
	mutedRoom := room1
	mutedRoom.Muted = &muted
	described := room1
	described.Description, described.BannedIDs = "about", []string{"u3"}

	type result struct {
		V       any
		Flag    bool `json:",omitempty"`
		HasMore bool `json:",omitempty"`
	}
	tests := []struct {
		name    string
		pattern string // what the server answers
		status  int
		answer  any
		call    func(ctx context.Context, c *client.Client) (result, error)
		want    result
		// The request the client must make.
		method, path, query, body string
		noAuth                    bool
	}{
		{
			name: "Signup", pattern: "POST /api/v1/auth/signup", status: 201,
			answer: map[string]any{"user": ann, "accessToken": "at1", "refreshToken": "rt1"},
			call: func(ctx context.Context, c *client.Client) (result, error) {
				a, err := c.Signup(ctx, "ann", "pw", "Ann")
				return result{V: a}, err
			},
			want:   result{V: client.Auth{User: chat.Profile{User: ann}, AccessToken: "at1", RefreshToken: "rt1"}},
			method: "POST", path: "/api/v1/auth/signup", noAuth: true,
			body: `{"displayName":"Ann","password":"pw","username":"ann"}`,
		},
		{
			name: "Login", pattern: "POST /api/v1/auth/login", status: 200,
			answer: map[string]any{"user": ann, "accessToken": "at1", "refreshToken": "rt1"},
			call: func(ctx context.Context, c *client.Client) (result, error) {
				a, err := c.Login(ctx, "ann", "pw")
				return result{V: a}, err
			},
			want:   result{V: client.Auth{User: chat.Profile{User: ann}, AccessToken: "at1", RefreshToken: "rt1"}},
			method: "POST", path: "/api/v1/auth/login", noAuth: true,
			body: `{"password":"pw","username":"ann"}`,
		},
		{
			name: "Refresh", pattern: "POST /api/v1/auth/refresh", status: 200,
			answer: client.Tokens{AccessToken: "at2", RefreshToken: "rt2"},
			call: func(ctx context.Context, c *client.Client) (result, error) {
				tk, err := c.Refresh(ctx)
				return result{V: tk}, err
			},
			want:   result{V: client.Tokens{AccessToken: "at2", RefreshToken: "rt2"}},
			method: "POST", path: "/api/v1/auth/refresh", noAuth: true, body: `{"refreshToken":"rt1"}`,
		},
		{
			name: "Me", pattern: "GET /api/v1/users/me", status: 200, answer: ann,
			call: func(ctx context.Context, c *client.Client) (result, error) {
				u, err := c.Me(ctx)
				return result{V: u}, err
			},
			want: result{V: chat.Profile{User: ann}}, method: "GET", path: "/api/v1/users/me",
		},
		{
			name: "User", pattern: "GET /api/v1/users/{id}", status: 200, answer: bobOnline,
			call: func(ctx context.Context, c *client.Client) (result, error) {
				u, err := c.User(ctx, "u2")
				return result{V: u}, err
			},
			want: result{V: bobOnline}, method: "GET", path: "/api/v1/users/u2",
		},
		{
			name: "SearchUsers", pattern: "GET /api/v1/users", status: 200,
			answer: map[string]any{"users": []chat.User{ann}},
			call: func(ctx context.Context, c *client.Client) (result, error) {
				us, err := c.SearchUsers(ctx, "an n", 5)
				return result{V: us}, err
			},
			want: result{V: []chat.User{ann}}, method: "GET", path: "/api/v1/users", query: "limit=5&q=an+n",
		},
		{
			name: "Presence", pattern: "GET /api/v1/presence", status: 200,
			answer: map[string]any{"presence": []chat.Presence{online}},
			call: func(ctx context.Context, c *client.Client) (result, error) {
				ps, err := c.Presence(ctx, "u2", "u3")
				return result{V: ps}, err
			},
			want: result{V: []chat.Presence{online}}, method: "GET", path: "/api/v1/presence",
			query: "userIds=u2%2Cu3",
		},
		{
			name: "CreateRoom", pattern: "POST /api/v1/rooms", status: 201, answer: room1,
			call: func(ctx context.Context, c *client.Client) (result, error) {
				r, created, err := c.CreateRoom(ctx, client.NewRoom{Type: chat.RoomGroup, Name: "team", MemberIDs: []string{"u2"}})
				return result{V: r, Flag: created}, err
			},
			want: result{V: room1, Flag: true}, method: "POST", path: "/api/v1/rooms",
			body: `{"type":"group","name":"team","memberIds":["u2"]}`,
		},
		{
			name: "CreateRoom existing direct", pattern: "POST /api/v1/rooms", status: 200, answer: room1,
			call: func(ctx context.Context, c *client.Client) (result, error) {
				r, created, err := c.CreateRoom(ctx, client.NewRoom{Type: chat.RoomDirect, MemberIDs: []string{"u2"}})
				return result{V: r, Flag: created}, err
			},
			want: result{V: room1}, method: "POST", path: "/api/v1/rooms",
			body: `{"type":"direct","memberIds":["u2"]}`,
		},
		{
			name: "Rooms", pattern: "GET /api/v1/rooms", status: 200,
			answer: map[string]any{"rooms": []chat.Room{room1}},
			call: func(ctx context.Context, c *client.Client) (result, error) {
				rs, err := c.Rooms(ctx)
				return result{V: rs}, err
			},
			want: result{V: []chat.Room{room1}}, method: "GET", path: "/api/v1/rooms",
		},
		{
			name: "Room", pattern: "GET /api/v1/rooms/{id}", status: 200, answer: room1,
			call: func(ctx context.Context, c *client.Client) (result, error) {
				r, err := c.Room(ctx, "r1")
				return result{V: r}, err
			},
			want: result{V: room1}, method: "GET", path: "/api/v1/rooms/r1",
		},
		{
			name: "AddMembers", pattern: "POST /api/v1/rooms/{id}/members", status: 200, answer: room1,
			call: func(ctx context.Context, c *client.Client) (result, error) {
				r, err := c.AddMembers(ctx, "r1", "u3", "u4")
				return result{V: r}, err
			},
			want: result{V: room1}, method: "POST", path: "/api/v1/rooms/r1/members",
			body: `{"userIds":["u3","u4"]}`,
		},
		{
			name: "LeaveRoom", pattern: "DELETE /api/v1/rooms/{id}/members/me", status: 204,
			call: func(ctx context.Context, c *client.Client) (result, error) {
				return result{}, c.LeaveRoom(ctx, "r1")
			},
			method: "DELETE", path: "/api/v1/rooms/r1/members/me",
		},
		{
			name: "UpdateRoom", pattern: "PATCH /api/v1/rooms/{id}", status: 200, answer: described,
			call: func(ctx context.Context, c *client.Client) (result, error) {
				about := "about"
				r, err := c.UpdateRoom(ctx, "r1", client.RoomPatch{Description: &about})
				return result{V: r}, err
			},
			want: result{V: described}, method: "PATCH", path: "/api/v1/rooms/r1", body: `{"description":"about"}`,
		},
		{
			name: "SetMemberRole", pattern: "PATCH /api/v1/rooms/{id}/members/{uid}", status: 200, answer: room1,
			call: func(ctx context.Context, c *client.Client) (result, error) {
				r, err := c.SetMemberRole(ctx, "r1", "u/2", chat.RoleAdmin)
				return result{V: r}, err
			},
			want: result{V: room1}, method: "PATCH", path: "/api/v1/rooms/r1/members/u%2F2", body: `{"role":"admin"}`,
		},
		{
			name: "RemoveMember", pattern: "DELETE /api/v1/rooms/{id}/members/{uid}", status: 204,
			call: func(ctx context.Context, c *client.Client) (result, error) {
				return result{}, c.RemoveMember(ctx, "r1", "u2")
			},
			method: "DELETE", path: "/api/v1/rooms/r1/members/u2",
		},
		{
			name: "Ban", pattern: "POST /api/v1/rooms/{id}/bans", status: 200, answer: described,
			call: func(ctx context.Context, c *client.Client) (result, error) {
				r, err := c.Ban(ctx, "r1", "u2")
				return result{V: r}, err
			},
			want: result{V: described}, method: "POST", path: "/api/v1/rooms/r1/bans", body: `{"userId":"u2"}`,
		},
		{
			name: "Unban", pattern: "DELETE /api/v1/rooms/{id}/bans/{uid}", status: 204,
			call: func(ctx context.Context, c *client.Client) (result, error) {
				return result{}, c.Unban(ctx, "r1", "u2")
			},
			method: "DELETE", path: "/api/v1/rooms/r1/bans/u2",
		},
		{
			name: "SetMuted", pattern: "PATCH /api/v1/rooms/{id}/settings", status: 200, answer: mutedRoom,
			call: func(ctx context.Context, c *client.Client) (result, error) {
				r, err := c.SetMuted(ctx, "r1", true)
				return result{V: r}, err
			},
			want: result{V: mutedRoom}, method: "PATCH", path: "/api/v1/rooms/r1/settings", body: `{"muted":true}`,
		},
		{
			name: "SendMessage", pattern: "POST /api/v1/rooms/{id}/messages", status: 201, answer: msg1,
			call: func(ctx context.Context, c *client.Client) (result, error) {
				m, created, err := c.SendMessage(ctx, "r1", client.NewMessage{ClientMsgID: "c1", Text: "hi"})
				return result{V: m, Flag: created}, err
			},
			want: result{V: msg1, Flag: true}, method: "POST", path: "/api/v1/rooms/r1/messages",
			body: `{"clientMsgId":"c1","type":"text","text":"hi"}`,
		},
		{
			name: "SendMessage repeated", pattern: "POST /api/v1/rooms/{id}/messages", status: 200, answer: msg1,
			call: func(ctx context.Context, c *client.Client) (result, error) {
				m, created, err := c.SendMessage(ctx, "r1", client.NewMessage{ClientMsgID: "c1", Type: chat.MessageImage, MediaID: "md1"})
				return result{V: m, Flag: created}, err
			},
			want: result{V: msg1}, method: "POST", path: "/api/v1/rooms/r1/messages",
			body: `{"clientMsgId":"c1","type":"image","mediaId":"md1"}`,
		},
		{
			name: "History", pattern: "GET /api/v1/rooms/{id}/messages", status: 200,
			answer: map[string]any{"messages": []chat.Message{msg1}, "hasMore": true},
			call: func(ctx context.Context, c *client.Client) (result, error) {
				ms, more, err := c.History(ctx, "r1", chat.HistoryQuery{AfterSeq: 3, BeforeSeq: 9, Limit: 50})
				return result{V: ms, HasMore: more}, err
			},
			want: result{V: []chat.Message{msg1}, HasMore: true}, method: "GET", path: "/api/v1/rooms/r1/messages",
			query: "afterSeq=3&beforeSeq=9&limit=50",
		},
		{
			name: "History forward from 0", pattern: "GET /api/v1/rooms/{id}/messages", status: 200,
			answer: map[string]any{"messages": []chat.Message{msg1}, "hasMore": true},
			call: func(ctx context.Context, c *client.Client) (result, error) {
				ms, more, err := c.History(ctx, "r1", chat.HistoryQuery{Forward: true, Limit: 100})
				return result{V: ms, HasMore: more}, err
			},
			want: result{V: []chat.Message{msg1}, HasMore: true}, method: "GET", path: "/api/v1/rooms/r1/messages",
			query: "afterSeq=0&limit=100",
		},
		{
			name: "MarkRead", pattern: "POST /api/v1/rooms/{id}/read", status: 200, answer: read,
			call: func(ctx context.Context, c *client.Client) (result, error) {
				rr, err := c.MarkRead(ctx, "r1", 7)
				return result{V: rr}, err
			},
			want: result{V: read}, method: "POST", path: "/api/v1/rooms/r1/read", body: `{"seq":7}`,
		},
		{
			name: "Delivered", pattern: "POST /api/v1/rooms/{id}/delivered", status: 200, answer: delivered,
			call: func(ctx context.Context, c *client.Client) (result, error) {
				dr, err := c.Delivered(ctx, "r1", 7)
				return result{V: dr}, err
			},
			want: result{V: delivered}, method: "POST", path: "/api/v1/rooms/r1/delivered", body: `{"seq":7}`,
		},
		{
			name: "PresignMedia", pattern: "POST /api/v1/rooms/{id}/media", status: 201, answer: presigned,
			call: func(ctx context.Context, c *client.Client) (result, error) {
				pm, err := c.PresignMedia(ctx, "r1", client.Presign{Filename: "cat.png", ContentType: "image/png", Size: 3})
				return result{V: pm}, err
			},
			want: result{V: presigned}, method: "POST", path: "/api/v1/rooms/r1/media",
			body: `{"filename":"cat.png","contentType":"image/png","size":3}`,
		},
		{
			name: "RegisterDevice", pattern: "POST /api/v1/devices", status: 201, answer: map[string]any{},
			call: func(ctx context.Context, c *client.Client) (result, error) {
				created, err := c.RegisterDevice(ctx, client.PlatformWeb, "tok")
				return result{Flag: created}, err
			},
			want: result{Flag: true}, method: "POST", path: "/api/v1/devices", body: `{"platform":"web","token":"tok"}`,
		},
		{
			name: "DeleteDevice", pattern: "DELETE /api/v1/devices/{token}", status: 204,
			call: func(ctx context.Context, c *client.Client) (result, error) {
				return result{}, c.DeleteDevice(ctx, "fcm:a/b")
			},
			method: "DELETE", path: "/api/v1/devices/fcm:a%2Fb",
		},
		{
			name: "Notifications", pattern: "GET /api/v1/notifications", status: 200,
			answer: map[string]any{"notifications": []client.Notification{notif}, "hasMore": false},
			call: func(ctx context.Context, c *client.Client) (result, error) {
				ns, more, err := c.Notifications(ctx, "n9", 20)
				return result{V: ns, HasMore: more}, err
			},
			want: result{V: []client.Notification{notif}}, method: "GET", path: "/api/v1/notifications",
			query: "beforeId=n9&limit=20",
		},
		{
			name: "Healthz", pattern: "GET /healthz", status: 200, answer: map[string]any{"status": "ok", "checks": map[string]string{}},
			call: func(ctx context.Context, c *client.Client) (result, error) {
				h, err := c.Healthz(ctx)
				return result{V: h.Status}, err
			},
			want: result{V: "ok"}, method: "GET", path: "/healthz", noAuth: true,
		},
		{
			name: "Metrics", pattern: "GET /metrics", status: 200, answer: "chatchat_up 1\n",
			call: func(ctx context.Context, c *client.Client) (result, error) {
				m, err := c.Metrics(ctx)
				return result{V: m}, err
			},
			want: result{V: "chatchat_up 1\n"}, method: "GET", path: "/metrics", noAuth: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			s.reply(tt.pattern, tt.status, tt.answer)
			c := newClient(t, s)
			got, err := tt.call(testContext(t), c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if g, w := mustJSON(t, got), mustJSON(t, tt.want); g != w {
				t.Errorf("result\n got %s\nwant %s", g, w)
			}
			reqs := s.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != tt.method || r.Path != tt.path || r.Query != tt.query {
				t.Errorf("request %s %s?%s, want %s %s?%s", r.Method, r.Path, r.Query, tt.method, tt.path, tt.query)
			}
			if string(trimNL(r.Body)) != tt.body {
				t.Errorf("body %s, want %s", r.Body, tt.body)
			}
			if tt.body != "" && r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type %q, want application/json", r.Header.Get("Content-Type"))
			}
			wantAuth := "Bearer at1"
			if tt.noAuth {
				wantAuth = ""
			}
			if got := r.Header.Get("Authorization"); got != wantAuth {
				t.Errorf("Authorization %q, want %q", got, wantAuth)
			}
		})
	}
}

func mustJSON(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func trimNL(b []byte) []byte { return []byte(strings.TrimRight(string(b), "\n")) }

func TestSignupKeepsTokens(t *testing.T) {
	s := newServer(t)
	s.reply("POST /api/v1/auth/signup", 201, map[string]any{"user": ann, "accessToken": "new-at", "refreshToken": "new-rt"})
	s.reply("GET /api/v1/users/me", 200, ann)
	c := client.New(s.URL, client.WithHTTPClient(s.Client()))
	ctx := testContext(t)
	if _, err := c.Signup(ctx, "ann", "pw", "Ann"); err != nil {
		t.Fatal(err)
	}
	if got := c.Tokens(); got != (client.Tokens{AccessToken: "new-at", RefreshToken: "new-rt"}) {
		t.Errorf("tokens %+v", got)
	}
	if _, err := c.Me(ctx); err != nil {
		t.Fatal(err)
	}
	if got := s.requests()[1].Header.Get("Authorization"); got != "Bearer new-at" {
		t.Errorf("Authorization %q, want the token from sign-up", got)
	}
}

// TestRefreshAndRetry: a 401 token_expired refreshes once, and the request is sent again,
// same body, with the new token.
func TestRefreshAndRetry(t *testing.T) {
	s := newServer(t)
	s.reply("POST /api/v1/auth/refresh", 200, client.Tokens{AccessToken: "at2", RefreshToken: "rt2"})
	s.mux.HandleFunc("POST /api/v1/rooms/{id}/messages", authed("at2", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 201, msg1)
	}))
	c := newClient(t, s)
	m, _, err := c.SendMessage(testContext(t), "r1", client.NewMessage{Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != "m1" {
		t.Errorf("message %+v", m)
	}
	reqs := s.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want send, refresh, send", len(reqs))
	}
	if got := string(trimNL(reqs[1].Body)); got != `{"refreshToken":"rt1"}` {
		t.Errorf("refresh body %s", got)
	}
	if string(reqs[0].Body) != string(reqs[2].Body) {
		t.Errorf("retry body %s differs from first %s", reqs[2].Body, reqs[0].Body)
	}
	var first client.NewMessage
	if err := json.Unmarshal(reqs[0].Body, &first); err != nil || first.ClientMsgID == "" {
		t.Errorf("clientMsgId not filled in: %s", reqs[0].Body)
	}
	if got := reqs[2].Header.Get("Authorization"); got != "Bearer at2" {
		t.Errorf("retry Authorization %q", got)
	}
	if got := c.Tokens(); got != (client.Tokens{AccessToken: "at2", RefreshToken: "rt2"}) {
		t.Errorf("tokens %+v", got)
	}
}

// TestConcurrentRefreshOnce: calls that meet the same expired token share one refresh,
// since a refresh token spent twice revokes the whole family.
func TestConcurrentRefreshOnce(t *testing.T) {
	s := newServer(t)
	s.reply("POST /api/v1/auth/refresh", 200, client.Tokens{AccessToken: "at2", RefreshToken: "rt2"})
	s.mux.HandleFunc("GET /api/v1/users/me", authed("at2", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, ann)
	}))
	c := newClient(t, s)
	ctx := testContext(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := c.Me(ctx)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := s.count("POST", "/api/v1/auth/refresh"); n != 1 {
		t.Errorf("%d refreshes, want 1", n)
	}
}

func TestNoRefresh(t *testing.T) {
	t.Run("other 401 code", func(t *testing.T) {
		s := newServer(t)
		s.reply("GET /api/v1/users/me", 401, apiError("unauthorized", "who are you"))
		_, err := newClient(t, s).Me(testContext(t))
		if client.ErrorStatus(err) != 401 || client.ErrorCode(err) != "unauthorized" {
			t.Errorf("err %v", err)
		}
		if n := s.count("POST", "/api/v1/auth/refresh"); n != 0 {
			t.Errorf("%d refreshes, want 0", n)
		}
	})
	t.Run("refresh refused", func(t *testing.T) {
		s := newServer(t)
		s.reply("GET /api/v1/users/me", 401, apiError("invalid_token", "bad"))
		s.reply("POST /api/v1/auth/refresh", 401, apiError("invalid_refresh_token", "revoked"))
		_, err := newClient(t, s).Me(testContext(t))
		if client.ErrorCode(err) != "invalid_refresh_token" {
			t.Errorf("err %v, want the refresh's error", err)
		}
		if n := s.count("GET", "/api/v1/users/me"); n != 1 {
			t.Errorf("%d calls, want 1", n)
		}
	})
	t.Run("login 401", func(t *testing.T) {
		s := newServer(t)
		s.reply("POST /api/v1/auth/login", 401, apiError("invalid_token", "odd"))
		_, err := newClient(t, s).Login(testContext(t), "ann", "bad")
		if client.ErrorStatus(err) != 401 {
			t.Errorf("err %v", err)
		}
		if n := s.count("POST", "/api/v1/auth/refresh"); n != 0 {
			t.Errorf("%d refreshes, want 0", n)
		}
	})
}

func TestAPIError(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header map[string]string
		body   any
		want   client.APIError
	}{
		{"error shape", 404, nil, apiError("room_not_found", "no such room"),
			client.APIError{Status: 404, Code: "room_not_found", Message: "no such room"}},
		{"html from a proxy", 502, nil, "<html>Bad Gateway</html>",
			client.APIError{Status: 502, Message: "<html>Bad Gateway</html>"}},
		{"empty body", 503, nil, "", client.APIError{Status: 503, Message: "Service Unavailable"}},
		{"json, not the shape", 400, nil, map[string]string{"msg": "x"},
			client.APIError{Status: 400, Message: `{"msg":"x"}`}},
		{"rate limited", 429, map[string]string{"Retry-After": "7"}, apiError("rate_limited", "slow down"),
			client.APIError{Status: 429, Code: "rate_limited", Message: "slow down", RetryAfter: 7 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			s.mux.HandleFunc("GET /api/v1/rooms/{id}", func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				writeJSON(w, tt.status, tt.body)
			})
			_, err := newClient(t, s).Room(testContext(t), "r1")
			var got *client.APIError
			if !errors.As(err, &got) {
				t.Fatalf("err %v is not an *APIError", err)
			}
			if *got != tt.want {
				t.Errorf("got %+v, want %+v", *got, tt.want)
			}
		})
	}
}

func TestUploadMedia(t *testing.T) {
	s := newServer(t)
	s.reply("POST /api/v1/rooms/{id}/media", 201, media1)
	c := newClient(t, s)
	m, err := c.UploadMedia(testContext(t), "r1", "cat.png", strings.NewReader("PNG"))
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != "md1" || m.URL != "http://x/m" {
		t.Errorf("media %+v", m)
	}
	r := s.requests()[0]
	if r.Path != "/api/v1/rooms/r1/media" || r.Header.Get("Authorization") != "Bearer at1" {
		t.Errorf("request %s %v", r.Path, r.Header)
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		t.Fatalf("Content-Type %q", r.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(strings.NewReader(string(r.Body)), params["boundary"])
	p, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(p)
	if p.FormName() != "file" || p.FileName() != "cat.png" || string(b) != "PNG" {
		t.Errorf("part %q %q %q", p.FormName(), p.FileName(), b)
	}
	if _, err := mr.NextPart(); err != io.EOF {
		t.Errorf("more than one part: %v", err)
	}
}

// TestMediaRedirect: the bytes are fetched with the token, and a redirect to a signed URL
// on another host is followed without it.
func TestMediaRedirect(t *testing.T) {
	blobs := newServer(t)
	blobs.mux.HandleFunc("GET /signed/md1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = io.WriteString(w, "PNG")
	})
	s := newServer(t)
	s.mux.HandleFunc("GET /api/v1/media/{id}", func(w http.ResponseWriter, r *http.Request) {
		// 127.0.0.1 and localhost are different hosts to the http.Client.
		u := strings.Replace(blobs.URL, "127.0.0.1", "localhost", 1)
		http.Redirect(w, r, u+"/signed/"+r.PathValue("id"), http.StatusFound)
	})
	c := newClient(t, s)
	b, err := c.Media(testContext(t), "md1", true)
	if err != nil {
		t.Fatal(err)
	}
	if string(b.Data) != "PNG" || b.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("blob %q %v", b.Data, b.Header)
	}
	if q := s.requests()[0].Query; q != "thumb=1" {
		t.Errorf("query %q", q)
	}
	if got := blobs.requests()[0].Header.Get("Authorization"); got != "" {
		t.Errorf("signed URL got Authorization %q", got)
	}
}

func TestReadyzUnavailable(t *testing.T) {
	s := newServer(t)
	s.reply("GET /readyz", 503, map[string]any{"status": "unavailable", "checks": map[string]string{"redis": "down"}})
	h, err := newClient(t, s).Readyz(testContext(t))
	if client.ErrorStatus(err) != 503 {
		t.Errorf("err %v, want a 503 APIError", err)
	}
	if h.Status != "unavailable" || !strings.Contains(string(h.Checks), "redis") {
		t.Errorf("health %+v", h)
	}
}

func ExampleClient() {
	ctx := context.Background()
	c := client.New("http://127.0.0.1:8080")
	if _, err := c.Login(ctx, "ann", "secret"); err != nil {
		fmt.Println(err)
		return
	}
	m, _, err := c.SendMessage(ctx, "roomid", client.NewMessage{Text: "hello"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Seq)
}
