package ws

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/gobwas/ws"
)

// closeGrace is how long the server waits for the peer's side of the close handshake
// before it drops the connection.
const closeGrace = 2 * time.Second

// deadlineSlack is how much of the write timeout a busy writer may use up before it sets
// a new deadline.
const deadlineSlack = time.Second

// maxPooledQueue is the largest queue capacity kept in the server's pool; larger arrays
// (a SendQueue set very high) are left to the collector rather than hoarded.
const maxPooledQueue = 4096

// outFrame is one queued write: one or more complete WebSocket frames, possibly shared with
// every other session the same event goes to (never modified once queued).
type outFrame struct {
	b []byte
	// at is the event's creation time in unix ms, for the delivery latency histogram;
	// 0 for the server's own frames.
	at int64
	// catchUp marks a RESUME reply or a re-sync: one bounded entry (the service caps a
	// replay at MaxResumeCount messages) that the slow-consumer limits do not count, since
	// a long catch-up is not a slow reader, and a dropped one would be asked for again.
	catchUp bool
	// resume marks a RESUME reply: counted in session.resumes until written.
	resume bool
}

// session is one WebSocket connection of one user.
type session struct {
	srv    *Server
	id     string
	userID string
	conn   net.Conn
	cancel context.CancelFunc // ends the calls the reader makes on the session's behalf
	// deflate: the client negotiated permessage-deflate; set before the session is
	// registered, read-only after.
	deflate bool

	// Owned by the reader goroutine.
	hdr     [ws.MaxHeaderSize]byte // frame header buffer, so that reading one allocates nothing
	pending []byte                 // bytes that arrived with the handshake, read before the socket
	focused []string               // rooms the client said it views, sent with each heartbeat
	bucket  tokenBucket
	strikes int // frames refused by the rate limit since the bucket was last full

	lastSeen atomic.Int64 // unix ns of the last frame received; written by the reader
	pingedAt atomic.Int64 // unix ns of the last ping; written by the sweeper
	stamp    uint64       // last multi-target fan-out that reached the session; under srv.fanoutMu
	// grant is the access token the session was opened or last renewed (AUTH) with:
	// written by the reader, read by the sweeper and the revocation fan-out.
	grant atomic.Pointer[grant]

	// writeFn is s.writeLoop, made once: starting a goroutine from a stored func value
	// allocates nothing, while `go s.writeLoop()` allocates a closure every time.
	writeFn func()

	mu sync.Mutex
	// w holds the queue and the writer's buffers while there is something to write, and
	// goes back to the server's pool when the queue is drained: an idle session holds no
	// queue memory, and a busy one reuses arrays instead of growing new ones.
	w          *writeBufs
	queued     int    // bytes in w.queue, against cfg.SendQueueBytes
	writing    bool   // a writer goroutine runs (or the session is finished with writing)
	closed     bool   // no more frames are queued; set once, never cleared
	closeFrame []byte // written after the queue, then writing ends
	closeSent  bool   // our close frame is out
	peerClose  bool   // the peer's close frame came in
	rooms      []string
	resumes    int // RESUME replies queued and not yet handed to the writer
}

// grant is what a session's current access token allows: the session (refresh token
// family) it belongs to, and until when.
type grant struct {
	sessionID string
	expires   int64 // unix ns
}

// setGrant records the identity of the token the session now lives on.
func (s *session) setGrant(id chat.Identity) {
	s.grant.Store(&grant{sessionID: id.SessionID, expires: id.ExpiresAt.UnixNano()})
}

// writeBufs are a session's send queue and its writer's buffers.
type writeBufs struct {
	queue []outFrame // under session.mu
	// Owned by the writer goroutine of the moment (there is at most one).
	batch []outFrame
	bufs  net.Buffers // the batch's bytes, kept for their capacity
	wbufs net.Buffers // consumed by WriteTo; a field so that writing allocates nothing
}

func (srv *Server) getWriteBufs() *writeBufs {
	if w, ok := srv.writePool.Get().(*writeBufs); ok {
		return w
	}
	return &writeBufs{}
}

func (srv *Server) putWriteBufs(w *writeBufs) {
	if cap(w.queue) > maxPooledQueue || cap(w.batch) > maxPooledQueue {
		return
	}
	// writeBatch cleared batch and bufs; a queue given back after a failed write may
	// still hold frames.
	clear(w.queue)
	w.queue, w.batch, w.bufs, w.wbufs = w.queue[:0], w.batch[:0], w.bufs[:0], nil
	srv.writePool.Put(w)
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
	if s.w == nil {
		s.w = s.srv.getWriteBufs()
	}
	if !f.catchUp && (len(s.w.queue) >= s.srv.cfg.SendQueue || s.queued+len(f.b) > s.srv.cfg.SendQueueBytes) {
		frames, bytes := len(s.w.queue), s.queued
		s.closed = true
		clear(s.w.queue)
		s.w.queue = s.w.queue[:0]
		s.queued = 0
		s.closeFrame = s.srv.frames.closeFrame(CloseSlowConsumer)
		s.startWriterLocked()
		s.mu.Unlock()
		s.srv.metrics.drops.Inc()
		s.logger().Warn("slow consumer dropped", "queuedFrames", frames, "queuedBytes", bytes)
		return false
	}
	s.w.queue = append(s.w.queue, f)
	if !f.catchUp {
		s.queued += len(f.b)
	}
	if f.resume {
		s.resumes++
	}
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
	go s.writeFn()
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
// that an idle connection has no writer goroutine. After each write it waits
// cfg.WriteLinger before looking at the queue again.
func (s *session) writeLoop() {
	defer s.srv.wg.Done()
	var deadline time.Time // the socket's write deadline as this writer last set it
	for {
		s.mu.Lock()
		w := s.w
		if w == nil || len(w.queue) == 0 {
			cf := s.closeFrame
			s.closeFrame = nil
			if w != nil {
				s.w = nil
				s.srv.putWriteBufs(w)
			}
			if cf == nil {
				s.writing = false
				s.mu.Unlock()
				return
			}
			// writing stays true: nothing is written after the close frame.
			s.mu.Unlock()
			s.writeClose(cf)
			return
		}
		w.batch, w.queue = w.queue, w.batch[:0]
		s.queued = 0
		// A RESUME reply handed to the writer no longer blocks the next RESUME: the
		// client may answer its RESUME_OK before this write returns. At most one reply
		// waits in the queue and one is being written.
		if s.resumes > 0 { // the batch is scanned only when a reply is owed: not per event
			s.resumes -= resumesIn(w.batch)
		}
		s.mu.Unlock()

		if err := s.writeBatch(w, &deadline); err != nil {
			s.mu.Lock()
			s.closed = true
			s.closeFrame = nil
			s.w = nil
			s.queued = 0
			s.srv.putWriteBufs(w)
			s.mu.Unlock()
			// Closing wakes the reader, which cleans up; a half-written frame leaves
			// nothing else worth sending.
			_ = s.conn.Close()
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// A client that did not take a write within WriteTimeout is a slow
				// consumer as much as one whose queue filled: counted as one, whichever
				// limit a loaded machine hits first.
				s.srv.metrics.drops.Inc()
				s.logger().Warn("slow consumer dropped: a write timed out", "err", err)
				return
			}
			s.logger().Debug("write failed", "err", err)
			return
		}
		if d := s.srv.cfg.WriteLinger; d > 0 {
			// The first frame after a quiet spell went out at once; while events keep
			// coming, write at most once per linger, so that the frames of several
			// events share one writev (the loopback TCP send, not the copy, is the
			// cost of a delivery). The writer stays alive meanwhile rather than being
			// started again for the next event.
			time.Sleep(d)
		}
	}
}

// resumesIn counts the RESUME replies of a batch.
func resumesIn(batch []outFrame) int {
	n := 0
	for i := range batch {
		if batch[i].resume {
			n++
		}
	}
	return n
}

// writeBatch writes the batch with one writev. The write deadline is moved only when
// less than WriteTimeout-deadlineSlack of it is left, since setting it costs a runtime timer
// update per batch (3 % of the server's CPU in a busy broadcast); a write thus gets at
// least WriteTimeout-deadlineSlack.
func (s *session) writeBatch(w *writeBufs, deadline *time.Time) error {
	w.bufs = w.bufs[:0]
	for i := range w.batch {
		w.bufs = append(w.bufs, w.batch[i].b)
	}
	w.wbufs = w.bufs
	start := time.Now()
	if timeout := s.srv.cfg.WriteTimeout; deadline.Sub(start) < timeout-min(deadlineSlack, timeout/2) {
		*deadline = start.Add(timeout)
		_ = s.conn.SetWriteDeadline(*deadline)
	}
	_, err := w.wbufs.WriteTo(s.conn)
	if err == nil {
		now := time.Now().UnixNano()
		for i := range w.batch {
			if at := w.batch[i].at; at > 0 {
				s.srv.metrics.latency.Observe(float64(now-at*int64(time.Millisecond)) / float64(time.Second))
			}
		}
	}
	// Drop the references, so that pooled arrays do not keep frames alive.
	clear(w.batch)
	w.batch = w.batch[:0]
	clear(w.bufs)
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
