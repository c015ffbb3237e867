package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
)

// marker starts the text of every message the generator sends: "b:<msgno>:<unix ns>", so
// that a receiver finds the message's number and send time without decoding the frame's
// JSON. It is the same in ChatChat's MESSAGE_CREATED and Centrifugo's publication.
var marker = []byte(`"text":"b:`)

// benchConn is one receiving WebSocket connection, leaner than client.Conn: one reused
// read buffer, no JSON decode, no event channel. The frames it sends (heartbeats, pongs,
// Centrifugo's commands) go through wmu.
type benchConn struct {
	r    *runner
	idx  int
	room int // index into runner.rooms, or -1

	nc  net.Conn
	br  *bufio.Reader
	wmu sync.Mutex

	// Owned by the reader goroutine while it runs; read by others only after it ended.
	seen    bitset
	maxSeq  int64 // highest ChatChat seq received (for RESUME)
	readErr error

	resumeAt int64       // unix ns the reconnect with RESUME began (history); set before the reader starts
	closing  atomic.Bool // the generator closes it: its end is no loss

	done chan struct{} // closed when the reader ends
}

// dialWS opens a WebSocket to url with the headers, from the source address src (nil: the
// kernel's choice), and returns the connection and a reader over the bytes that arrived
// with the handshake and then the socket.
func dialWS(ctx context.Context, url string, hdr http.Header, src net.IP) (net.Conn, *bufio.Reader, error) {
	nd := net.Dialer{Timeout: 10 * time.Second}
	if src != nil {
		nd.LocalAddr = &net.TCPAddr{IP: src}
	}
	d := ws.Dialer{
		Header:  ws.HandshakeHeaderHTTP(hdr),
		NetDial: nd.DialContext,
		Timeout: 10 * time.Second,
	}
	nc, br, _, err := d.Dial(ctx, url)
	if err != nil {
		return nil, nil, fmt.Errorf("dial %s: %w", url, err)
	}
	if br == nil {
		br = bufio.NewReaderSize(nc, 2048)
	} else {
		// br holds handshake leftovers over nc; keep reading through it.
		br = bufio.NewReaderSize(io.MultiReader(br, nc), 2048)
	}
	return nc, br, nil
}

// writeText writes one masked client text frame.
func (c *benchConn) writeText(p []byte) error {
	return c.writeFrame(ws.NewTextFrame(p))
}

func (c *benchConn) writeFrame(f ws.Frame) error {
	// MaskFrameInPlace would scramble a shared payload: mask a copy.
	f.Payload = append([]byte(nil), f.Payload...)
	f = ws.MaskFrameInPlace(f)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return ws.WriteFrame(c.nc, f)
}

// readLoop reads frames until the connection ends, answering pings and counting the
// generator's messages. It never allocates per frame once its buffer has grown.
func (c *benchConn) readLoop() { c.readFrames(c.onData) }

// readFrames reads frames until the connection ends, answering pings and handing each data
// frame's payload to onData (valid until it returns), and closes c.done.
func (c *benchConn) readFrames(onData func(p []byte)) {
	defer close(c.done)
	buf := make([]byte, 0, 1024)
	hdr := make([]byte, ws.MaxHeaderSize)
	for {
		h, err := ws.ReadHeaderBuffer(c.br, hdr)
		if err != nil {
			c.readErr = err
			return
		}
		if h.Length > 16<<20 {
			c.readErr = fmt.Errorf("frame of %d bytes", h.Length)
			return
		}
		n := int(h.Length)
		if cap(buf) < n {
			buf = make([]byte, n)
		}
		p := buf[:n]
		if _, err := io.ReadFull(c.br, p); err != nil {
			c.readErr = err
			return
		}
		if h.Masked {
			ws.Cipher(p, h.Mask, 0)
		}
		switch h.OpCode {
		case ws.OpPing:
			if err := c.writeFrame(ws.NewPongFrame(p)); err != nil {
				c.readErr = err
				return
			}
		case ws.OpClose:
			c.readErr = errClosedByServer
			return
		case ws.OpText, ws.OpContinuation, ws.OpBinary:
			onData(p)
		}
	}
}

var errClosedByServer = errors.New("closed by server")

// onData counts the generator's messages in a frame's payload (Centrifugo may put several
// replies in one frame, one per line) and answers Centrifugo's application-level ping.
func (c *benchConn) onData(p []byte) {
	if reply := c.r.target.pingReply(); reply != nil && isPing(p) {
		_ = c.writeText(reply)
	}
	now := time.Now().UnixNano()
	for {
		i := bytes.Index(p, marker)
		if i < 0 {
			return
		}
		if seq, ok := fieldInt(p[:i], seqKey, true); ok && seq > c.maxSeq {
			c.maxSeq = seq
		}
		p = p[i+len(marker):]
		no, rest, ok := parseUint(p, ':')
		if !ok {
			continue
		}
		sent, rest, ok := parseUint(rest, '"')
		if !ok {
			continue
		}
		p = rest
		if seq, ok := fieldInt(p, seqKey, false); ok && seq > c.maxSeq {
			c.maxSeq = seq
		}
		c.r.record(c, int(no), now-int64(sent), int64(sent))
	}
}

var seqKey = []byte(`"seq":`)

// isPing reports whether a Centrifugo frame holds its ping, an empty object on a line of
// its own: alone, or batched with publications before or after it.
func isPing(p []byte) bool {
	return bytes.Equal(p, []byte("{}")) || bytes.HasPrefix(p, []byte("{}\n")) ||
		bytes.HasSuffix(p, []byte("\n{}")) || bytes.Contains(p, []byte("\n{}\n"))
}

// fieldInt finds key in p — the last occurrence when last, else the first within the
// current object's next 200 bytes — and parses the integer after it.
func fieldInt(p, key []byte, last bool) (int64, bool) {
	var i int
	if last {
		if len(p) > 400 {
			p = p[len(p)-400:]
		}
		i = bytes.LastIndex(p, key)
	} else {
		if len(p) > 200 {
			p = p[:200]
		}
		i = bytes.Index(p, key)
	}
	if i < 0 {
		return 0, false
	}
	p = p[i+len(key):]
	var v int64
	n := 0
	for n < len(p) && p[n] >= '0' && p[n] <= '9' {
		v = v*10 + int64(p[n]-'0')
		n++
	}
	return v, n > 0
}

// parseUint parses decimal digits up to the byte end.
func parseUint(p []byte, end byte) (uint64, []byte, bool) {
	var v uint64
	for i, b := range p {
		switch {
		case b >= '0' && b <= '9':
			v = v*10 + uint64(b-'0')
		case b == end && i > 0:
			return v, p[i+1:], true
		default:
			return 0, p[i:], false
		}
	}
	return 0, nil, false
}

// close sends a close frame and closes the socket; the reader then ends.
func (c *benchConn) close() {
	_ = c.writeFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, "")))
	_ = c.nc.Close()
}

// bitset remembers which message numbers a connection received, to count duplicates.
type bitset []uint64

// set marks n and reports whether it was already marked.
func (b *bitset) set(n int) bool {
	w := n / 64
	if w >= len(*b) {
		grown := make([]uint64, max(w+1, 2*len(*b)))
		copy(grown, *b)
		*b = grown
	}
	m := uint64(1) << (n % 64)
	was := (*b)[w]&m != 0
	(*b)[w] |= m
	return was
}

// counter is a cache-line padded atomic counter, for counters that every reader touches.
type counter struct {
	atomic.Int64
	_ [56]byte
}
