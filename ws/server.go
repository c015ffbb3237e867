// Package ws is ChatChat's chat server: it holds clients' WebSocket connections, routes the
// bus's events to the local sessions of a room or user, and passes client frames (heartbeats,
// focus, typing, delivery receipts, resume) to the domain service. PROTOCOL.md's "WebSocket" section is its
// contract.
//
// The per-connection footprint is kept small on purpose: one reader goroutine blocked on the
// socket, no per-connection timers (one sweeper walks every session), a writer goroutine only
// while there is something to write, and event frames encoded once and shared by every
// session they go to.
package ws

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/prometheus/client_golang/prometheus"
)

// Chat is the domain service as the chat server uses it (implemented by chat.Service).
type Chat interface {
	// UserRoomSeqs returns the rooms the user is a member of, each with its last seq.
	UserRoomSeqs(ctx context.Context, userID string) (map[string]int64, error)
	// Heartbeat records presence; it publishes PRESENCE_UPDATED itself.
	Heartbeat(ctx context.Context, hb chat.Heartbeat) error
	// SessionClosed records that a session is gone.
	SessionClosed(ctx context.Context, userID, sessionID string) error
	// Focus records that the session views the room; membership is checked
	// (chat.Error NotFound/Forbidden).
	Focus(ctx context.Context, userID, sessionID, roomID string) error
	// Unfocus records that the session no longer views the room.
	Unfocus(ctx context.Context, userID, sessionID, roomID string) error
	// Typing checks membership and publishes TYPING on the bus.
	Typing(ctx context.Context, userID, roomID string) error
	// MarkDelivered moves the user's delivery cursor forward (DELIVERED); membership is
	// checked, and DELIVERY_RECEIPT_UPDATED is published, coalesced, by the service.
	MarkDelivered(ctx context.Context, userID, roomID string, seq int64) (chat.DeliveryReceipt, error)
	// Replay returns the messages after the given seqs, of member rooms only, ascending
	// per room, and the older ones changed after the given revs.
	Replay(ctx context.Context, userID string, req chat.ResumeRequest) (chat.Replay, error)
	// MessagesAfter returns a room's messages after afterSeq, with no membership check: the
	// server re-syncs sessions it already routes.
	MessagesAfter(ctx context.Context, roomID string, afterSeq int64) ([]chat.Message, error)
	// ChangesAfter returns a room's messages changed after afterRev, ascending by rev,
	// with no membership check: the re-sync of changes a bus gap may have lost.
	ChangesAfter(ctx context.Context, roomID string, afterRev int64) ([]chat.Message, error)
}

// Routes is a bus that routes events by room (redis.RoomBus), as the chat server drives
// it: told which rooms and users have sessions here, it brings this node their events, and
// only theirs. Its calls must not block: they are made under the session maps' locks.
type Routes interface {
	// HoldRoom: the room has its first local session. ReleaseRoom: it lost its last.
	HoldRoom(roomID string)
	ReleaseRoom(roomID string)
	// HoldUser: the user has a first local session. ReleaseUser: they lost the last.
	HoldUser(userID string)
	ReleaseUser(userID string)
}

// Authenticator verifies access tokens (auth.Service).
type Authenticator interface {
	// Authenticate returns whose the token is, or an error when the token is missing,
	// malformed, expired or of an ended session.
	Authenticate(token string) (chat.Identity, error)
	// Revoked reports whether the session (refresh token family) has ended. The sweeper
	// asks it of every socket, which closes the sockets of a revocation whose
	// SESSIONS_REVOKED event this node missed.
	Revoked(sessionID string) bool
}

// Config tunes a Server. Zero values are replaced by the defaults named on each field.
type Config struct {
	// MaxFrameBytes is the largest client message accepted (all fragments together);
	// a larger one closes the connection with 1009. Default 64 KiB.
	MaxFrameBytes int
	// SendQueueBytes is how many bytes of frames may wait for a session's socket; a frame
	// that would go past it drops the session as a slow consumer. A limit in bytes rather
	// than frames lets a client that keeps up on average ride out a burst of small frames
	// (a saturated core batches thousands of them) while a stalled one still costs the
	// server at most this much. Default 1 MiB, as Centrifugo's client queue.
	SendQueueBytes int
	// SendQueue is the secondary cap: how many frames may wait for a session's socket,
	// whatever their size. Default 4096.
	SendQueue int
	// WriteLinger is the least time between two writes to one socket: the first frame
	// after a quiet spell is written at once, and the frames that arrive within the
	// linger after a write share the next writev. It bounds the latency it adds, and
	// under a high event rate it cuts the server's CPU per delivery by a third or more
	// (docs/benchmarks.md). Default 20 ms; negative writes every batch at once.
	WriteLinger time.Duration
	// PingInterval is how long a session may be silent before the server pings it.
	// Default 25 s.
	PingInterval time.Duration
	// IdleTimeout is how long a session may be silent (no frame, no pong) before it is
	// considered dead and closed. Default 60 s.
	IdleTimeout time.Duration
	// WriteTimeout bounds each write to a socket. Default 10 s.
	WriteTimeout time.Duration
	// CallTimeout bounds each call to Chat made for a client frame. Default 10 s.
	CallTimeout time.Duration
	// AllowedOrigins lists the Origin header values accepted, like
	// "https://chat.example.com"; "*" accepts any. Empty accepts requests without an
	// Origin header and those whose Origin host is the request's Host.
	AllowedOrigins []string
	// FrameRate is how many frames per second a connection may send on average, and
	// FrameBurst how many at once. Defaults 20 and 40.
	FrameRate  float64
	FrameBurst int
	// NodeID names this node in logs.
	NodeID string
	// SweepInterval is how often the sweeper walks the sessions to ping the idle, close
	// the dead, and close with 4001 those whose access token expired without an AUTH or
	// whose session was revoked. Default and maximum 5 s: the protocol promises the close
	// within 10 s after expiry.
	SweepInterval time.Duration
	// Deflate offers permessage-deflate (RFC 7692) to clients that ask for it, with no
	// context takeover either way, so that an event is compressed once and the same
	// frame shared by every session that negotiated it. It shrinks event frames by a
	// third and costs about 6 µs of CPU per event; it is off by default because on the
	// server's own measurements (loopback) bytes are not what a delivery costs
	// (docs/benchmarks.md).
	Deflate bool
}

func (c *Config) fill() {
	if c.MaxFrameBytes <= 0 {
		c.MaxFrameBytes = 64 << 10
	}
	if c.SendQueueBytes <= 0 {
		c.SendQueueBytes = 1 << 20
	}
	if c.SendQueue <= 0 {
		c.SendQueue = 4096
	}
	if c.WriteLinger == 0 {
		c.WriteLinger = 20 * time.Millisecond
	}
	if c.PingInterval <= 0 {
		c.PingInterval = 25 * time.Second
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 60 * time.Second
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = 10 * time.Second
	}
	if c.FrameRate <= 0 {
		c.FrameRate = 20
	}
	if c.FrameBurst <= 0 {
		c.FrameBurst = 40
	}
	if c.SweepInterval <= 0 || c.SweepInterval > MaxSweepInterval {
		c.SweepInterval = MaxSweepInterval
	}
}

// MaxSweepInterval is the default and largest Config.SweepInterval.
const MaxSweepInterval = 5 * time.Second

// Server is the chat server. It serves GET /ws and receives the bus's events; main
// subscribes it to the bus and calls Run and Shutdown.
type Server struct {
	// roomEpoch counts the ROOM_UPDATED events handled, so that a session whose rooms were
	// loaded while one was in flight knows to load them again (see ServeHTTP).
	roomEpoch atomic.Uint64
	cfg       Config
	chat      Chat
	auth      Authenticator
	log       *slog.Logger
	metrics   *metrics
	frames    *staticFrames

	rooms     *roomSessionManager
	users     *userSessionManager
	bufPool   sync.Pool // *[]byte of smallBuf bytes, for reading client frames
	writePool sync.Pool // *writeBufs of sessions with nothing to write
	// deflatePool and inflatePool hold *deflater and *inflater for permessage-deflate:
	// compression state lives in pools, never in a session.
	deflatePool sync.Pool
	inflatePool sync.Pool

	// fanoutMu serialises the fan-outs that reach several rooms or users, which use
	// per-session stamps to deliver an event to each session once.
	fanoutMu sync.Mutex
	stamp    uint64

	// mu guards the lifecycle fields below.
	mu           sync.Mutex
	shuttingDown bool
	stop         chan struct{} // closed by Shutdown: stops the sweeper
	resync       resyncState

	// wg counts every goroutine the server starts: readers, writers, the sweeper's
	// caller excepted (Run belongs to its caller), re-sync.
	wg sync.WaitGroup
}

var _ chat.EventHandler = (*Server)(nil)

// New returns a Server. Its metrics are registered on reg (nil: not registered); it panics
// if they are registered already, like prometheus.MustRegister.
func New(cfg Config, c Chat, auth Authenticator, logger *slog.Logger, reg prometheus.Registerer) *Server {
	cfg.fill()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg:     cfg,
		chat:    c,
		auth:    auth,
		log:     logger.With("component", "ws", "node", cfg.NodeID),
		metrics: newMetrics(reg),
		frames:  newStaticFrames(),
		rooms:   newRoomSessionManager(),
		users:   newUserSessionManager(),
		stop:    make(chan struct{}),
	}
	return s
}

// SetRoutes has the server tell r which rooms and users it holds sessions of. Call it
// before serving: sessions that exist already are not reported.
func (s *Server) SetRoutes(r Routes) {
	s.rooms.routes = r
	s.users.routes = r
}

// Run runs the sweeper, which pings idle sessions and closes dead ones, until ctx is done
// or Shutdown is called. It returns nil after Shutdown and ctx.Err() otherwise.
func (s *Server) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.stop:
			return nil
		case now := <-t.C:
			s.sweep(now)
		}
	}
}

// Shutdown refuses new connections, closes every socket with close code 1001 and waits
// for the connection goroutines to end. When ctx ends first it closes the remaining
// sockets without a close frame and returns ctx.Err().
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.shuttingDown {
		s.shuttingDown = true
		close(s.stop)
		if s.resync.cancel != nil {
			s.resync.cancel()
		}
	}
	s.mu.Unlock()

	s.users.each(func(ss *session) { ss.closeWith(CloseGoingAway) })

	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		// The close handshake took too long (a peer that does not read): cut the rest.
		s.users.each(func(ss *session) { ss.abort() })
		return ctx.Err()
	}
}

// admit counts a new connection goroutine unless the server is shutting down. Taking mu
// keeps wg.Add from racing Shutdown's wg.Wait once the count has dropped to zero.
func (s *Server) admit() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shuttingDown {
		return errShuttingDown
	}
	s.wg.Add(1)
	return nil
}

var errShuttingDown = errors.New("ws: server is shutting down")
