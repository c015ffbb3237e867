package ws

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/klauspost/compress/flate"
)

// realEvent is a MESSAGE_CREATED event as the service publishes it: ULID ids, a client
// message id, an unread count, and text of the given length.
func realEvent(tb testing.TB, textLen int) chat.Event {
	tb.Helper()
	const prose = "sure, I can move the review to thursday afternoon if that works for everyone; " +
		"the draft is in the shared folder and I left comments on the second section. "
	text := strings.Repeat(prose, textLen/len(prose)+1)[:textLen]
	m := chat.Message{
		ID: chat.NewID(), RoomID: chat.NewID(), Seq: 48213, SenderID: chat.NewID(),
		ClientMsgID: chat.NewID(), Type: chat.MessageText, Text: text,
		CreatedAt: chat.At(time.Now()), UnreadCount: 4,
	}
	data, err := json.Marshal(chat.MessageCreated{Message: m})
	if err != nil {
		tb.Fatal(err)
	}
	return chat.Event{Type: chat.EventMessageCreated, RoomID: m.RoomID, Data: data}
}

// BenchmarkDeflateFrame measures permessage-deflate on typical MESSAGE_CREATED frames
// without context takeover, the only mode in which one compressed frame can be shared by
// every session: the server's cost to compress a frame once per event, the client's cost
// to inflate it, and the frame's size on the wire (wire-B/op, against plain-B/op).
//
//	go test -run x -bench DeflateFrame -benchmem ./ws
func BenchmarkDeflateFrame(b *testing.B) {
	for _, textLen := range []int{40, 200, 400} {
		ev := realEvent(b, textLen)
		plain := eventFrame(ev.Type, ev.Data)
		payload := plain[frameHeaderSize(len(plain)-2):]
		for _, level := range []int{flate.BestSpeed, flate.DefaultCompression} {
			name := fmt.Sprintf("frame=%dB/level=%d", len(plain), level)
			var compressed []byte
			b.Run(name+"/compress", func(b *testing.B) {
				var buf bytes.Buffer
				fw, err := flate.NewWriter(&buf, level)
				if err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					buf.Reset()
					fw.Reset(&buf) // no context takeover: every message starts afresh
					_, _ = fw.Write(payload)
					_ = fw.Flush()
				}
				// RFC 7692 7.2.1: the final empty block's 00 00 ff ff is left off.
				compressed = bytes.Clone(bytes.TrimSuffix(buf.Bytes(), []byte{0, 0, 0xff, 0xff}))
				n := len(compressed)
				b.ReportMetric(float64(frameHeaderSize(n)+n), "wire-B/op")
				b.ReportMetric(float64(len(plain)), "plain-B/op")
			})
			b.Run(name+"/inflate", func(b *testing.B) {
				in := append(bytes.Clone(compressed), 0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff)
				src := bytes.NewReader(in)
				fr := flate.NewReader(src)
				out := make([]byte, 0, 4096)
				for b.Loop() {
					src.Reset(in)
					_ = fr.(flate.Resetter).Reset(src, nil)
					out = out[:0]
					for {
						if len(out) == cap(out) {
							out = append(out, 0)[:len(out)]
						}
						n, err := fr.Read(out[len(out):cap(out)])
						out = out[:len(out)+n]
						if err != nil {
							if err != io.EOF {
								b.Fatal(err)
							}
							break
						}
					}
				}
				if !bytes.Equal(out, payload) {
					b.Fatalf("inflated %d bytes, want the %d of the payload", len(out), len(payload))
				}
			})
		}
	}
}

// BenchmarkDeflateContextMemory reports what per-connection context takeover would hold
// for every connection for its lifetime: one compressor (the server's sliding window and
// hash tables) and one decompressor (the client's messages' window). Run with
// -benchtime=1x.
func BenchmarkDeflateContextMemory(b *testing.B) {
	const n = 200
	for _, level := range []int{flate.BestSpeed, flate.DefaultCompression} {
		b.Run(fmt.Sprintf("level=%d", level), func(b *testing.B) {
			for range b.N {
				ws := make([]*flate.Writer, n)
				rs := make([]io.ReadCloser, n)
				payload := realEvent(b, 200).Data
				m0, _, _ := memNow()
				for i := range n {
					var err error
					ws[i], err = flate.NewWriter(io.Discard, level)
					if err != nil {
						b.Fatal(err)
					}
					// A connection that has sent and received one message.
					_, _ = ws[i].Write(payload)
					_ = ws[i].Flush()
					var buf bytes.Buffer
					fw, _ := flate.NewWriter(&buf, flate.BestSpeed)
					_, _ = fw.Write(payload)
					_ = fw.Flush()
					rs[i] = flate.NewReader(&buf)
					_, _ = io.Copy(io.Discard, io.LimitReader(rs[i], int64(len(payload))))
				}
				m1, _, _ := memNow()
				b.ReportMetric(float64(m1-m0)/n, "B/conn")
				runtime.KeepAlive(ws)
				runtime.KeepAlive(rs)
			}
		})
	}
}
