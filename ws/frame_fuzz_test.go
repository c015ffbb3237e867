package ws

import (
	"errors"
	"testing"

	"github.com/gobwas/ws/wsutil"

	"github.com/chatchat/chatchat/chat"
)

// FuzzClientFrame: whatever text a client sends, the session answers at worst with an
// ERROR frame and goes on (a heartbeat after it is acknowledged), or closes with the
// protocol's own codes (invalid UTF-8: 1007; a token refused by AUTH: 4001); it never
// panics and never takes the server down.
func FuzzClientFrame(f *testing.F) {
	for _, seed := range []string{
		`{"type":"HEART_BEAT","data":{}}`,
		`{"type":"ROOM_FOCUSED","data":{"roomId":"r1"}}`,
		`{"type":"ROOM_UNFOCUSED","data":{"roomId":""}}`,
		`{"type":"TYPING","data":{"roomId":"r1"}}`,
		`{"type":"RESUME","data":{"rooms":{"r1":0,"r2":-5}}}`,
		`{"type":"RESUME","data":{"rooms":null}}`,
		`{"type":"AUTH","data":{"accessToken":"alice"}}`,
		`{"type":"AUTH","data":{"accessToken":""}}`,
		`{"type":"DELIVERED","data":{"roomId":"r1","seq":1}}`,
		`{"type":"DELIVERED","data":{"roomId":"r1","seq":-1}}`,
		`{"type":"DELIVERED","data":{"roomId":"r1"}}`,
		`{"type":"DELIVERED","data":{"roomId":"r2","seq":9223372036854775807}}`,
		`{"type":"DELIVERED","data":{"roomId":"r1","seq":1e400}}`,
		`{"type":"DELIVERED","data":{"roomId":1,"seq":"1"}}`,
		`{"type":"DELIVERED","data":null}`,
		`{"type":"NOPE"}`, `{}`, `[]`, `null`, `"x"`, `{"type":1}`, `{"type":"TYPING","data":[]}`,
		"\xff\xfe", `{"type":"RESUME","data":{"rooms":{"r1":1e400}}}`,
	} {
		f.Add([]byte(seed))
	}
	e := newTestEnv(f, Config{})
	e.chat.setRooms("alice", "r1")
	f.Fuzz(func(t *testing.T, frame []byte) {
		c := e.dial(t, "alice")
		defer c.conn.Close()
		c.sendRaw(frame)
		c.send(chat.EventHeartBeat, map[string]any{})
		for {
			typ, _, err := c.read()
			if err != nil {
				var closed wsutil.ClosedError
				if errors.As(err, &closed) {
					switch closed.Code {
					case CloseInvalidPayload, CloseUnauthorized:
						return
					}
					t.Fatalf("frame %q: closed with %d", frame, closed.Code)
				}
				t.Fatalf("frame %q: %v", frame, err)
			}
			if typ == chat.EventHeartBeatAck {
				return
			}
		}
	})
}
