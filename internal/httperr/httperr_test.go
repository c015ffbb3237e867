package httperr_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/internal/httperr"
)

func TestStatus(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"plain error", errors.New("disk on fire"), http.StatusInternalServerError},
		{"internal", chat.Errorf(chat.Internal, "internal", "x"), http.StatusInternalServerError},
		{"invalid", chat.Errorf(chat.Invalid, "bad_request", "x"), http.StatusBadRequest},
		{"unauthorized", chat.Errorf(chat.Unauthorized, "unauthorized", "x"), http.StatusUnauthorized},
		{"forbidden", chat.Errorf(chat.Forbidden, "forbidden", "x"), http.StatusForbidden},
		{"not found", chat.ErrNotFound, http.StatusNotFound},
		{"wrapped not found", fmt.Errorf("store: room: %w", chat.ErrNotFound), http.StatusNotFound},
		{"conflict", chat.ErrConflict, http.StatusConflict},
		{"too large", chat.Errorf(chat.TooLarge, "body_too_large", "x"), http.StatusRequestEntityTooLarge},
		{"unsupported media", chat.Errorf(chat.UnsupportedMedia, "unsupported_media_type", "x"), http.StatusUnsupportedMediaType},
		{"rate limited", chat.Errorf(chat.RateLimited, "rate_limited", "x"), http.StatusTooManyRequests},
		{"unavailable", chat.Errorf(chat.Unavailable, "unavailable", "x"), http.StatusServiceUnavailable},
		{"unknown kind", chat.Errorf(chat.Kind(999), "odd", "x"), http.StatusInternalServerError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := httperr.Status(tc.err); got != tc.want {
				t.Errorf("Status = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestBodyOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"domain error", chat.Errorf(chat.NotFound, "room_not_found", "no such room"),
			`{"error":{"code":"room_not_found","message":"no such room"}}`},
		{"internal error hides its text", errors.New("password=hunter2"),
			`{"error":{"code":"internal","message":"internal error"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(httperr.BodyOf(tc.err))
			if err != nil || string(b) != tc.want {
				t.Errorf("body = %s, %v; want %s", b, err, tc.want)
			}
		})
	}
}
