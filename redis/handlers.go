package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/chatchat/chatchat/chat"
)

// What both buses (Bus, RoomBus) share: their handler lists, the decoding of what arrives,
// and the pipelined publishing of a batch with its push job.

// subscription is one registered handler; the id tells apart two registrations of the
// same handler.
type subscription struct {
	id uint64
	h  chat.EventHandler
}

// handlerList is the handlers of one topic. Its slice is copied on write, so that delivery
// iterates a snapshot without the lock and a handler may subscribe or unsubscribe.
type handlerList struct {
	mu     sync.RWMutex
	subs   []subscription
	nextID uint64
}

// add registers h; the returned function, which may be called more than once, removes it.
func (l *handlerList) add(h chat.EventHandler) (remove func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	id := l.nextID
	l.nextID++
	l.subs = append(slices.Clip(l.subs), subscription{id, h})
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.subs = slices.DeleteFunc(slices.Clone(l.subs), func(s subscription) bool { return s.id == id })
	}
}

// snapshot returns the handlers. The slice is never written after it is published, so it
// needs no copy.
func (l *handlerList) snapshot() []subscription {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.subs
}

// deliver decodes payload and hands the event to the handlers, unless skip (when set)
// drops it; what arrives is counted by type in m.
func (l *handlerList) deliver(log *slog.Logger, m *Metrics, payload string, skip func(chat.Event) bool) {
	subs := l.snapshot()
	if len(subs) == 0 {
		return
	}
	var ev chat.Event
	if err := json.Unmarshal([]byte(payload), &ev); err != nil {
		log.Warn("redis: dropped an event that does not decode", "err", err, "size", len(payload))
		return
	}
	if skip != nil && skip(ev) {
		return
	}
	m.eventReceived(ev.Type)
	for _, sub := range subs {
		sub.h.HandleEvent(ev)
	}
}

// publishPipelined sends the events (each through send) and the XADD of a Queue's job in
// one pipeline bounded by timeout: chat.BatchPublisher's PublishBatch for both buses. A
// queue that is not a *Queue is not reached this way (false).
func publishPipelined(ctx context.Context, client goredis.UniversalClient, timeout time.Duration,
	evs []chat.Event, queue chat.PushQueue, job *chat.PushJob, send func(pipe goredis.Pipeliner, ev chat.Event, payload []byte)) (bool, error) {
	var add *goredis.XAddArgs
	if job != nil {
		q, ok := queue.(*Queue)
		if !ok {
			return false, nil
		}
		var err error
		if add, err = q.addArgs(*job); err != nil {
			return true, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pipe := client.Pipeline()
	for _, ev := range evs {
		payload, err := chat.MarshalJSON(ev)
		if err != nil {
			return true, fmt.Errorf("redis: encode %s event: %w", ev.Type, err)
		}
		send(pipe, ev, payload)
	}
	if add != nil {
		pipe.XAdd(ctx, add)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		if len(evs) == 1 && add == nil {
			return true, fmt.Errorf("redis: publish %s event: %w", evs[0].Type, err)
		}
		return true, fmt.Errorf("redis: publish a batch of %d events (push job: %t): %w", len(evs), add != nil, err)
	}
	return true, nil
}

// subscriptionReader is the read loop of a subscription that both buses run: it pings a
// subscription silent for healthCheck and replaces it when the ping goes unanswered, backs
// off after errors (up to maxBackoff), and hands every message to handle, until stop closes.
type subscriptionReader struct {
	what        string // "subscription", "sharded subscription", for the log
	log         *slog.Logger
	healthCheck time.Duration
	maxBackoff  time.Duration
	stop        <-chan struct{}
	// replace opens a new subscription for one found dead; nil when the bus is closing.
	replace func(old *goredis.PubSub) *goredis.PubSub
	// failed, when set, is told of a read error before the back-off.
	failed func()
	handle func(msg any)
}

func (r subscriptionReader) run(ps *goredis.PubSub) {
	ctx := context.Background() // the loop ends by Close closing ps, not by a context
	backoff := time.Duration(0)
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, r.healthCheck)
		if err != nil {
			if stopped(r.stop) {
				return
			}
			if isTimeout(err) {
				if !pinged {
					pinged = true
					if err := ps.Ping(ctx); err == nil {
						continue
					}
				}
				// A ping went unanswered (or could not be sent): the connection is dead
				// without having said so.
				r.log.Warn("redis " + r.what + " silent, resubscribing")
				if ps = r.replace(ps); ps == nil {
					return
				}
				pinged = false
				continue
			}
			if r.failed != nil {
				r.failed()
			}
			backoff = nextBackoff(backoff, r.maxBackoff)
			r.log.Warn("redis "+r.what+" failed, retrying", "err", err, "backoff", backoff)
			if !sleepUnless(r.stop, backoff) {
				return
			}
			continue
		}
		backoff, pinged = 0, false
		if _, ok := msg.(*goredis.Pong); ok {
			continue
		}
		r.handle(msg)
	}
}

// stopped reports whether stop is closed.
func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// sleepUnless waits d, or less when stop closes; it reports whether to go on.
func sleepUnless(stop <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-stop:
		return false
	}
}
