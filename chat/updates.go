package chat

import (
	"context"
)

// Reactions come in storms: hundreds a second on one message of a large room, each making
// the whole message (every reactor's id) a MESSAGE_UPDATED to every member. So a message's
// reaction events go out at most about once per UpdateWindow: the first of a quiet message
// at once, those that follow within the window held, and the message's latest state (the
// highest rev) published once for all of them; readers keep the highest rev, so skipping
// the states in between loses nothing. Edits, deletes and pins go out at once.
// A held event's change stays pending in the store (MessageChangeStore) until published, so
// a process that dies holding it leaves it to the outbox relay.

// newUpdateCoalescer holds the newest state (the highest rev) of each message with a held
// MESSAGE_UPDATED.
func newUpdateCoalescer(max int) *coalescer[string, Message] {
	c := newCoalescer[string](max, func(held, offered Message) Message {
		if offered.Rev > held.Rev {
			return offered
		}
		return held
	})
	c.lead = true // a lone reaction goes out at once; only a burst waits for the window
	return c
}

// RunMessageUpdates publishes the held MESSAGE_UPDATED events every UpdateWindow until ctx
// ends, and then what it still holds. Without it every change is published at once.
func (s *Service) RunMessageUpdates(ctx context.Context) {
	if !s.updates.run(ctx, s.cfg.UpdateWindow, func(msgs []Message) { s.publishUpdates(ctx, msgs) }) {
		s.log.Warn("message updates: RunMessageUpdates is already running")
	}
}

func (s *Service) publishUpdates(ctx context.Context, msgs []Message) {
	for _, m := range msgs {
		s.deliverChange(context.WithoutCancel(ctx), m)
	}
}
