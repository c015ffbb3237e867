package ws

import (
	"context"
	"errors"
	"io"
	"time"
	"unicode/utf8"

	"github.com/chatchat/chatchat/chat"
	"github.com/gobwas/ws"
)

// maxStrikes is how many rate_limited errors a client gets before it is disconnected.
const maxStrikes = 3

// smallBuf is the size of the pooled read buffers; client frames are mostly far smaller.
const smallBuf = 4 << 10

// readEnd is how reading ended.
type readEnd struct {
	code ws.StatusCode // close code to send; 0: the connection is gone, nothing to send
	// peerClosed: the peer sent a close frame (code echoes it).
	peerClosed bool
	// inSync: the stream is still at a frame boundary once skip payload bytes are passed,
	// so the peer's answer to our close frame can be read as a frame.
	inSync bool
	skip   int64
}

// readLoop is the connection's one reader goroutine, and the owner of its clean-up.
func (s *session) readLoop(ctx context.Context) {
	defer s.srv.wg.Done()
	defer s.finish(ctx)

	// Connecting counts as activity for presence.
	if err := s.heartbeat(ctx); err != nil {
		s.logError("heartbeat on connect", err)
	}
	end := s.readFrames(ctx)
	switch {
	case end.code == 0:
	case end.peerClosed:
		if s.peerClosed() {
			return // the answer to our close frame: the handshake is complete
		}
		// Answer; the writer closes the connection once the answer is out.
		s.closeWith(end.code)
		s.drain(false, 0)
	default:
		s.closeWith(end.code)
		s.drain(end.inSync, end.skip)
	}
}

// readFrames reads frames until the connection fails or must be closed.
func (s *session) readFrames(ctx context.Context) readEnd {
	state := ws.StateServerSide
	if s.deflate {
		state = state.Set(ws.StateExtended) // RSV1 is checked below
	}
	var msg []byte      // a fragmented message being assembled
	refused := false    // the message being read is over the rate: read, then skipped
	compressed := false // the message being read is permessage-deflate compressed
	for {
		h, err := ws.ReadHeaderBuffer(s, s.hdr[:])
		if err != nil {
			if errors.Is(err, ws.ErrHeaderLengthMSB) || errors.Is(err, ws.ErrHeaderLengthUnexpected) {
				return readEnd{code: CloseProtocolError}
			}
			return readEnd{}
		}
		now := time.Now().UnixNano()
		s.lastSeen.Store(now)
		if err := ws.CheckHeader(h, state); err != nil {
			return readEnd{code: CloseProtocolError}
		}
		if h.Rsv != 0 {
			// Only RSV1 has a meaning, and only on a deflate session's first frame
			// of a data message (RFC 7692 section 6).
			if !s.deflate || h.Rsv != ws.Rsv(true, false, false) || h.OpCode.IsControl() || h.OpCode == ws.OpContinuation {
				return readEnd{code: CloseProtocolError}
			}
		}
		if h.OpCode == ws.OpText || h.OpCode == ws.OpBinary {
			compressed = h.Rsv1()
		}

		if h.OpCode.IsControl() {
			if end, done := s.control(h); done {
				return end
			}
			continue
		}
		if h.OpCode == ws.OpBinary || (h.OpCode == ws.OpContinuation && msg == nil) {
			// A continuation of nothing we kept is the rest of a binary message.
			s.srv.metrics.frameReceived(frameBinary)
			return readEnd{code: CloseUnsupportedData, inSync: true, skip: h.Length}
		}
		if int64(len(msg))+h.Length > int64(s.srv.cfg.MaxFrameBytes) {
			return readEnd{code: CloseTooBig, inSync: true, skip: h.Length}
		}
		if h.OpCode == ws.OpText {
			// A message counts once against the rate, whatever its fragments.
			var code ws.StatusCode
			if code, refused = s.limit(now); code != 0 {
				return readEnd{code: code, inSync: true, skip: h.Length}
			}
		}

		if h.Fin && msg == nil {
			buf := s.srv.getBuf(int(h.Length))
			p := (*buf)[:h.Length]
			if _, err := io.ReadFull(s, p); err != nil {
				s.srv.putBuf(buf)
				return readEnd{}
			}
			var code ws.StatusCode
			if !refused {
				ws.Cipher(p, h.Mask, 0)
				code = s.deliverMessage(ctx, p, compressed)
			}
			s.srv.putBuf(buf)
			if code != 0 {
				return readEnd{code: code, inSync: true}
			}
			continue
		}

		// Fragments are assembled in memory that grows with what actually arrived, under
		// MaxFrameBytes in total.
		if msg == nil {
			msg = make([]byte, 0, min(h.Length, smallBuf))
		}
		start := len(msg)
		msg = append(msg, make([]byte, h.Length)...)
		if _, err := io.ReadFull(s, msg[start:]); err != nil {
			return readEnd{}
		}
		ws.Cipher(msg[start:], h.Mask, 0)
		if !h.Fin {
			state = state.Set(ws.StateFragmented)
			continue
		}
		state = state.Clear(ws.StateFragmented)
		var code ws.StatusCode
		if !refused {
			code = s.deliverMessage(ctx, msg, compressed)
		}
		msg = nil
		if code != 0 {
			return readEnd{code: code, inSync: true}
		}
	}
}

// deliverMessage handles a complete client message, inflating it first when compressed.
func (s *session) deliverMessage(ctx context.Context, p []byte, compressed bool) ws.StatusCode {
	if !compressed {
		return s.message(ctx, p)
	}
	code, err := s.srv.inflate(p, func(m []byte) ws.StatusCode { return s.message(ctx, m) })
	switch {
	case errors.Is(err, errInflatedTooBig):
		return CloseTooBig
	case err != nil:
		s.logger().Debug("bad compressed message", "err", err)
		return CloseProtocolError
	}
	return code
}

// control handles a ping, pong or close. done reports that reading ends.
func (s *session) control(h ws.Header) (end readEnd, done bool) {
	buf := s.srv.getBuf(int(h.Length))
	defer s.srv.putBuf(buf)
	p := (*buf)[:h.Length]
	if _, err := io.ReadFull(s, p); err != nil {
		return readEnd{}, true
	}
	ws.Cipher(p, h.Mask, 0)
	switch h.OpCode {
	case ws.OpPing:
		if code, refused := s.limit(time.Now().UnixNano()); code != 0 {
			return readEnd{code: code, inSync: true}, true
		} else if refused {
			return readEnd{}, false
		}
		s.enqueue(outFrame{b: ws.MustCompileFrame(ws.NewPongFrame(p))})
	case ws.OpClose:
		// Answer with the peer's own code, as RFC 6455 section 5.5.1 asks.
		code, _ := ws.ParseCloseFrameData(p)
		if code.Empty() || code.IsNotUsed() || code.IsProtocolReserved() {
			code = CloseNormal
		}
		return readEnd{code: code, peerClosed: true}, true
	}
	// A pong only proves the peer alive, which lastSeen already records.
	return readEnd{}, false
}

// limit applies the frame rate. A frame over it is refused (skipped) and the client gets a
// rate_limited error; still over after maxStrikes of them, it gets code to close with.
func (s *session) limit(now int64) (code ws.StatusCode, refused bool) {
	ok, full := s.bucket.take(now, s.srv.cfg.FrameRate, float64(s.srv.cfg.FrameBurst))
	if full {
		s.strikes = 0
	}
	if ok {
		return 0, false
	}
	s.strikes++
	err := chat.Errorf(chat.RateLimited, "rate_limited", "too many frames; slow down")
	if s.strikes > maxStrikes {
		s.logger().Info("rate limit exceeded, disconnecting")
		return CloseCode(err), true
	}
	s.sendError(err)
	return 0, true
}

// drain waits, at most closeGrace, for the peer's answer to our close frame. When the
// stream is in sync (after skip bytes of an unread payload) it reads frames and stops at
// the peer's close frame, so that the server closes the TCP connection first, as RFC 6455
// section 7.1.1 asks; otherwise it discards bytes until the peer closes.
func (s *session) drain(inSync bool, skip int64) {
	_ = s.conn.SetReadDeadline(time.Now().Add(closeGrace))
	buf := s.srv.getBuf(smallBuf)
	defer s.srv.putBuf(buf)
	discard := func(n int64) bool {
		for n > 0 {
			m, err := s.Read((*buf)[:min(n, int64(len(*buf)))])
			if err != nil {
				return false
			}
			n -= int64(m)
		}
		return true
	}
	if !inSync {
		for discard(int64(len(*buf))) {
		}
		return
	}
	if !discard(skip) {
		return
	}
	for {
		h, err := ws.ReadHeaderBuffer(s, s.hdr[:])
		if err != nil || !discard(h.Length) || h.OpCode == ws.OpClose {
			return
		}
	}
}

// finish unregisters the session and tells the domain it is gone.
func (s *session) finish(ctx context.Context) {
	s.mu.Lock()
	s.closed = true
	rooms := s.rooms
	s.rooms = nil
	s.mu.Unlock()
	s.srv.rooms.removeAll(s, rooms)
	s.srv.users.remove(s)
	_ = s.conn.Close()
	s.srv.metrics.connections.Dec()

	// The session's context may be cancelled (shutdown) but the clean-up must still reach
	// presence, or the user stays online until the TTL.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.srv.cfg.CallTimeout)
	defer cancel()
	if err := s.srv.chat.SessionClosed(cctx, s.userID, s.id); err != nil {
		s.logError("session closed", err)
	}
	s.cancel()
	s.logger().Debug("session closed")
}

// getBuf returns a buffer of at least n bytes: pooled for the common small sizes, fresh for
// the rare large frame (n is bounded by MaxFrameBytes before this is called).
func (srv *Server) getBuf(n int) *[]byte {
	if n <= smallBuf {
		if b, ok := srv.bufPool.Get().(*[]byte); ok {
			return b
		}
		b := make([]byte, smallBuf)
		return &b
	}
	b := make([]byte, n)
	return &b
}

func (srv *Server) putBuf(b *[]byte) {
	if cap(*b) == smallBuf {
		*b = (*b)[:smallBuf]
		srv.bufPool.Put(b)
	}
}

// validText reports whether a text message is UTF-8, as RFC 6455 requires of text frames.
func validText(p []byte) bool { return utf8.Valid(p) }
