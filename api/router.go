// Package api is ChatChat's HTTP API server (PROTOCOL.md "HTTP"), plus the router and
// middleware every role's HTTP listener shares: request ids, access logs, panic recovery,
// per-route metrics, health and readiness.
//
// It is the one place where HTTP is spoken: every route, media and push included, is
// registered in Server.Register, and handlers reach the services (chat, media, the device
// store) only through the small interfaces of services.go. A new subject's handlers go in
// a file of their own here.
package api

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/prometheus/client_golang/prometheus"
)

// Router is an http.ServeMux whose routes are instrumented by pattern, wrapped in the
// middleware every request passes through.
type Router struct {
	mux      *http.ServeMux
	patterns []string
	log      *slog.Logger
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewRouter returns an empty Router that registers its metrics on reg.
func NewRouter(log *slog.Logger, reg prometheus.Registerer) *Router {
	r := &Router{
		mux: http.NewServeMux(),
		log: log,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatchat_http_requests_total",
			Help: "HTTP requests by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "chatchat_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
	}
	reg.MustRegister(r.requests, r.duration)
	return r
}

// Handle registers h for pattern (http.ServeMux syntax), counted under that pattern.
func (rt *Router) Handle(pattern string, h http.Handler) {
	rt.patterns = append(rt.patterns, pattern)
	rt.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h.ServeHTTP(w, r)
		sw, _ := w.(*statusWriter)
		status := http.StatusOK
		if sw != nil {
			status = sw.code()
			sw.route = pattern
		}
		rt.requests.WithLabelValues(pattern, r.Method, strconv.Itoa(status)).Inc()
		rt.duration.WithLabelValues(pattern).Observe(time.Since(start).Seconds())
	}))
}

// Routes returns the registered patterns, in registration order.
func (rt *Router) Routes() []string { return append([]string(nil), rt.patterns...) }

// HandleFunc registers f for pattern.
func (rt *Router) HandleFunc(pattern string, f http.HandlerFunc) { rt.Handle(pattern, f) }

type ctxKey int

const requestIDKey ctxKey = iota

// RequestID returns the id of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// ServeHTTP gives the request an id, recovers panics, and logs the outcome.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get("X-Request-Id")
	if !validRequestID(id) {
		id = chat.NewID()
	}
	w.Header().Set("X-Request-Id", id)
	r = r.WithContext(context.WithValue(r.Context(), requestIDKey, id))
	sw := &statusWriter{ResponseWriter: w}
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			rt.log.Error("panic serving request", "request_id", id, "route", routeOf(r), "panic", p)
			if !sw.wrote {
				writeError(sw, r, rt.log, chat.Errorf(chat.Internal, "internal", "internal error"))
			}
		}
		level := slog.LevelDebug
		if sw.code() >= 500 {
			level = slog.LevelError
		}
		route := sw.route // the pattern, never the path: a path may carry a secret
		if route == "" {
			route = "unmatched"
		}
		rt.log.Log(r.Context(), level, "http request", "request_id", id, "method", r.Method,
			"route", route, "status", sw.code(), "bytes", sw.bytes,
			"duration_ms", time.Since(start).Milliseconds())
	}()
	rt.mux.ServeHTTP(sw, r)
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// statusWriter records the status and size of a response. It passes Hijack and Flush
// through, since the WebSocket upgrade and streamed downloads need them.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	wrote  bool
	route  string
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) code() int {
	if w.status == 0 {
		if w.wrote {
			return http.StatusOK
		}
		return http.StatusSwitchingProtocols // hijacked, or nothing written
	}
	return w.status
}

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.status, w.wrote = http.StatusSwitchingProtocols, true
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

func (w *statusWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
