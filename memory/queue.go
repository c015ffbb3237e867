package memory

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// QueueConfig configures a Queue. Zero values take the defaults.
type QueueConfig struct {
	// ClaimIdle is how long a delivered job may stay unacknowledged before another
	// consumer may take it. Default 1 minute.
	ClaimIdle time.Duration
	// MaxLen bounds the jobs held, delivered or not; Enqueue fails beyond it rather than
	// let a stalled worker grow the process without limit. Default 100,000.
	MaxLen int
}

// Queue is the in-process chat.PushQueue of the single-node mode. It keeps the Redis
// queue's contract (chattest.TestPushQueue): jobs are held until acknowledged and a job
// left unacknowledged past ClaimIdle goes to the next consumer that asks, so the
// notification worker runs the same code on both. Jobs do not survive the process.
type Queue struct {
	cfg QueueConfig

	mu      sync.Mutex
	next    uint64
	fresh   []*queueEntry          // never delivered, oldest first
	pending map[uint64]*queueEntry // delivered, not acknowledged
	changed chan struct{}          // closed and replaced when a job is enqueued
}

type queueEntry struct {
	id          uint64
	job         chat.PushJob
	deliveredAt time.Time
}

var _ chat.PushQueue = (*Queue)(nil)

// NewQueue returns an empty queue.
func NewQueue(cfg QueueConfig) *Queue {
	if cfg.ClaimIdle <= 0 {
		cfg.ClaimIdle = time.Minute
	}
	if cfg.MaxLen <= 0 {
		cfg.MaxLen = 100_000
	}
	return &Queue{cfg: cfg, pending: map[uint64]*queueEntry{}, changed: make(chan struct{})}
}

// Enqueue implements chat.PushQueue.
func (q *Queue) Enqueue(ctx context.Context, job chat.PushJob) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.fresh)+len(q.pending) >= q.cfg.MaxLen {
		return chat.Errorf(chat.Unavailable, "push_queue_full", "push queue holds %d jobs", q.cfg.MaxLen)
	}
	q.next++
	q.fresh = append(q.fresh, &queueEntry{id: q.next, job: job})
	close(q.changed)
	q.changed = make(chan struct{})
	return nil
}

// Len returns the number of jobs held: waiting and delivered but not acknowledged.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.fresh) + len(q.pending)
}

// Consumer returns the consumer called name. Consumers of one queue share its jobs.
func (q *Queue) Consumer(name string) *Consumer { return &Consumer{q: q, name: name} }

// Consumer is one worker's end of a Queue.
type Consumer struct {
	q    *Queue
	name string
}

var _ chat.PushConsumer = (*Consumer)(nil)

// Receive implements chat.PushConsumer.
func (c *Consumer) Receive(ctx context.Context, limit int) ([]chat.PushDelivery, error) {
	if limit <= 0 {
		limit = 1
	}
	for {
		out, wake, wait := c.take(limit)
		if len(out) > 0 {
			return out, nil
		}
		var timer *time.Timer
		var fire <-chan time.Time
		if wait > 0 {
			timer = time.NewTimer(wait)
			fire = timer.C
		}
		select {
		case <-ctx.Done():
		case <-wake:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

// take hands out up to limit jobs: reclaimed ones first, then fresh ones. With none, it
// returns what to wait on: the next enqueue, and the time until a pending job becomes
// reclaimable (0 when none is pending).
func (c *Consumer) take(limit int) ([]chat.PushDelivery, <-chan struct{}, time.Duration) {
	q := c.q
	q.mu.Lock()
	defer q.mu.Unlock()
	now := time.Now()
	var out []chat.PushDelivery
	var idle []*queueEntry
	wait := time.Duration(0)
	for _, e := range q.pending {
		if left := q.cfg.ClaimIdle - now.Sub(e.deliveredAt); left <= 0 {
			idle = append(idle, e)
		} else if wait == 0 || left < wait {
			wait = left
		}
	}
	slices.SortFunc(idle, func(a, b *queueEntry) int { return cmp.Compare(a.id, b.id) })
	for _, e := range idle {
		if len(out) == limit {
			break
		}
		e.deliveredAt = now
		out = append(out, chat.PushDelivery{ID: strconv.FormatUint(e.id, 10), Job: e.job})
	}
	for len(out) < limit && len(q.fresh) > 0 {
		e := q.fresh[0]
		q.fresh[0] = nil
		q.fresh = q.fresh[1:]
		e.deliveredAt = now
		q.pending[e.id] = e
		out = append(out, chat.PushDelivery{ID: strconv.FormatUint(e.id, 10), Job: e.job})
	}
	return out, q.changed, wait
}

// Ack implements chat.PushConsumer. Unknown ids are ignored: a job reclaimed by another
// consumer may be acknowledged by either.
func (c *Consumer) Ack(ctx context.Context, ids ...string) error {
	q := c.q
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, s := range ids {
		if id, err := strconv.ParseUint(s, 10, 64); err == nil {
			delete(q.pending, id)
		}
	}
	return nil
}
