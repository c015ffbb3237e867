package ws

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/gobwas/httphead"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"
)

// deflateClient is a client that offers permessage-deflate and reads raw frames, so that
// the test sees which came compressed.
type deflateClient struct {
	conn       net.Conn
	r          io.Reader
	negotiated []httphead.Option
}

func dialDeflate(tb testing.TB, e *testEnv, userID string) *deflateClient {
	tb.Helper()
	d := ws.Dialer{
		Header: ws.HandshakeHeaderHTTP(http.Header{"Authorization": {"Bearer tok-" + userID}}),
		// As browsers offer it: context takeover allowed, the server may refuse it.
		Extensions: []httphead.Option{wsflate.Parameters{}.Option()},
	}
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	conn, br, hs, err := d.Dial(ctx, e.wsURL())
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	tb.Cleanup(func() { conn.Close() })
	var r io.Reader = conn
	if br != nil {
		r = io.MultiReader(br, conn)
	}
	return &deflateClient{conn: conn, r: r, negotiated: hs.Extensions}
}

// send writes a client text message, compressed.
func (c *deflateClient) send(tb testing.TB, typ string, data any) {
	tb.Helper()
	b, err := json.Marshal(map[string]any{"type": typ, "data": data})
	if err != nil {
		tb.Fatal(err)
	}
	f, err := wsflate.CompressFrame(ws.NewTextFrame(b))
	if err != nil {
		tb.Fatal(err)
	}
	if err := ws.WriteFrame(c.conn, ws.MaskFrameInPlace(f)); err != nil {
		tb.Fatalf("write: %v", err)
	}
}

// read returns the next data frame's payload, inflated, and whether it came compressed.
func (c *deflateClient) read(tb testing.TB) (payload []byte, compressed bool) {
	tb.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(readTimeout))
	f, err := ws.ReadFrame(c.r)
	if err != nil {
		tb.Fatalf("read: %v", err)
	}
	if f.Header.OpCode != ws.OpText || !f.Header.Fin {
		tb.Fatalf("frame %v, want a final text frame", f.Header)
	}
	compressed = f.Header.Rsv1()
	f, err = wsflate.DecompressFrame(f)
	if err != nil {
		tb.Fatalf("inflate: %v", err)
	}
	return f.Payload, compressed
}

func (c *deflateClient) expect(tb testing.TB, typ string) (payload []byte, compressed bool) {
	tb.Helper()
	p, z := c.read(tb)
	var f clientFrame
	if err := json.Unmarshal(p, &f); err != nil || f.Type != typ {
		tb.Fatalf("got %q (%v), want a %s frame", p, err, typ)
	}
	return p, z
}

func TestDeflateNegotiatedAndShared(t *testing.T) {
	e := newTestEnv(t, Config{Deflate: true})
	e.chat.setRooms("zed", "r1")
	e.chat.setRooms("pat", "r1")
	z := dialDeflate(t, e, "zed")
	ext := string(httphead.Option{}.Name)
	for _, o := range z.negotiated {
		ext = o.String()
	}
	for _, want := range []string{"permessage-deflate", "server_no_context_takeover", "client_no_context_takeover"} {
		if !strings.Contains(ext, want) {
			t.Fatalf("negotiated %q, want %s", ext, want)
		}
	}
	// The compressed heartbeat is read, inflated and answered.
	z.send(t, chat.EventHeartBeat, struct{}{})
	z.expect(t, chat.EventHeartBeatAck)
	plain := e.dial(t, "pat") // offers nothing: plain frames, as before

	texts := []string{"hi", strings.Repeat("a longer message that is worth compressing, ", 8)}
	for i, text := range texts {
		e.srv.HandleEvent(messageEvent(t, "r1", int64(i+1), text))
	}
	for i, text := range texts {
		p, compressed := z.expect(t, chat.EventMessageCreated)
		want := []byte(`{"type":"MESSAGE_CREATED","data":`)
		if !bytes.HasPrefix(p, want) {
			t.Fatalf("frame %q", p)
		}
		var f clientFrame
		if err := json.Unmarshal(p, &f); err != nil {
			t.Fatal(err)
		}
		if m := decodeMessage(t, f.Data); m.Text != text {
			t.Fatalf("deflate client got text %q, want %q", m.Text, text)
		}
		if !compressed {
			t.Fatalf("message %d (%d bytes) came plain", i, len(p))
		}
		data := plain.expect(chat.EventMessageCreated)
		if !bytes.Equal(data, f.Data) {
			t.Fatalf("the two clients got different events:\n%s\n%s", data, f.Data)
		}
	}
}

func TestDeflateNotOfferedWhenOff(t *testing.T) {
	e := newTestEnv(t, Config{})
	e.chat.setRooms("zed", "r1")
	z := dialDeflate(t, e, "zed")
	if len(z.negotiated) != 0 {
		t.Fatalf("negotiated %v with Deflate off", z.negotiated)
	}
	z.conn.SetWriteDeadline(time.Now().Add(readTimeout))
	if err := ws.WriteFrame(z.conn, ws.MaskFrameInPlace(ws.NewTextFrame([]byte(`{"type":"`+chat.EventHeartBeat+`","data":{}}`)))); err != nil {
		t.Fatal(err)
	}
	z.expect(t, chat.EventHeartBeatAck)
	e.srv.HandleEvent(messageEvent(t, "r1", 1, strings.Repeat("compressible ", 40)))
	if _, compressed := z.expect(t, chat.EventMessageCreated); compressed {
		t.Fatal("compressed frame without deflate negotiated")
	}
}

func TestDeflateBombIsTooBig(t *testing.T) {
	e := newTestEnv(t, Config{Deflate: true, MaxFrameBytes: 4 << 10})
	e.chat.setRooms("zed", "r1")
	z := dialDeflate(t, e, "zed")
	// 1 MiB of spaces compresses to about a kilobyte: under the frame limit, far over
	// it once inflated.
	z.send(t, chat.EventHeartBeat, strings.Repeat(" ", 1<<20))
	_ = z.conn.SetReadDeadline(time.Now().Add(readTimeout))
	f, err := ws.ReadFrame(z.r)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if f.Header.OpCode != ws.OpClose {
		t.Fatalf("got %v, want a close frame", f.Header.OpCode)
	}
	if code, _ := ws.ParseCloseFrameData(f.Payload); code != CloseTooBig {
		t.Fatalf("close code %d, want %d", code, CloseTooBig)
	}
}
