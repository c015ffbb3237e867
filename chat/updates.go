package chat

import (
	"context"
	"sync"
	"time"
)

// Reactions come in storms: hundreds a second on one message of a large room, each making
// the whole message (every reactor's id) a MESSAGE_UPDATED to every member. A reaction's
// event is therefore held for UpdateWindow, and the message's latest state (the highest rev)
// published once for all the reactions of the window; readers keep the highest rev, so
// skipping the states in between loses nothing. Edits, deletes and pins go out at once.
// A held event's change stays pending in the store (MessageChangeStore) until published, so
// a process that dies holding it leaves it to the outbox relay.

// updateCoalescer holds the newest state of each message with a held MESSAGE_UPDATED.
type updateCoalescer struct {
	max  int
	full chan struct{} // wakes the flusher early; capacity 1

	mu      sync.Mutex
	running bool // a RunMessageUpdates flushes pending
	pending map[string]Message
}

func newUpdateCoalescer(max int) *updateCoalescer {
	return &updateCoalescer{max: max, full: make(chan struct{}, 1), pending: map[string]Message{}}
}

// offer holds m for the next flush, or reports false when nothing flushes (no
// RunMessageUpdates) or the map is full: the caller then publishes it itself.
func (c *updateCoalescer) offer(m Message) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running {
		return false
	}
	cur, ok := c.pending[m.ID]
	if !ok && len(c.pending) >= c.max {
		select {
		case c.full <- struct{}{}:
		default:
		}
		return false
	}
	if !ok || m.Rev > cur.Rev {
		c.pending[m.ID] = m
	}
	return true
}

// take empties the map and returns what it held. c.mu is held.
func (c *updateCoalescer) take() []Message {
	if len(c.pending) == 0 {
		return nil
	}
	out := make([]Message, 0, len(c.pending))
	for _, m := range c.pending {
		out = append(out, m)
	}
	clear(c.pending)
	return out
}

// RunMessageUpdates publishes the held MESSAGE_UPDATED events every UpdateWindow until ctx
// ends, and then what it still holds. Without it every change is published at once.
func (s *Service) RunMessageUpdates(ctx context.Context) {
	c := s.updates
	c.mu.Lock()
	if c.running {
		c.mu.Unlock()
		s.log.Warn("message updates: RunMessageUpdates is already running")
		return
	}
	c.running = true
	c.mu.Unlock()
	t := time.NewTicker(s.cfg.UpdateWindow)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			c.mu.Lock()
			c.running = false
			last := c.take()
			c.mu.Unlock()
			s.publishUpdates(ctx, last)
			return
		case <-t.C:
		case <-c.full:
		}
		c.mu.Lock()
		batch := c.take()
		c.mu.Unlock()
		s.publishUpdates(ctx, batch)
	}
}

func (s *Service) publishUpdates(ctx context.Context, msgs []Message) {
	for _, m := range msgs {
		s.deliverChange(context.WithoutCancel(ctx), m)
	}
}
