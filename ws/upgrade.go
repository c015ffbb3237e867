package ws

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/internal/httperr"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"
)

// ServeHTTP serves GET /ws: it checks the origin and the token before the upgrade (403 and
// 401 with PROTOCOL.md's error shape), upgrades, registers the session and leaves the
// connection to its reader goroutine, so that the HTTP server's goroutine and buffers are
// not held for the connection's lifetime.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.originAllowed(r) {
		writeError(w, chat.Errorf(chat.Forbidden, "forbidden", "origin not allowed"))
		return
	}
	token := bearerToken(r)
	if token == "" {
		writeError(w, chat.Errorf(chat.Unauthorized, "unauthorized", "missing access token"))
		return
	}
	userID, err := s.auth.Authenticate(token)
	if err != nil || userID == "" {
		// Pass the verifier's own code (token_expired, invalid_token) so that a client
		// knows to refresh; anything that is not an auth error stays generic.
		e := chat.Errorf(chat.Unauthorized, "invalid_token", "invalid access token")
		if errors.As(err, &e) && e.Kind != chat.Unauthorized {
			e = chat.Errorf(chat.Unauthorized, "invalid_token", "invalid access token")
		}
		writeError(w, e)
		return
	}
	if err := s.admit(); err != nil {
		writeError(w, chat.Errorf(chat.Unavailable, "unavailable", "server is shutting down"))
		return
	}
	admitted := true
	defer func() {
		if admitted { // not handed to a reader goroutine
			s.wg.Done()
		}
	}()

	// Rooms are loaded before the upgrade, so that a failing store is an HTTP error the
	// client can see rather than a socket that closes at once.
	epoch := s.roomEpoch.Load()
	rooms, err := s.chat.UserRoomSeqs(r.Context(), userID)
	if err != nil {
		s.log.Error("load rooms for new session failed", "user", userID, "err", err)
		writeError(w, chat.Errorf(chat.Unavailable, "unavailable", "try again later"))
		return
	}

	up := ws.HTTPUpgrader{Timeout: s.cfg.WriteTimeout}
	var ext wsflate.Extension
	if s.cfg.Deflate {
		ext.Parameters = deflateParams
		up.Negotiate = ext.Negotiate
	}
	conn, rw, _, err := up.Upgrade(r, w)
	if err != nil {
		// The upgrader has answered the client (400 for a bad handshake).
		if conn != nil {
			_ = conn.Close()
		}
		s.log.Debug("upgrade failed", "user", userID, "err", err)
		return
	}
	// The HTTP server's read and write timeouts bound the handshake; from here the
	// session bounds its own reads (ping and idle checks) and writes (per batch).
	_ = conn.SetDeadline(time.Time{})

	ctx, cancel := context.WithCancel(context.Background())
	ss := &session{
		srv:    s,
		id:     chat.NewID(),
		userID: userID,
		conn:   conn,
		cancel: cancel,
	}
	_, ss.deflate = ext.Accepted()
	ss.writeFn = ss.writeLoop
	// A client may send its first frame right behind the handshake; keep those bytes but
	// not the 4 KiB reader they sit in.
	if n := rw.Reader.Buffered(); n > 0 {
		p, _ := rw.Reader.Peek(n)
		ss.pending = slices.Clone(p)
	}
	now := time.Now().UnixNano()
	ss.lastSeen.Store(now)
	ss.bucket = tokenBucket{tokens: float64(s.cfg.FrameBurst), last: now}

	s.users.add(ss)
	for id, seq := range rooms {
		s.rooms.join(id, ss, seq)
	}
	s.catchUpMembership(ss, epoch)
	s.metrics.connections.Inc()
	if s.isShuttingDown() {
		// Shutdown's sweep may have missed the session: it was not registered yet.
		ss.closeWith(CloseGoingAway)
	}
	ss.logger().Debug("session opened", "rooms", len(rooms))

	admitted = false
	go ss.readLoop(ctx)
}

// catchUpMembership reloads a new session's rooms while ROOM_UPDATED events were handled
// between its first load and its registration: those events could not see the session, so
// it could miss a room it joined or stay in one it left. A few rounds at most; a failed
// load keeps what the session has (a reconnect loads again).
func (s *Server) catchUpMembership(ss *session, epoch uint64) {
	for round := 0; round < 3 && s.roomEpoch.Load() != epoch; round++ {
		epoch = s.roomEpoch.Load()
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.CallTimeout)
		rooms, err := s.chat.UserRoomSeqs(ctx, ss.userID)
		cancel()
		if err != nil {
			ss.logger().Warn("reload rooms of a new session failed", "err", err)
			return
		}
		ss.mu.Lock()
		joined := slices.Clone(ss.rooms)
		ss.mu.Unlock()
		for _, id := range joined {
			if _, ok := rooms[id]; !ok {
				s.rooms.leave(id, ss)
			}
		}
		for id, seq := range rooms {
			s.rooms.join(id, ss, seq)
		}
	}
}

func (s *Server) isShuttingDown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shuttingDown
}

// bearerToken returns the token of the Authorization header, or else of the access_token
// query parameter (browsers cannot set headers on a WebSocket).
func bearerToken(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(token)
		}
		return ""
	}
	return r.URL.Query().Get("access_token")
}

// originAllowed applies Config.AllowedOrigins. Browsers always send Origin on a WebSocket
// handshake, so checking it stops other sites from using a visitor's token-in-query.
func (s *Server) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		// Not a browser: nothing of a visitor's to protect.
		return true
	}
	if len(s.cfg.AllowedOrigins) == 0 {
		u, err := url.Parse(origin)
		return err == nil && strings.EqualFold(u.Host, r.Host)
	}
	for _, o := range s.cfg.AllowedOrigins {
		if o == "*" || strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}

// writeError answers a refused handshake in PROTOCOL.md's error shape, with the status the
// API server would give the same error.
func writeError(w http.ResponseWriter, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(httperr.Status(err))
	_ = json.NewEncoder(w).Encode(httperr.BodyOf(err))
}
