package chat

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error for the edges: the API maps it to an HTTP status and the chat
// server to a WebSocket close code, each in one table.
type Kind int

// Error kinds.
const (
	Internal Kind = iota
	Invalid
	Unauthorized
	Forbidden
	NotFound
	Conflict
	TooLarge
	UnsupportedMedia
	RateLimited
	Unavailable
)

// Error is the one domain error type. Code is the stable snake_case code of PROTOCOL.md's
// error shape; Message is for humans.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	// RetryAfter, when positive, is how long the caller should wait before trying again
	// (a quota that frees up over time); the API sends it as Retry-After.
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error of the given kind and code.
func Errorf(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Sentinel errors that stores return (wrapped with context); the service turns them into
// more specific codes where the caller needs one.
var (
	ErrNotFound = &Error{Kind: NotFound, Code: "not_found", Message: "not found"}
	ErrConflict = &Error{Kind: Conflict, Code: "conflict", Message: "already exists"}
)

// ErrorKind returns the kind of err; anything that is not an *Error is Internal.
func ErrorKind(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// ErrorCode returns err's code, or "internal" for errors that are not an *Error.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return "internal"
}

// ErrorMessage returns the human message of err that is safe to show a client: internal
// errors never leak their text.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// IsNotFound reports whether err is of kind NotFound.
func IsNotFound(err error) bool { return ErrorKind(err) == NotFound }

// IsConflict reports whether err is of kind Conflict.
func IsConflict(err error) bool { return ErrorKind(err) == Conflict }
