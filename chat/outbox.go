package chat

import (
	"context"
	"time"
)

// The outbox relay: a message stored but never published (the publisher died between
// the two, or the bus was down) is published by the relay of any API process, so that
// what reaches storage reaches its live sessions and its pushes. Publishing is at least
// once: clients drop duplicate messages by id, and the notification history pushes a
// device once per message.

// RelayOutbox publishes the messages that have been pending for at least age, up to
// limit of them, and returns how many went out. It stops at the first failure to publish
// (the bus is down: the rest would fail too) and leaves the rest for the next pass.
func (s *Service) RelayOutbox(ctx context.Context, age time.Duration, limit int) (int, error) {
	msgs, err := s.outbox.PendingMessages(ctx, s.cfg.Now().Add(-age), limit)
	if err != nil {
		return 0, err
	}
	n := 0
	for i := range msgs {
		m := &msgs[i]
		if err := s.setUnreadOne(ctx, m); err != nil {
			return n, err
		}
		s.describe(ctx, m)
		pctx, cancel := context.WithTimeout(ctx, s.cfg.PublishTimeout)
		ok := s.announceCreated(pctx, *m)
		if ok {
			if err := s.outbox.MarkPublished(pctx, m.RoomID, m.ID); err != nil {
				cancel()
				return n, err
			}
		}
		cancel()
		if !ok {
			return n, Errorf(Unavailable, "bus_unavailable", "outbox relay: the bus is not taking events")
		}
		n++
		s.log.Info("outbox relay published a pending message", "room", m.RoomID, "message", m.ID, "seq", m.Seq)
	}
	return n, nil
}

// RelayChanges publishes MESSAGE_UPDATED for the messages whose last change has been
// pending for at least age (its publisher died, or the bus was down), up to limit of them,
// and returns how many went out. Like RelayOutbox it stops at the first failure.
func (s *Service) RelayChanges(ctx context.Context, age time.Duration, limit int) (int, error) {
	msgs, err := s.changes.PendingChanges(ctx, s.cfg.Now().Add(-age), limit)
	if err != nil {
		return 0, err
	}
	n := 0
	for i := range msgs {
		m := &msgs[i]
		if err := s.setUnreadOne(ctx, m); err != nil {
			return n, err
		}
		s.describe(ctx, m)
		pctx, cancel := context.WithTimeout(ctx, s.cfg.PublishTimeout)
		ok := s.announceUpdated(pctx, *m)
		if ok {
			if err := s.changes.MarkChangePublished(pctx, m.RoomID, m.ID, m.Rev); err != nil {
				cancel()
				return n, err
			}
		}
		cancel()
		if !ok {
			return n, Errorf(Unavailable, "bus_unavailable", "outbox relay: the bus is not taking events")
		}
		n++
		s.log.Info("outbox relay published a pending change", "room", m.RoomID, "message", m.ID, "rev", m.Rev)
	}
	return n, nil
}

// OutboxRelayConfig configures RunOutboxRelay. Zero values take the defaults noted.
type OutboxRelayConfig struct {
	// Interval between passes; default 2 s.
	Interval time.Duration
	// Age is how long a message stays pending before the relay takes it: longer than a
	// send takes to publish, so that the relay does not race the sender. Default 5 s.
	Age time.Duration
	// Batch bounds one pass; default 100.
	Batch int
}

// RunOutboxRelay runs RelayOutbox every Interval until ctx ends. Several processes may
// run it at once: a message two of them take is published twice, which clients absorb.
func (s *Service) RunOutboxRelay(ctx context.Context, cfg OutboxRelayConfig) {
	if cfg.Interval <= 0 {
		cfg.Interval = 2 * time.Second
	}
	if cfg.Age <= 0 {
		cfg.Age = 5 * time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 100
	}
	t := time.NewTicker(cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, relay := range []func(context.Context, time.Duration, int) (int, error){s.RelayOutbox, s.RelayChanges} {
			for {
				n, err := relay(ctx, cfg.Age, cfg.Batch)
				if err != nil {
					if ctx.Err() == nil {
						s.log.Warn("outbox relay pass failed", "published", n, "err", err)
					}
					break
				}
				if n < cfg.Batch {
					break
				}
			}
		}
	}
}
