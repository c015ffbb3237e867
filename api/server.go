package api

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// Config configures a Server. Zero values take the defaults noted; a nil limiter does not
// limit.
type Config struct {
	MaxBodyBytes int64 // JSON request bodies; default 1 MiB
	// GzipMinBytes is the smallest JSON response gzipped for a client that accepts gzip
	// (Compress). Default DefaultGzipMinBytes (1 KiB); negative turns gzip off.
	GzipMinBytes int
	// TrustProxy takes the client address from the last X-Forwarded-For entry, as set by
	// a load balancer in front (the ALB); off, it is the TCP peer.
	TrustProxy bool

	SignupPerIP  Limiter
	LoginPerIP   Limiter
	LoginPerUser Limiter
	SendPerUser  Limiter
	// RoomsPerUser limits room creation and member additions per user: each puts other
	// people in a room they did not ask for.
	RoomsPerUser Limiter
	// ExportsPerUser limits data exports per user: each reads all of a user's data.
	ExportsPerUser Limiter
	// SearchPerUser limits message searches per user: each reads an index of all of the
	// user's rooms.
	SearchPerUser Limiter
	// MaxDevices bounds the push tokens one user keeps; registering one more drops the
	// oldest (apps reinstalled, browsers cleared leave stale tokens behind). Default 20.
	MaxDevices int

	// Media serves uploads and downloads; nil when media is off (the store keeps none),
	// and then its routes answer 404 like any unknown endpoint.
	Media Media
	// Devices and Notifications serve the push endpoints; nil when push is off (the
	// store keeps no devices), and then their routes answer 404 like any unknown endpoint.
	Devices       Devices
	Notifications Notifications

	Logger *slog.Logger
	Now    func() time.Time // stamps registered devices; default time.Now
}

// Server serves the HTTP API of PROTOCOL.md under /api/v1.
type Server struct {
	cfg  Config
	chat Chat
	auth Authenticator
	log  *slog.Logger
	// gzip wraps the server's own JSON routes; the identity when gzip is off.
	gzip func(http.Handler) http.Handler
}

// NewServer returns a Server that calls svc (a *chat.Service) and a (an *auth.Service).
func NewServer(cfg Config, svc Chat, a Authenticator) *Server {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.MaxDevices <= 0 {
		cfg.MaxDevices = 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, chat: svc, auth: a, log: cfg.Logger, gzip: func(h http.Handler) http.Handler { return h }}
	if cfg.GzipMinBytes >= 0 {
		z, err := Compress(cfg.GzipMinBytes)
		if err != nil {
			// Compress's options are constants and a size it has made positive: an
			// error here is a bug in this package, not a configuration to report.
			panic(err)
		}
		s.gzip = z
	}
	return s
}

// Register adds every API route to rt.
func (s *Server) Register(rt *Router) {
	a := func(h http.HandlerFunc) http.Handler { return s.gzip(s.authed(h)) }
	// The token answers are not gzipped: they are small, and a compressed secret next to
	// caller-chosen bytes is what BREACH-style attacks measure.
	rt.HandleFunc("POST /api/v1/auth/signup", s.signup)
	rt.HandleFunc("POST /api/v1/auth/login", s.login)
	rt.HandleFunc("POST /api/v1/auth/refresh", s.refresh)
	rt.Handle("POST /api/v1/auth/logout", s.authed(s.logout))
	rt.Handle("POST /api/v1/auth/logout-all", s.authed(s.logoutAll))

	rt.Handle("GET /api/v1/users/me", a(s.me))
	rt.Handle("GET /api/v1/users/me/export", s.authed(s.export))
	rt.Handle("DELETE /api/v1/users/me", s.authed(s.eraseMe))
	rt.Handle("DELETE /api/v1/admin/users/{userId}", a(s.eraseUser))
	rt.Handle("POST /api/v1/users/me/blocks", a(s.block))
	rt.Handle("GET /api/v1/users/me/blocks", a(s.blocks))
	rt.Handle("DELETE /api/v1/users/me/blocks/{userId}", a(s.unblock))
	rt.Handle("GET /api/v1/users/{userId}", a(s.user))
	rt.Handle("GET /api/v1/users", a(s.searchUsers))
	rt.Handle("GET /api/v1/presence", a(s.presence))

	rt.Handle("POST /api/v1/rooms", a(s.createRoom))
	rt.Handle("GET /api/v1/rooms", a(s.rooms))
	rt.Handle("GET /api/v1/rooms/{roomId}", a(s.room))
	rt.Handle("POST /api/v1/rooms/{roomId}/members", a(s.addMembers))
	rt.Handle("DELETE /api/v1/rooms/{roomId}/members/me", a(s.leave))
	rt.Handle("PATCH /api/v1/rooms/{roomId}", a(s.updateRoom))
	rt.Handle("PATCH /api/v1/rooms/{roomId}/members/{userId}", a(s.setMemberRole))
	rt.Handle("DELETE /api/v1/rooms/{roomId}/members/{userId}", a(s.removeMember))
	rt.Handle("POST /api/v1/rooms/{roomId}/bans", a(s.ban))
	rt.Handle("DELETE /api/v1/rooms/{roomId}/bans/{userId}", a(s.unban))
	rt.Handle("PATCH /api/v1/rooms/{roomId}/settings", a(s.settings))
	rt.Handle("POST /api/v1/rooms/{roomId}/messages", a(s.sendMessage))
	rt.Handle("GET /api/v1/rooms/{roomId}/messages", a(s.history))
	rt.Handle("POST /api/v1/rooms/{roomId}/read", a(s.markRead))
	rt.Handle("POST /api/v1/rooms/{roomId}/delivered", a(s.markDelivered))
	rt.Handle("PATCH /api/v1/rooms/{roomId}/messages/{messageId}", a(s.editMessage))
	rt.Handle("DELETE /api/v1/rooms/{roomId}/messages/{messageId}", a(s.deleteMessage))
	rt.Handle("PUT /api/v1/rooms/{roomId}/messages/{messageId}/reactions/{emoji}", a(s.react))
	rt.Handle("DELETE /api/v1/rooms/{roomId}/messages/{messageId}/reactions/{emoji}", a(s.unreact))
	rt.Handle("PUT /api/v1/rooms/{roomId}/pins/{messageId}", a(s.pin))
	rt.Handle("DELETE /api/v1/rooms/{roomId}/pins/{messageId}", a(s.unpin))
	rt.Handle("GET /api/v1/rooms/{roomId}/pins", a(s.pins))
	rt.Handle("GET /api/v1/rooms/{roomId}/changes", a(s.changes))
	rt.Handle("GET /api/v1/search/messages", a(s.searchMessages))

	// The optional features' routes are not gzipped, as before they moved here: media
	// files are compressed formats already.
	rt.Handle("GET /api/v1/admin/users", a(s.adminUsers))
	rt.Handle("POST /api/v1/admin/users/{userId}/suspend", a(s.suspend))
	rt.Handle("POST /api/v1/admin/users/{userId}/unsuspend", a(s.unsuspend))
	rt.Handle("GET /api/v1/admin/audit", a(s.auditLog))
	rt.Handle("GET /api/v1/admin/reports", a(s.adminReports))
	rt.Handle("POST /api/v1/admin/reports/{reportId}/resolve", a(s.resolveReport))
	rt.Handle("PATCH /api/v1/admin/rooms/{roomId}", a(s.setRoomRetention))
	rt.Handle("GET /api/v1/admin/rooms", a(s.adminRooms))
	rt.Handle("POST /api/v1/rooms/{roomId}/messages/{messageId}/reports", a(s.reportMessage))

	if s.cfg.Media != nil {
		rt.Handle("POST /api/v1/rooms/{roomId}/media", s.authed(s.uploadMedia))
		rt.Handle("GET /api/v1/media/{mediaId}", s.signedOr(s.authed(s.downloadMedia)))
	}
	if s.cfg.Devices != nil {
		rt.Handle("POST /api/v1/devices", s.authed(s.registerDevice))
		rt.Handle("DELETE /api/v1/devices/{token}", s.authed(s.deleteDevice))
	}
	if s.cfg.Notifications != nil {
		rt.Handle("GET /api/v1/notifications", s.authed(s.notifications))
	}
	// Anything else under the API answers in the API's error shape.
	rt.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, chat.Errorf(chat.NotFound, "not_found", "no such endpoint: %s %s", r.Method, r.URL.Path))
	})
}

type userKey struct{}

// callerID returns the authenticated caller of a request that passed the auth middleware.
func callerID(r *http.Request) string {
	id, _ := r.Context().Value(userKey{}).(string)
	return id
}

// authed requires a valid access token and puts the caller's id in the request.
func (s *Server) authed(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearerToken(r)
		if !ok {
			s.fail(w, r, chat.Errorf(chat.Unauthorized, "unauthorized", "an Authorization: Bearer token is required"))
			return
		}
		id, err := s.auth.Authenticate(token)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), userKey{}, id.UserID)))
	})
}

// bearerToken returns the token of an "Authorization: Bearer" header.
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return "", false
	}
	t := strings.TrimSpace(h[7:])
	return t, t != ""
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	writeError(w, r, s.log, err)
}

func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, v); err != nil {
		s.fail(w, r, err)
		return false
	}
	return true
}

// limited applies l to key and answers 429 when over; it reports whether to stop.
func (s *Server) limited(w http.ResponseWriter, r *http.Request, l Limiter, key string) bool {
	if l == nil {
		return false
	}
	if ok, wait := l.Allow(key); !ok {
		writeRateLimited(w, r, s.log, wait)
		return true
	}
	return false
}

// clientAddr is the caller's IP address, for per-address limits.
func (s *Server) clientAddr(r *http.Request) string {
	if s.cfg.TrustProxy {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			parts := strings.Split(xff, ",")
			return strings.TrimSpace(parts[len(parts)-1])
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
