// Package memory holds the in-process event bus and presence service of the single-node
// mode. They keep the same contracts as their Redis counterparts (chattest.TestBus and
// chattest.TestPresence), so that a single node behaves as a cluster of one.
package memory

import (
	"context"
	"slices"
	"sync"

	"github.com/chatchat/chatchat/chat"
)

// errBusClosed is what Publish returns after Close: the process is shutting down.
var errBusClosed = chat.Errorf(chat.Unavailable, "unavailable", "event bus is closed")

// Bus is an in-process chat.Bus. Publish delivers to every handler synchronously, on the
// publisher's goroutine, so that one publisher's events arrive in order and a publish that
// returns has been seen by every subscriber. It is safe for concurrent use. The zero value
// is not usable; call NewBus.
type Bus struct {
	mu     sync.RWMutex
	subs   map[chat.Topic][]subscription // each slice copied on write: Publish iterates it without holding mu
	nextID uint64
	closed bool
}

// subscription is one registered handler; the id tells apart two registrations of the
// same handler.
type subscription struct {
	id uint64
	h  chat.EventHandler
}

var _ chat.Bus = (*Bus)(nil)

// NewBus returns an empty bus.
func NewBus() *Bus {
	return &Bus{subs: make(map[chat.Topic][]subscription)}
}

// Publish implements chat.Bus. Handlers run outside the bus's lock, so a handler may
// subscribe, unsubscribe or publish.
func (b *Bus) Publish(ctx context.Context, ev chat.Event) error {
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return errBusClosed
	}
	subs := b.subs[ev.Topic()]
	b.mu.RUnlock()

	// Over Redis every subscriber decodes its own copy; here they share one, copied once
	// from the publisher so that it may reuse its buffers after Publish returns.
	ev = cloneEvent(ev)
	for _, sub := range subs {
		sub.h.HandleEvent(ev)
	}
	return nil
}

// Subscribe implements chat.Bus. The returned function may be called more than once.
func (b *Bus) Subscribe(topic chat.Topic, h chat.EventHandler) (unsubscribe func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return func() {}
	}
	id := b.nextID
	b.nextID++
	b.subs[topic] = append(slices.Clip(b.subs[topic]), subscription{id, h})
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.closed {
			return
		}
		b.subs[topic] = slices.DeleteFunc(slices.Clone(b.subs[topic]), func(s subscription) bool { return s.id == id })
	}
}

// Close drops every subscriber; later publishes fail. It never fails and may be called more
// than once.
func (b *Bus) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	clear(b.subs)
	return nil
}

func cloneEvent(ev chat.Event) chat.Event {
	ev.Data = slices.Clone(ev.Data)
	ev.RoomIDs = slices.Clone(ev.RoomIDs)
	ev.UserIDs = slices.Clone(ev.UserIDs)
	return ev
}
