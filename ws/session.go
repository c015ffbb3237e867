package ws

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
)

// closeGrace is how long the server waits for the peer's side of the close handshake
// before it drops the connection.
const closeGrace = 2 * time.Second

// shrinkCap is the queue capacity above which an idle session gives its queue memory back:
// a burst should not pin a large array to every connection that once saw one.
const shrinkCap = 16

// outFrame is one queued write: one or more complete WebSocket frames, possibly shared with
// every other session the same event goes to (never modified once queued).
type outFrame struct {
	b []byte
	// at is the event's creation time in unix ms, for the delivery latency histogram;
	// 0 for the server's own frames.
	at int64
}

// session is one WebSocket connection of one user.
type session struct {
	srv    *Server
	id     string
	userID string
	conn   net.Conn
	cancel context.CancelFunc // ends the calls the reader makes on the session's behalf

	// Owned by the reader goroutine.
	hdr     [ws.MaxHeaderSize]byte // frame header buffer, so that reading one allocates nothing
	pending []byte                 // bytes that arrived with the handshake, read before the socket
	focused []string               // rooms the client said it views, sent with each heartbeat
	bucket  tokenBucket
	strikes int // frames refused by the rate limit since the bucket was last full

	lastSeen atomic.Int64 // unix ns of the last frame received; written by the reader
	pingedAt atomic.Int64 // unix ns of the last ping; written by the sweeper
	stamp    uint64       // last multi-target fan-out that reached the session; under srv.fanoutMu

	mu         sync.Mutex
	queue      []outFrame
	writing    bool   // a writer goroutine runs (or the session is finished with writing)
	closed     bool   // no more frames are queued; set once, never cleared
	closeFrame []byte // written after the queue, then writing ends
	closeSent  bool   // our close frame is out
	peerClose  bool   // the peer's close frame came in
	rooms      []string

	// Owned by the writer goroutine of the moment (there is at most one).
	batch []outFrame
	bufs  net.Buffers // the batch's bytes, kept for their capacity
	wbufs net.Buffers // consumed by WriteTo; a field so that writing allocates nothing
}

func (s *session) logger() *slog.Logger {
	return s.srv.log.With("session", s.id, "user", s.userID)
}

// Read reads the connection's bytes for the frame reader: first what arrived with the
// handshake, then the socket.
func (s *session) Read(p []byte) (int, error) {
	if len(s.pending) > 0 {
		n := copy(p, s.pending)
		s.pending = s.pending[n:]
		if len(s.pending) == 0 {
			s.pending = nil
		}
		return n, nil
	}
	return s.conn.Read(p)
}

// enqueue queues f for the socket without ever waiting. A session whose queue is full is a
// slow consumer: it is dropped, so that it cannot hold up the events of everyone else. It
// reports whether f was queued.
func (s *session) enqueue(f outFrame) bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false
	}
	if len(s.queue) >= s.srv.cfg.SendQueue {
		s.closed = true
		clear(s.queue)
		s.queue = s.queue[:0]
		s.closeFrame = s.srv.frames.closeFrame(CloseSlowConsumer)
		s.startWriterLocked()
		s.mu.Unlock()
		s.srv.metrics.drops.Inc()
		s.logger().Warn("slow consumer dropped", "queue", s.srv.cfg.SendQueue)
		return false
	}
	s.queue = append(s.queue, f)
	s.startWriterLocked()
	s.mu.Unlock()
	return true
}

// startWriterLocked starts the writer unless one runs. The caller holds s.mu and s is not
// finished, so the reader's count keeps the server's WaitGroup above zero.
func (s *session) startWriterLocked() {
	if s.writing {
		return
	}
	s.writing = true
	s.srv.wg.Add(1)
	go s.writeLoop()
}

// closeWith stops queueing and has the writer send what is queued, then a close frame
// with code. The reader ends the connection once the peer answers, or after closeGrace.
func (s *session) closeWith(code ws.StatusCode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	s.closeFrame = s.srv.frames.closeFrame(code)
	s.startWriterLocked()
}

// abort drops the connection at once, with no close frame: for dead peers and a shutdown
// out of time. The reader and any writer see the error and end.
func (s *session) abort() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	_ = s.conn.Close()
}

// writeLoop drains the queue, one writev per batch, and ends when the queue is empty, so
// that an idle connection has no writer goroutine.
func (s *session) writeLoop() {
	defer s.srv.wg.Done()
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			cf := s.closeFrame
			s.closeFrame = nil
			if cf == nil {
				s.writing = false
				if cap(s.queue) > shrinkCap {
					s.queue, s.batch, s.bufs = nil, nil, nil
				}
				s.mu.Unlock()
				return
			}
			// writing stays true: nothing is written after the close frame.
			s.mu.Unlock()
			s.writeClose(cf)
			return
		}
		s.batch, s.queue = s.queue, s.batch[:0]
		s.mu.Unlock()

		if err := s.writeBatch(); err != nil {
			s.mu.Lock()
			s.closed = true
			clear(s.queue)
			s.queue = s.queue[:0]
			s.closeFrame = nil
			s.mu.Unlock()
			// Closing wakes the reader, which cleans up; a half-written frame leaves
			// nothing else worth sending.
			_ = s.conn.Close()
			s.logger().Debug("write failed", "err", err)
			return
		}
	}
}

func (s *session) writeBatch() error {
	s.bufs = s.bufs[:0]
	for i := range s.batch {
		s.bufs = append(s.bufs, s.batch[i].b)
	}
	s.wbufs = s.bufs
	_ = s.conn.SetWriteDeadline(time.Now().Add(s.srv.cfg.WriteTimeout))
	_, err := s.wbufs.WriteTo(s.conn)
	if err == nil {
		now := time.Now().UnixNano()
		for i := range s.batch {
			if at := s.batch[i].at; at > 0 {
				s.srv.metrics.latency.Observe(float64(now-at*int64(time.Millisecond)) / float64(time.Second))
			}
		}
	}
	clear(s.batch)
	s.batch = s.batch[:0]
	clear(s.bufs)
	return err
}

func (s *session) writeClose(frame []byte) {
	_ = s.conn.SetWriteDeadline(time.Now().Add(s.srv.cfg.WriteTimeout))
	if _, err := s.conn.Write(frame); err != nil {
		_ = s.conn.Close()
		return
	}
	s.mu.Lock()
	s.closeSent = true
	answered := s.peerClose
	s.mu.Unlock()
	if answered {
		// Our frame answered the peer's: the close handshake is complete, and the
		// server closes the TCP connection first.
		_ = s.conn.Close()
		return
	}
	// Wake the reader if the peer does not answer the close.
	_ = s.conn.SetReadDeadline(time.Now().Add(closeGrace))
}

// peerClosed records the peer's close frame and reports whether ours was sent already.
func (s *session) peerClosed() (closeSent bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peerClose = true
	return s.closeSent
}

// tokenBucket limits the frames a client sends. It belongs to the reader goroutine.
type tokenBucket struct {
	tokens float64
	last   int64 // unix ns
}

// take refills the bucket up to burst at rate per second and takes a token. full reports
// that the bucket was full before the take: the client had calmed down.
func (b *tokenBucket) take(now int64, rate, burst float64) (ok, full bool) {
	b.tokens = min(burst, b.tokens+float64(now-b.last)/float64(time.Second)*rate)
	b.last = now
	full = b.tokens >= burst
	if b.tokens < 1 {
		return false, full
	}
	b.tokens--
	return true, full
}
