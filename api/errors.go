package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/internal/httperr"
)

// writeError writes err in PROTOCOL.md's error shape, with the status of httperr's table.
// Internal errors are logged here, once, and the client sees only a generic message.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	if clientGone(r, err) {
		// Not a server fault, and nobody is left to read an answer: counted as what it is.
		log.Debug("client closed the request", "request_id", RequestID(r.Context()), "method", r.Method, "route", routeOf(r))
		w.WriteHeader(StatusClientClosedRequest)
		return
	}
	status := httperr.Status(err)
	if status >= 500 {
		log.Error("request failed", "request_id", RequestID(r.Context()), "method", r.Method,
			"route", routeOf(r), "err", err)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="chatchat"`)
	}
	if e := (*chat.Error)(nil); errors.As(err, &e) && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retrySeconds(e.RetryAfter)))
	}
	writeJSON(w, status, httperr.BodyOf(err))
}

// routeOf names a request in logs by its route pattern, not its path: a path may carry a
// secret (DELETE /devices/{token} holds a push token). Unmatched requests show their path.
func routeOf(r *http.Request) string {
	if r.Pattern != "" {
		return r.Pattern
	}
	return r.URL.Path
}

// StatusClientClosedRequest is nginx's 499: the client hung up before the answer. It is
// what the metrics count for such a request, instead of a 500.
const StatusClientClosedRequest = 499

// clientGone reports whether err is the request's own context ending because the client
// went away (or the server is stopping), rather than a fault.
func clientGone(r *http.Request, err error) bool {
	return r.Context().Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}

func writeRateLimited(w http.ResponseWriter, r *http.Request, log *slog.Logger, retryAfter time.Duration) {
	e := chat.Errorf(chat.RateLimited, "rate_limited", "too many requests; retry in %d s", retrySeconds(retryAfter))
	e.RetryAfter = max(retryAfter, time.Nanosecond) // always a Retry-After, of at least 1 s
	writeError(w, r, log, e)
}

// retrySeconds is a Retry-After in whole seconds, rounded up and at least 1: a moment too
// early would be refused again.
func retrySeconds(d time.Duration) int { return max(int(math.Ceil(d.Seconds())), 1) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if v != nil {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false) // JSON for programs: see chat.MarshalJSON
		_ = enc.Encode(v)
	}
}

// decodeJSON reads one JSON object of at most limit bytes into v, strictly: unknown fields,
// trailing data and wrong types are client errors.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return jsonError(err)
		}
		return chat.Errorf(chat.Invalid, "bad_json", "the body has data after the JSON object")
	}
	return nil
}

func jsonError(err error) error {
	var tooBig *http.MaxBytesError
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		return chat.Errorf(chat.TooLarge, "body_too_large", "the body is larger than %d bytes", tooBig.Limit)
	case errors.Is(err, io.EOF):
		return chat.Errorf(chat.Invalid, "bad_json", "the body is empty")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return chat.Errorf(chat.Invalid, "bad_json", "the body is not valid JSON")
	case errors.As(err, &typ):
		return chat.Errorf(chat.Invalid, "bad_request", "field %q has the wrong type", typ.Field)
	default:
		// json reports unknown fields and other shape problems as plain errors.
		return chat.Errorf(chat.Invalid, "bad_request", "%s", err.Error())
	}
}
