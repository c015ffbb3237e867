package api_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chatchat/chatchat/api"
	"github.com/chatchat/chatchat/chat"
)

// hangUpChat answers every send with what a store call returns once the request's
// context has ended: the client hung up while it waited.
type hangUpChat struct {
	api.Chat
	hangUp context.CancelFunc
}

func (c hangUpChat) SendMessage(ctx context.Context, _, _ string, _ chat.NewMessage) (chat.Message, bool, error) {
	c.hangUp()
	return chat.Message{}, false, ctx.Err()
}

func (c hangUpChat) History(ctx context.Context, _, _ string, _ chat.HistoryQuery) ([]chat.Message, bool, error) {
	return []chat.Message{{ID: "m1", Text: "<a> & <b>"}}, false, nil
}

// TestClientHangUpIsNotAServerError: a request whose client went away is answered 499,
// not 500, and so not counted among the server's errors.
func TestClientHangUpIsNotAServerError(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	h := handler(t, api.Config{}, hangUpChat{hangUp: cancel}, "u1")
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/api/v1/rooms/r1/messages", strings.NewReader(`{"text":"hi"}`))
	req.Header.Set("Authorization", "Bearer u1")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != api.StatusClientClosedRequest {
		t.Fatalf("status %d, want %d", rec.Code, api.StatusClientClosedRequest)
	}
}

// TestAnswersAreNotHTMLEscaped: JSON for programs keeps <, > and & as they are.
func TestAnswersAreNotHTMLEscaped(t *testing.T) {
	h := handler(t, api.Config{GzipMinBytes: -1}, hangUpChat{}, "u1")
	resp := serve(t, h, http.MethodGet, "/api/v1/rooms/r1/messages", "u1", nil)
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"text":"<a> & <b>"`) {
		t.Fatalf("answer %d %s", resp.StatusCode, b)
	}
}
