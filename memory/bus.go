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
	mu       sync.RWMutex
	handlers map[uint64]chat.EventHandler
	order    []uint64 // subscription order, so that delivery order is stable
	nextID   uint64
	closed   bool
}

var _ chat.Bus = (*Bus)(nil)

// NewBus returns an empty bus.
func NewBus() *Bus {
	return &Bus{handlers: make(map[uint64]chat.EventHandler)}
}

// Publish implements chat.Bus. Handlers run outside the bus's lock, so a handler may
// subscribe, unsubscribe or publish.
func (b *Bus) Publish(ctx context.Context, ev chat.Event) error {
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return errBusClosed
	}
	hs := make([]chat.EventHandler, 0, len(b.order))
	for _, id := range b.order {
		hs = append(hs, b.handlers[id])
	}
	b.mu.RUnlock()

	// Over Redis every subscriber decodes its own copy; here they share one, copied once
	// from the publisher so that it may reuse its buffers after Publish returns.
	ev = cloneEvent(ev)
	for _, h := range hs {
		h.HandleEvent(ev)
	}
	return nil
}

// Subscribe implements chat.Bus. The returned function may be called more than once.
func (b *Bus) Subscribe(h chat.EventHandler) (unsubscribe func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return func() {}
	}
	id := b.nextID
	b.nextID++
	b.handlers[id] = h
	b.order = append(b.order, id)
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if _, ok := b.handlers[id]; !ok {
			return
		}
		delete(b.handlers, id)
		b.order = slices.DeleteFunc(b.order, func(x uint64) bool { return x == id })
	}
}

// Close drops every subscriber; later publishes fail. It never fails and may be called more
// than once.
func (b *Bus) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	clear(b.handlers)
	b.order = nil
	return nil
}

func cloneEvent(ev chat.Event) chat.Event {
	ev.Data = slices.Clone(ev.Data)
	ev.RoomIDs = slices.Clone(ev.RoomIDs)
	ev.UserIDs = slices.Clone(ev.UserIDs)
	return ev
}
