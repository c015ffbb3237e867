package memory_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/chattest"
	"github.com/chatchat/chatchat/memory"
)

func TestBusClosed(t *testing.T) {
	b := memory.NewBus()
	rec := chattest.NewEventRecorder()
	b.Subscribe(chat.TopicSessions, rec)
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	err := b.Publish(context.Background(), chat.Event{Type: chat.EventTyping})
	if chat.ErrorKind(err) != chat.Unavailable {
		t.Fatalf("Publish after Close = %v, want an unavailable error", err)
	}
	b.Subscribe(chat.TopicSessions, rec)() // subscribing to a closed bus is harmless
	if n := len(rec.Events()); n != 0 {
		t.Fatalf("got %d events after Close", n)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// unsubscribeOnEvent unsubscribes itself from inside HandleEvent, as a session that closes
// on an event would.
type unsubscribeOnEvent struct {
	unsubscribe func()
	n           atomic.Int32
}

func (h *unsubscribeOnEvent) HandleEvent(chat.Event) { h.n.Add(1); h.unsubscribe() }
func (h *unsubscribeOnEvent) HandleGap()             {}

func TestBusHandlerMayUnsubscribeItself(t *testing.T) {
	b := memory.NewBus()
	h := &unsubscribeOnEvent{}
	h.unsubscribe = b.Subscribe(chat.TopicSessions, h)
	for range 2 {
		if err := b.Publish(context.Background(), chat.Event{Type: chat.EventTyping}); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}
	if n := h.n.Load(); n != 1 {
		t.Fatalf("handler got %d events, want 1", n)
	}
}

func TestBusCopiesPayload(t *testing.T) {
	b := memory.NewBus()
	rec := chattest.NewEventRecorder()
	b.Subscribe(chat.TopicSessions, rec)
	data := []byte(`{"n":1}`)
	if err := b.Publish(context.Background(), chat.Event{Type: chat.EventTyping, Data: data}); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	copy(data, `{"n":2}`) // the publisher reuses its buffer
	if got := string(rec.Events()[0].Data); got != `{"n":1}` {
		t.Fatalf("subscriber sees %s after the publisher reused its buffer", got)
	}
}

type countHandler struct{ n atomic.Int64 }

func (h *countHandler) HandleEvent(chat.Event) { h.n.Add(1) }
func (h *countHandler) HandleGap()             {}

func BenchmarkBusPublish(b *testing.B) {
	for _, subscribers := range []int{1, 10, 100, 1000} {
		b.Run(fmt.Sprintf("subscribers=%d", subscribers), func(b *testing.B) {
			bus := memory.NewBus()
			defer bus.Close()
			h := &countHandler{}
			for range subscribers {
				bus.Subscribe(chat.TopicSessions, h)
			}
			ev := chat.Event{
				Type: chat.EventMessageCreated, RoomID: "room-1", Origin: "node-a", At: 1,
				Data: json.RawMessage(`{"message":{"id":"m1","roomId":"room-1","seq":1,"text":"hello"}}`),
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := bus.Publish(ctx, ev); err != nil {
					b.Fatal(err)
				}
			}
			if got, want := h.n.Load(), int64(b.N)*int64(subscribers); got != want {
				b.Fatalf("delivered %d, want %d", got, want)
			}
		})
	}
}
