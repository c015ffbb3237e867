package chat_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// flakyBus fails every publish while down is set, and, like a networked bus, every
// publish whose context has ended.
type flakyBus struct {
	chat.Bus
	down atomic.Bool
}

func (b *flakyBus) Publish(ctx context.Context, ev chat.Event) error {
	if b.down.Load() {
		return errors.New("bus down")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return b.Bus.Publish(ctx, ev)
}

// TestSendOutlivesTheClient: a client that hangs up right after its message is stored
// (its request's context ends) does not stop the message's events.
func TestSendOutlivesTheClient(t *testing.T) {
	f := newFixture(t, 2)
	a, b := f.users[0], f.users[1]
	r, _, _ := f.svc.CreateRoom(context.Background(), a, chat.NewRoom{Type: "direct", MemberIDs: []string{b}})
	ctx, hangUp := context.WithCancel(context.Background())
	svc := f.withConfig(chat.ServiceConfig{AfterStore: func(chat.Message) { hangUp() }}, &flakyBus{Bus: f.bus})
	m, created, err := svc.SendMessage(ctx, a, r.ID, chat.NewMessage{Text: "still"})
	if err != nil || !created {
		t.Fatalf("SendMessage: %v", err)
	}
	evs := f.eventsOf(chat.EventMessageCreated)
	if len(evs) != 1 || evs[0].Seq != m.Seq {
		t.Fatalf("MESSAGE_CREATED events: %d, want 1 despite the hang-up", len(evs))
	}
	if pending, err := f.store.Pending(context.Background(), r.ID, m.ID); err != nil || pending {
		t.Fatalf("Pending after publishing = %t, %v", pending, err)
	}
}

// TestOutboxRelayPublishesWhatTheBusMissed: a message stored while the bus is down stays
// pending; a retry of the send, or else the relay, publishes it once the bus is back.
func TestOutboxRelayPublishesWhatTheBusMissed(t *testing.T) {
	f := newFixture(t, 2)
	ctx := context.Background()
	a, b := f.users[0], f.users[1]
	r, _, _ := f.svc.CreateRoom(ctx, a, chat.NewRoom{Type: "direct", MemberIDs: []string{b}})
	bus := &flakyBus{Bus: f.bus}
	svc := f.withConfig(chat.ServiceConfig{}, bus)

	bus.down.Store(true)
	m1, _, err := svc.SendMessage(ctx, a, r.ID, chat.NewMessage{ClientMsgID: "c1", Text: "one"})
	if err != nil {
		t.Fatal(err)
	}
	m2, _, err := svc.SendMessage(ctx, a, r.ID, chat.NewMessage{ClientMsgID: "c2", Text: "two"})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.eventsOf(chat.EventMessageCreated)); n != 0 {
		t.Fatalf("%d events went out with the bus down", n)
	}
	if n, err := svc.RelayOutbox(ctx, 0, 10); err == nil || n != 0 {
		t.Fatalf("relay with the bus down: %d, %v; want 0 and an error", n, err)
	}

	bus.down.Store(false)
	// The client retries the first send: it is published at once.
	if got, created, err := svc.SendMessage(ctx, a, r.ID, chat.NewMessage{ClientMsgID: "c1", Text: "one"}); err != nil || created || got.ID != m1.ID {
		t.Fatalf("retry: %v %t %v", got.ID, created, err)
	}
	if evs := f.eventsOf(chat.EventMessageCreated); len(evs) != 1 || evs[0].Seq != m1.Seq {
		t.Fatalf("after the retry: %d events", len(evs))
	}
	// The relay takes the other, once it has been pending long enough.
	if n, err := svc.RelayOutbox(ctx, time.Hour, 10); err != nil || n != 0 {
		t.Fatalf("relay of messages younger than its age: %d, %v", n, err)
	}
	if n, err := svc.RelayOutbox(ctx, 0, 10); err != nil || n != 1 {
		t.Fatalf("relay: %d, %v; want 1", n, err)
	}
	evs := f.eventsOf(chat.EventMessageCreated)
	if len(evs) != 2 || evs[1].Seq != m2.Seq {
		t.Fatalf("after the relay: %d events", len(evs))
	}
	if n, err := svc.RelayOutbox(ctx, 0, 10); err != nil || n != 0 {
		t.Fatalf("a second relay pass: %d, %v; want nothing left", n, err)
	}
}
