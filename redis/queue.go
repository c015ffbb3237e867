package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/chatchat/chatchat/chat"
)

// QueueConfig configures a Queue. Zero values take the defaults.
type QueueConfig struct {
	// Prefix is put before the stream's key, as BusConfig.Prefix is before the channel's.
	Prefix string
	// ClaimIdle is how long a delivered job may stay unacknowledged before another
	// consumer reclaims it (XAUTOCLAIM): longer than a worker takes over one job, retries
	// included. Default 1 minute.
	ClaimIdle time.Duration
	// MaxLen caps the stream (approximately) so that Redis does not fill up while no
	// notification process runs. Default 100,000 jobs.
	MaxLen int64
	// Logger reports entries that cannot be decoded. Default slog.Default().
	Logger *slog.Logger
}

// Queue is a chat.PushQueue in a Redis Stream with one consumer group, "notify", that every
// notification process joins. The API adds jobs with XADD; consumers read new ones with
// XREADGROUP and, before that, reclaim with XAUTOCLAIM the ones another consumer left
// unacknowledged past ClaimIdle (a process that died or was stopped mid-job). A job is
// acknowledged and deleted (XACK, XDEL) once its pushes are done, so the stream holds only
// the work still to do. Delivery is at least once; the notification history de-duplicates.
//
// A Stream rather than the seed's Pub/Sub for this one event: Pub/Sub drops what is
// published while no notification process listens, a Stream keeps it until one is back.
type Queue struct {
	client goredis.UniversalClient
	key    string
	cfg    QueueConfig
	log    *slog.Logger
}

// queueGroup is the consumer group of every notification process.
const queueGroup = "notify"

var _ chat.PushQueue = (*Queue)(nil)

// NewQueue returns a queue over client. The caller keeps ownership of client.
func NewQueue(client goredis.UniversalClient, cfg QueueConfig) *Queue {
	if cfg.ClaimIdle <= 0 {
		cfg.ClaimIdle = time.Minute
	}
	if cfg.MaxLen <= 0 {
		cfg.MaxLen = 100_000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Queue{client: client, key: cfg.Prefix + "pushJobs", cfg: cfg, log: cfg.Logger}
}

// Enqueue implements chat.PushQueue.
func (q *Queue) Enqueue(ctx context.Context, job chat.PushJob) error {
	args, err := q.addArgs(job)
	if err != nil {
		return err
	}
	if err := q.client.XAdd(ctx, args).Err(); err != nil {
		return fmt.Errorf("redis: enqueue push job: %w", err)
	}
	return nil
}

// addArgs is the XADD of a job, for Enqueue and for a Bus's batch (PublishBatch).
func (q *Queue) addArgs(job chat.PushJob) (*goredis.XAddArgs, error) {
	b, err := chat.MarshalJSON(job)
	if err != nil {
		return nil, fmt.Errorf("redis: enqueue push job: %w", err)
	}
	return &goredis.XAddArgs{Stream: q.key, MaxLen: q.cfg.MaxLen, Approx: true, Values: []any{"job", b}}, nil
}

// Len returns the number of jobs in the stream: waiting, or delivered and not acknowledged.
func (q *Queue) Len(ctx context.Context) (int64, error) {
	n, err := q.client.XLen(ctx, q.key).Result()
	if err != nil {
		return 0, fmt.Errorf("redis: push queue length: %w", err)
	}
	return n, nil
}

// Consumer returns the consumer called name: unique per process (the node id), so that
// what one process leaves pending is reclaimed by the others.
func (q *Queue) Consumer(name string) *Consumer { return &Consumer{q: q, name: name, cursor: "0-0"} }

// Consumer is one notification process's end of a Queue.
type Consumer struct {
	q    *Queue
	name string

	mu     sync.Mutex // guards cursor and ready: Receive is called by one loop at a time
	cursor string     // where the next XAUTOCLAIM scan of pending entries starts
	ready  bool       // the group is known to exist
}

var _ chat.PushConsumer = (*Consumer)(nil)

// Receive implements chat.PushConsumer. It blocks in XREADGROUP for at most a quarter of
// ClaimIdle at a time, between which it checks for reclaimable jobs and for ctx's end.
func (c *Consumer) Receive(ctx context.Context, limit int) ([]chat.PushDelivery, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if limit <= 0 {
		limit = 1
	}
	block := min(max(c.q.cfg.ClaimIdle/4, 10*time.Millisecond), 2*time.Second)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !c.ready {
			if err := c.createGroup(ctx); err != nil {
				return nil, err
			}
			c.ready = true
		}
		out, err := c.reclaim(ctx, limit)
		if err == nil && len(out) == 0 {
			out, err = c.readNew(ctx, limit, block)
		}
		if isNoGroup(err) { // the stream was deleted under us (FLUSHALL): start over
			c.ready = false
			continue
		}
		if err != nil {
			return nil, err
		}
		if len(out) > 0 {
			return out, nil
		}
	}
}

func (c *Consumer) createGroup(ctx context.Context) error {
	// From the stream's start: jobs queued before any notification process ran are kept.
	err := c.q.client.XGroupCreateMkStream(ctx, c.q.key, queueGroup, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("redis: create consumer group: %w", err)
	}
	return nil
}

func (c *Consumer) reclaim(ctx context.Context, limit int) ([]chat.PushDelivery, error) {
	msgs, next, err := c.q.client.XAutoClaim(ctx, &goredis.XAutoClaimArgs{
		Stream: c.q.key, Group: queueGroup, Consumer: c.name,
		MinIdle: c.q.cfg.ClaimIdle, Start: c.cursor, Count: int64(limit),
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: reclaim push jobs: %w", err)
	}
	c.cursor = next
	return c.decode(ctx, msgs)
}

func (c *Consumer) readNew(ctx context.Context, limit int, block time.Duration) ([]chat.PushDelivery, error) {
	streams, err := c.q.client.XReadGroup(ctx, &goredis.XReadGroupArgs{
		Group: queueGroup, Consumer: c.name, Streams: []string{c.q.key, ">"},
		Count: int64(limit), Block: block,
	}).Result()
	if errors.Is(err, goredis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("redis: read push jobs: %w", err)
	}
	var msgs []goredis.XMessage
	for _, s := range streams {
		msgs = append(msgs, s.Messages...)
	}
	return c.decode(ctx, msgs)
}

// decode turns stream entries into deliveries. An entry that cannot be decoded (or was
// trimmed away while pending) would fail every consumer forever, so it is logged and
// acknowledged here.
func (c *Consumer) decode(ctx context.Context, msgs []goredis.XMessage) ([]chat.PushDelivery, error) {
	out := make([]chat.PushDelivery, 0, len(msgs))
	var bad []string
	for _, m := range msgs {
		raw, _ := m.Values["job"].(string)
		var job chat.PushJob
		if err := json.Unmarshal([]byte(raw), &job); err != nil || raw == "" {
			c.q.log.Error("dropping undecodable push job", "id", m.ID, "err", err)
			bad = append(bad, m.ID)
			continue
		}
		out = append(out, chat.PushDelivery{ID: m.ID, Job: job})
	}
	if len(bad) > 0 {
		if err := c.Ack(ctx, bad...); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Ack implements chat.PushConsumer: XACK and XDEL in one transaction.
func (c *Consumer) Ack(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := c.q.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.XAck(ctx, c.q.key, queueGroup, ids...)
		p.XDel(ctx, c.q.key, ids...)
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis: ack push jobs: %w", err)
	}
	return nil
}

func isNoGroup(err error) bool { return err != nil && strings.Contains(err.Error(), "NOGROUP") }
