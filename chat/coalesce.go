package chat

import (
	"context"
	"sync"
	"time"
)

// coalescer holds, per key, the latest of the values offered, for a flusher that publishes
// them every window: a burst of events about one thing (a member's delivery cursor, a
// message's reactions) goes out as one. It is bounded: when it holds max keys, a value for
// another key is refused (its caller publishes it at once) and the flusher is woken early.
// Until a flusher runs, and after it stops, every value is refused, so that none is ever
// held with no one to send it.
//
// With lead, a key quiet for a window is not held: its value is refused (published at once)
// and the key remembered, so that only what follows within the window waits. A lone event
// then costs no latency, and a burst still goes out at most about once a window.
type coalescer[K comparable, V any] struct {
	max   int
	merge func(held, offered V) V // the value kept for a key offered twice
	lead  bool
	full  chan struct{} // wakes the flusher early; capacity 1

	mu      sync.Mutex
	running bool // a run flushes pending
	pending map[K]V
	recent  map[K]struct{} // with lead: the keys published since the last flush but one
}

func newCoalescer[K comparable, V any](max int, merge func(held, offered V) V) *coalescer[K, V] {
	return &coalescer[K, V]{max: max, merge: merge, full: make(chan struct{}, 1), pending: map[K]V{}, recent: map[K]struct{}{}}
}

// offer holds v for the next flush, or reports false when the caller must publish it.
func (c *coalescer[K, V]) offer(k K, v V) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running {
		return false
	}
	held, ok := c.pending[k]
	if c.lead && !ok {
		if _, hot := c.recent[k]; !hot {
			if len(c.recent) < c.max {
				c.recent[k] = struct{}{}
			}
			return false
		}
	}
	if !ok && len(c.pending) >= c.max {
		select {
		case c.full <- struct{}{}:
		default:
		}
		return false
	}
	if ok {
		v = c.merge(held, v)
	}
	c.pending[k] = v
	return true
}

// take empties the map and returns what it held; with lead, the keys it held are the
// recent ones of the next window. c.mu is held.
func (c *coalescer[K, V]) take() []V {
	clear(c.recent)
	if len(c.pending) == 0 {
		return nil
	}
	out := make([]V, 0, len(c.pending))
	for k, v := range c.pending {
		out = append(out, v)
		if c.lead {
			c.recent[k] = struct{}{}
		}
	}
	clear(c.pending)
	return out
}

// run hands what is held to flush every window until ctx ends, then what is still held.
// It returns false at once when another run is flushing.
func (c *coalescer[K, V]) run(ctx context.Context, window time.Duration, flush func([]V)) bool {
	c.mu.Lock()
	if c.running {
		c.mu.Unlock()
		return false
	}
	c.running = true
	c.mu.Unlock()
	t := time.NewTicker(window)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			// Stopped under the lock with the last swap, so that a value offered from now
			// on is published by its caller, and none is left in the map.
			c.mu.Lock()
			c.running = false
			last := c.take()
			c.mu.Unlock()
			flush(last)
			return true
		case <-t.C:
		case <-c.full:
		}
		c.mu.Lock()
		batch := c.take()
		c.mu.Unlock()
		flush(batch)
	}
}
