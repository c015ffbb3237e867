// Package httperr is how a chat.Error looks over HTTP: the one table from error kinds to
// statuses, and PROTOCOL.md's error body. Both edges that answer HTTP use it, the API
// server (api) and the chat server's handshake (ws), so that neither imports the other.
package httperr

import (
	"net/http"

	"github.com/chatchat/chatchat/chat"
)

// statusOf is the one table from error kinds to HTTP statuses.
var statusOf = map[chat.Kind]int{
	chat.Internal:         http.StatusInternalServerError,
	chat.Invalid:          http.StatusBadRequest,
	chat.Unauthorized:     http.StatusUnauthorized,
	chat.Forbidden:        http.StatusForbidden,
	chat.NotFound:         http.StatusNotFound,
	chat.Conflict:         http.StatusConflict,
	chat.TooLarge:         http.StatusRequestEntityTooLarge,
	chat.UnsupportedMedia: http.StatusUnsupportedMediaType,
	chat.RateLimited:      http.StatusTooManyRequests,
	chat.Unavailable:      http.StatusServiceUnavailable,
}

// Status returns the HTTP status for err; an error that is not a chat.Error is a 500.
func Status(err error) int {
	if s, ok := statusOf[chat.ErrorKind(err)]; ok {
		return s
	}
	// A kind added to chat but not to the table is still a server fault, never a 0.
	return http.StatusInternalServerError
}

// Body is PROTOCOL.md's error shape: {"error": {"code": ..., "message": ...}}.
type Body struct {
	Error Detail `json:"error"`
}

// Detail is the inside of Body.
type Detail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// BodyOf returns the body that reports err to a client. Internal errors show only a
// generic message (chat.ErrorMessage), never their text.
func BodyOf(err error) Body {
	return Body{Error: Detail{Code: chat.ErrorCode(err), Message: chat.ErrorMessage(err)}}
}
