package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chatchat/chatchat/api"
	"github.com/chatchat/chatchat/chat"
)

type pinger func(ctx context.Context) error

func (p pinger) Ping(ctx context.Context) error { return p(ctx) }

// TestReadyShowsStatesNotErrors: /readyz is unauthenticated, so a failing dependency is
// named with its state only; the error itself (addresses, user names, driver text) goes to
// the log, where the operator reads it.
func TestReadyShowsStatesNotErrors(t *testing.T) {
	const secret = "dial tcp 10.0.3.17:6379: AUTH failed for user chatchat"
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	h := api.Ready(log, map[string]chat.Pinger{
		"store": pinger(func(context.Context) error { return nil }),
		"redis": pinger(func(context.Context) error { return errors.New(secret) }),
		"media": pinger(func(context.Context) error { return context.DeadlineExceeded }),
	})
	rec := httptest.NewRecorder()
	h(rec, httptest.NewRequest("GET", "/readyz", nil))

	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", rec.Code)
	}
	body := rec.Body.String()
	for _, leak := range []string{"10.0.3.17", "chatchat", "dial tcp", "deadline"} {
		if strings.Contains(body, leak) {
			t.Errorf("answer carries %q: %s", leak, body)
		}
	}
	var got struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	want := map[string]string{"store": "ok", "redis": "unavailable", "media": "timeout"}
	if got.Status != "unavailable" || len(got.Checks) != len(want) {
		t.Errorf("answer %+v, want status unavailable and checks %v", got, want)
	}
	for name, state := range want {
		if got.Checks[name] != state {
			t.Errorf("check %s = %q, want %q", name, got.Checks[name], state)
		}
	}
	if !strings.Contains(logs.String(), secret) {
		t.Errorf("the failure is not in the log, where the operator needs it:\n%s", logs.String())
	}
}

func TestReadyAllUp(t *testing.T) {
	h := api.Ready(slog.New(slog.DiscardHandler), map[string]chat.Pinger{
		"store": pinger(func(context.Context) error { return nil }),
	})
	rec := httptest.NewRecorder()
	h(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"store":"ok"`) {
		t.Errorf("%d %s, want 200 with store ok", rec.Code, rec.Body.String())
	}
}
