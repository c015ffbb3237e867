package api_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chatchat/chatchat/api"
	"github.com/chatchat/chatchat/chat"
)

// callers authenticates "Bearer <user id>" for the ids it holds and refuses every other
// token. Handler tests need a caller, not the token machinery (auth has its own tests);
// the other methods of api.Authenticator are not called.
type callers struct {
	api.Authenticator
	ids map[string]bool
}

func (c callers) Authenticate(token string) (chat.Identity, error) {
	if !c.ids[token] {
		return chat.Identity{}, chat.Errorf(chat.Unauthorized, "invalid_token", "invalid access token")
	}
	return chat.Identity{UserID: token, SessionID: "session-of-" + token}, nil
}

// handler is an API server on the binary's router whose callers are the given user ids.
// c may be nil for tests that call no chat route.
func handler(tb testing.TB, cfg api.Config, c api.Chat, userIDs ...string) http.Handler {
	tb.Helper()
	log := slog.New(slog.DiscardHandler)
	cfg.Logger = log
	rt := api.NewRouter(log, prometheus.NewRegistry())
	ids := map[string]bool{}
	for _, id := range userIDs {
		ids[id] = true
	}
	api.NewServer(cfg, c, callers{ids: ids}).Register(rt)
	return rt
}

// serve sends one request to h as userID ("" sends no token) and returns the answer.
// header holds pairs of header names and values.
func serve(tb testing.TB, h http.Handler, method, target, userID string, body io.Reader, header ...string) *http.Response {
	tb.Helper()
	req := httptest.NewRequest(method, target, body)
	if userID != "" {
		req.Header.Set("Authorization", "Bearer "+userID)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

// wantError checks that resp is an error of PROTOCOL.md's shape with the status and code.
func wantError(tb testing.TB, resp *http.Response, status int, code string) {
	tb.Helper()
	b, _ := io.ReadAll(resp.Body)
	var e struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(b, &e); err != nil || resp.StatusCode != status || e.Error.Code != code || e.Error.Message == "" {
		tb.Fatalf("answer %d %s, want %d with code %s", resp.StatusCode, b, status, code)
	}
}

// decode reads resp's JSON body into v after checking its status.
func decode(tb testing.TB, resp *http.Response, status int, v any) {
	tb.Helper()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		tb.Fatalf("answer %d %s, want %d", resp.StatusCode, b, status)
	}
	if err := json.Unmarshal(b, v); err != nil {
		tb.Fatalf("body %s: %v", b, err)
	}
}
