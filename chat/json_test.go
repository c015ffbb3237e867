package chat_test

import (
	"encoding/json"
	"testing"

	"github.com/chatchat/chatchat/chat"
)

func TestMarshalJSONDoesNotEscapeHTML(t *testing.T) {
	in := chat.MessageCreated{Message: chat.Message{Text: "<<<&>>>"}}
	b, err := chat.MarshalJSON(in)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(in)
	if len(b) >= len(want) {
		t.Fatalf("%s is no shorter than encoding/json's %s", b, want)
	}
	var back chat.MessageCreated
	if err := json.Unmarshal(b, &back); err != nil || back.Message.Text != "<<<&>>>" {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
	if b[len(b)-1] == '\n' {
		t.Fatal("trailing newline")
	}
	// A raw payload inside an envelope keeps its bytes too.
	env, err := chat.MarshalJSON(chat.Event{Type: "X", Data: json.RawMessage(`{"t":"<"}`)})
	if err != nil || !json.Valid(env) || string(env[:30]) != `{"type":"X","data":{"t":"<"},"` {
		t.Fatalf("envelope %s, %v", env, err)
	}
}
