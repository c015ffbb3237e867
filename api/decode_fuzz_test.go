package api

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chatchat/chatchat/chat"
)

// FuzzDecodeJSON: whatever a client sends as the body of a message, room or member
// request, the one decoder either fills the value or returns a client error (bad JSON,
// bad request, too large); never a panic, never an internal error.
func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{
		`{"clientMsgId":"c1","type":"text","text":"hi"}`,
		`{"type":"group","name":"g","memberIds":["a","b"]}`,
		`{"userIds":["a"]}`,
		`{"text":"\u003c\u0000"}`, `{"text":"` + strings.Repeat("가", 100) + `"}`,
		`{}`, `[]`, `null`, ``, `{"text":1}`, `{"x":1}`, `{"text":"a"} {}`, `{"text":"a"`,
		`{"memberIds":[1,2]}`, `{"type":"direct","memberIds":null}`, "\xff\xfe",
		`{"text":"hi","replyToId":"m1","mentions":["a","b"]}`, `{"text":"x","mentions":null}`,
		`{"text":"x","mentions":[1]}`, `{"replyToId":{}}`,
		`{"name":"g","description":"about"}`, `{"description":null}`, `{"name":1}`,
		`{"role":"admin"}`, `{"role":["admin"]}`, `{"userId":"u1"}`, `{"userId":null}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, v := range []any{&chat.NewMessage{}, &chat.NewRoom{}, &chat.MessageEdit{}, &chat.RoomPatch{}, &struct {
			UserIDs []string `json:"userIds"`
		}{}, &struct {
			Role   string `json:"role"`
			UserID string `json:"userId"`
		}{}} {
			r := httptest.NewRequest("POST", "/", strings.NewReader(string(body)))
			err := decodeJSON(httptest.NewRecorder(), r, 1<<10, v)
			if err == nil {
				continue
			}
			switch chat.ErrorKind(err) {
			case chat.Invalid, chat.TooLarge:
			default:
				t.Fatalf("body %q: %v is not a client error", body, err)
			}
		}
	})
}
