package ws

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"
	"github.com/klauspost/compress/flate"
)

// permessage-deflate (RFC 7692), offered when Config.Deflate is set, is negotiated only
// without context takeover in both directions: every message is compressed on its own.
// That is what lets the server compress an event once and queue the same bytes to every
// session that negotiated it, as it does with the plain frame for the others, and it
// keeps no compression state per connection: an idle connection costs what it did
// without deflate. Context takeover would cost a compressor and a window per connection
// (838 KiB at level 1, BenchmarkDeflateContextMemory) and a compression per delivery.
// Measurements and the decision: docs/benchmarks.md, "gzip and permessage-deflate".

// deflateLevel is the compression level of event frames: on 300–700 byte frames higher
// levels gain nothing (BenchmarkDeflateFrame).
const deflateLevel = flate.BestSpeed

// deflateTail is the end of a deflate block flushed with a sync flush, which RFC 7692
// section 7.2.1 has the sender leave off and the receiver put back.
var deflateTail = []byte{0, 0, 0xff, 0xff}

// deflateParams are the only parameters the server agrees to.
var deflateParams = wsflate.Parameters{ServerNoContextTakeover: true, ClientNoContextTakeover: true}

// fanout is one event's frame as the sessions it goes to receive it: plain, or compressed
// for the sessions that negotiated permessage-deflate, compressed on first need so that an
// event nobody with deflate gets costs nothing more. It is used by one goroutine.
type fanout struct {
	srv      *Server
	plain    outFrame
	deflated outFrame
}

func (s *Server) fanout(f outFrame) fanout { return fanout{srv: s, plain: f} }

// frameFor returns the frame to queue to ss.
func (f *fanout) frameFor(ss *session) outFrame {
	if !ss.deflate {
		return f.plain
	}
	if f.deflated.b == nil {
		f.deflated = outFrame{b: f.srv.deflateFrame(f.plain.b), at: f.plain.at}
	}
	return f.deflated
}

// deflater is a pooled compressor and its output buffer.
type deflater struct {
	buf bytes.Buffer
	fw  *flate.Writer
}

// deflateFrame returns frame (one complete, unmasked, final text frame) compressed as
// permessage-deflate, in a new array of its own since it will be shared. A payload that
// does not shrink is returned as it is: uncompressed messages are allowed on a deflate
// connection, and the client is spared inflating it.
func (s *Server) deflateFrame(frame []byte) []byte {
	payload := frame[plainHeaderSize(frame):]
	d, _ := s.deflatePool.Get().(*deflater)
	if d == nil {
		fw, err := flate.NewWriter(nil, deflateLevel)
		if err != nil {
			return frame // deflateLevel is valid; never happens
		}
		d = &deflater{fw: fw}
	}
	defer s.deflatePool.Put(d)
	d.buf.Reset()
	d.fw.Reset(&d.buf) // no context takeover: every message starts afresh
	if _, err := d.fw.Write(payload); err != nil {
		return frame
	}
	if err := d.fw.Flush(); err != nil {
		return frame
	}
	z := bytes.TrimSuffix(d.buf.Bytes(), deflateTail)
	if len(z) >= len(payload) {
		return frame
	}
	out := make([]byte, 0, frameHeaderSize(len(z))+len(z))
	out = appendFrameHeader(out, len(z))
	out[0] |= 0x40 // RSV1: the message is compressed
	return append(out, z...)
}

// plainHeaderSize is the header size of an unmasked server frame.
func plainHeaderSize(frame []byte) int {
	switch frame[1] & 0x7f {
	case 126:
		return 4
	case 127:
		return 10
	default:
		return 2
	}
}

// inflater is a pooled decompressor for client messages.
type inflater struct {
	src bytes.Reader
	fr  io.ReadCloser
	out []byte
}

// errInflatedTooBig reports a compressed message that inflates past MaxFrameBytes.
var errInflatedTooBig = errors.New("ws: inflated message too big")

// inflate decompresses a client message of a deflate session and calls use with the
// result, which is valid only during the call. It stops at MaxFrameBytes of output, so
// that a small compressed frame cannot make the server hold a large one.
func (s *Server) inflate(p []byte, use func([]byte) ws.StatusCode) (ws.StatusCode, error) {
	in, _ := s.inflatePool.Get().(*inflater)
	if in == nil {
		in = &inflater{fr: flate.NewReader(nil)}
	}
	defer s.inflatePool.Put(in)
	// The tail the sender left off, then an empty final block so that the reader ends.
	src := make([]byte, 0, len(p)+len(deflateTail)+5)
	src = append(append(append(src, p...), deflateTail...), 1, 0, 0, 0xff, 0xff)
	in.src.Reset(src)
	if err := in.fr.(flate.Resetter).Reset(&in.src, nil); err != nil {
		return 0, fmt.Errorf("ws: inflate: %w", err)
	}
	limit := s.cfg.MaxFrameBytes
	out := in.out[:0]
	for {
		if len(out) == cap(out) {
			if len(out) > limit {
				return 0, errInflatedTooBig
			}
			out = append(out, 0)[:len(out)]
		}
		n, err := in.fr.Read(out[len(out):cap(out)])
		out = out[:len(out)+n]
		if len(out) > limit {
			return 0, errInflatedTooBig
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("ws: inflate: %w", err)
		}
	}
	code := use(out)
	if cap(out) <= smallBuf {
		in.out = out[:0] // keep a small buffer for the next message, not a large one
	}
	return code, nil
}
