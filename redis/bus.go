// Package redis carries ChatChat's events and presence across the nodes of a cluster:
// Bus over Redis Pub/Sub (the seed's channel globalEvents, and fcmTokenMessages for the
// notification servers), RoomBus over sharded Pub/Sub with a channel per room and user
// (Redis 7), the push queue in a Redis Stream, and Presence in Redis keys with the seed's
// layout. It needs Redis 5 or later (scripts read the server's clock) and a single primary,
// as the presence scripts touch keys of several hash slots, unless Presence uses hash tags
// (PresenceConfig.HashTags) and the bus is a RoomBus: then a Redis Cluster serves too.
package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/chatchat/chatchat/chat"
)

// The Pub/Sub channels, one per chat.Topic.
const (
	// GlobalChannel is the seed's channel of every event for chat servers (chat.TopicSessions).
	GlobalChannel = "globalEvents"
	// PushChannel carries FCM_TOKEN_MESSAGE to notification servers (chat.TopicPush).
	PushChannel = "fcmTokenMessages"
)

// channelNames names each topic's channel.
var channelNames = map[chat.Topic]string{
	chat.TopicSessions: GlobalChannel,
	chat.TopicPush:     PushChannel,
}

// BusConfig configures a Bus. Zero values take the defaults.
type BusConfig struct {
	// Prefix is put before the channel names, so that tests or deployments sharing one
	// Redis do not hear each other. Default none: the seed's channel names.
	Prefix string
	// Topics are the topics whose channels the bus subscribes to; Subscribe takes handlers
	// for these only. Default chat.TopicSessions alone. Any bus publishes to every topic.
	Topics []chat.Topic
	// PublishTimeout bounds one Publish, so that a request fails fast when Redis is down
	// instead of waiting out the client's retries. Default 2 s.
	PublishTimeout time.Duration
	// HealthCheck is how long the subscription may stay silent before it is pinged; a
	// ping unanswered for another HealthCheck means a dead connection, which is replaced.
	// Default 5 s.
	HealthCheck time.Duration
	// MaxBackoff caps the wait between attempts to reach Redis again. Default 5 s.
	MaxBackoff time.Duration
	// Logger gets the subscription's troubles. Default: discard.
	Logger *slog.Logger
	// Metrics counts the events received (nil: not counted).
	Metrics *Metrics
}

// Bus is a chat.Bus over Redis Pub/Sub. Each Bus holds one subscription, read by one
// goroutine that it owns, and fans events out to its handlers on that goroutine; Close
// stops it. When the subscription breaks and comes back, every handler's HandleGap is
// called, because Pub/Sub drops what is published meanwhile.
type Bus struct {
	client   goredis.UniversalClient
	channels []string              // the channels subscribed to, in cfg.Topics' order
	topicOf  map[string]chat.Topic // of the channels subscribed to
	names    map[chat.Topic]string // every topic's channel, prefix included: made once, not per publish
	cfg      BusConfig
	log      *slog.Logger

	subs map[chat.Topic]*handlerList // of the topics subscribed to, made once

	psmu   sync.Mutex
	ps     *goredis.PubSub // the current subscription; replaced when found dead
	closed bool

	stop chan struct{} // closed by Close
	done chan struct{} // closed when the subscriber goroutine has returned
}

var (
	_ chat.Bus    = (*Bus)(nil)
	_ chat.Pinger = (*Bus)(nil)
)

// NewBus subscribes to the bus's channel on client, waits until Redis confirms it, and
// starts the goroutine that delivers events. It fails when Redis does not answer within
// ctx. The caller keeps ownership of client and closes it after Close.
func NewBus(ctx context.Context, client goredis.UniversalClient, cfg BusConfig) (*Bus, error) {
	if cfg.PublishTimeout <= 0 {
		cfg.PublishTimeout = 2 * time.Second
	}
	if cfg.HealthCheck <= 0 {
		cfg.HealthCheck = 5 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if len(cfg.Topics) == 0 {
		cfg.Topics = []chat.Topic{chat.TopicSessions}
	}
	b := &Bus{
		client:  client,
		topicOf: make(map[string]chat.Topic, len(cfg.Topics)),
		names:   make(map[chat.Topic]string, len(channelNames)),
		cfg:     cfg,
		subs:    make(map[chat.Topic]*handlerList, len(cfg.Topics)),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	for t, name := range channelNames {
		b.names[t] = cfg.Prefix + name
	}
	for _, t := range slices.Compact(slices.Sorted(slices.Values(cfg.Topics))) {
		ch := b.channel(t)
		b.channels = append(b.channels, ch)
		b.topicOf[ch] = t
		b.subs[t] = &handlerList{}
	}
	b.log = log.With("channels", b.channels)
	ps, err := b.subscribe(ctx)
	if err != nil {
		return nil, err
	}
	b.ps = ps
	go b.run(ps)
	return b, nil
}

// subscribe opens a subscription and waits for its confirmation, so that events published
// after it returns are heard.
func (b *Bus) subscribe(ctx context.Context) (*goredis.PubSub, error) {
	ps := b.client.Subscribe(ctx, b.channels...)
	for range b.channels { // one confirmation per channel
		msg, err := ps.Receive(ctx)
		if err != nil {
			_ = ps.Close()
			return nil, fmt.Errorf("redis: subscribe to %v: %w", b.channels, err)
		}
		if s, ok := msg.(*goredis.Subscription); !ok || s.Kind != "subscribe" {
			_ = ps.Close()
			return nil, fmt.Errorf("redis: subscribe to %v: unexpected reply %v", b.channels, msg)
		}
	}
	return ps, nil
}

// channel returns the channel of a topic.
func (b *Bus) channel(t chat.Topic) string {
	if name, ok := b.names[t]; ok {
		return name
	}
	return b.cfg.Prefix + fmt.Sprintf("topic%d", t)
}

// Publish implements chat.Bus: one PUBLISH of the JSON envelope on its topic's channel.
func (b *Bus) Publish(ctx context.Context, ev chat.Event) error {
	payload, err := chat.MarshalJSON(ev)
	if err != nil {
		return fmt.Errorf("redis: encode %s event: %w", ev.Type, err)
	}
	ctx, cancel := context.WithTimeout(ctx, b.cfg.PublishTimeout)
	defer cancel()
	ch := b.channel(ev.Topic())
	if err := b.client.Publish(ctx, ch, payload).Err(); err != nil {
		return fmt.Errorf("redis: publish %s event to %s: %w", ev.Type, ch, err)
	}
	return nil
}

var _ chat.BatchPublisher = (*Bus)(nil)

// PublishBatch implements chat.BatchPublisher: the PUBLISHes and the XADD of a Queue's job
// go in one pipeline, so a send costs one round trip to Redis, bounded by PublishTimeout.
// A queue that is not a *Queue is not reached this way.
func (b *Bus) PublishBatch(ctx context.Context, evs []chat.Event, queue chat.PushQueue, job *chat.PushJob) (bool, error) {
	return publishPipelined(ctx, b.client, b.cfg.PublishTimeout, evs, queue, job, func(pipe goredis.Pipeliner, ev chat.Event, payload []byte) {
		pipe.Publish(ctx, b.channel(ev.Topic()), payload)
	})
}

// Subscribe implements chat.Bus. The returned function may be called more than once. A
// topic the bus does not listen to (BusConfig.Topics) is a wiring mistake, and panics.
func (b *Bus) Subscribe(topic chat.Topic, h chat.EventHandler) (unsubscribe func()) {
	l, ok := b.subs[topic]
	if !ok {
		panic(fmt.Sprintf("redis: Subscribe to topic %d, which the bus does not listen to (BusConfig.Topics)", topic))
	}
	return l.add(h)
}

// Ping reports whether Redis answers, for readiness checks.
func (b *Bus) Ping(ctx context.Context) error {
	if err := b.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: ping: %w", err)
	}
	return nil
}

// Close ends the subscription and waits for the delivery goroutine to return. Later
// publishes still reach Redis as long as the client is open; nothing is delivered to this
// bus's handlers any more. It may be called more than once.
func (b *Bus) Close() error {
	b.psmu.Lock()
	if !b.closed {
		b.closed = true
		close(b.stop)
		// Closing the subscription's connection is what unblocks a pending read.
		_ = b.ps.Close()
	}
	b.psmu.Unlock()
	<-b.done
	return nil
}

// run reads the subscription until Close. go-redis reconnects and resubscribes by itself
// after a read error; a health check replaces a subscription whose connection went silent
// without an error. Either way the new subscription is confirmed by a "subscribe" message,
// which is how a gap is noticed.
func (b *Bus) run(ps *goredis.PubSub) {
	defer close(b.done)
	subscriptionReader{
		what: "subscription", log: b.log, healthCheck: b.cfg.HealthCheck, maxBackoff: b.cfg.MaxBackoff,
		stop: b.stop, replace: b.replace,
		handle: func(msg any) {
			switch m := msg.(type) {
			case *goredis.Message:
				b.deliver(b.topicOf[m.Channel], m.Payload)
			case *goredis.Subscription:
				if m.Kind == "subscribe" {
					// NewBus consumed the first confirmations; any later one is a
					// resubscription after a break.
					b.log.Info("redis subscription restored; subscribers re-sync", "channel", m.Channel)
					b.gap(b.topicOf[m.Channel])
				}
			default:
				b.log.Warn("redis subscription: unexpected message", "type", fmt.Sprintf("%T", msg))
			}
		},
	}.run(ps)
}

// replace closes a subscription that was found dead and opens a new one. It returns nil
// when the bus is closed meanwhile. The new subscription's confirmation is left for run to
// read, so that it is reported as a gap like any other resubscription.
func (b *Bus) replace(old *goredis.PubSub) *goredis.PubSub {
	b.psmu.Lock()
	defer b.psmu.Unlock()
	if b.closed {
		return nil
	}
	_ = old.Close()
	// go-redis sends SUBSCRIBE now or, if Redis is unreachable, on the next read.
	b.ps = b.client.Subscribe(context.Background(), b.channels...)
	return b.ps
}

func (b *Bus) deliver(topic chat.Topic, payload string) {
	b.subs[topic].deliver(b.log, b.cfg.Metrics, payload, nil)
}

func (b *Bus) gap(topic chat.Topic) {
	for _, sub := range b.subs[topic].snapshot() {
		sub.h.HandleGap()
	}
}

func nextBackoff(d, limit time.Duration) time.Duration {
	if d == 0 {
		return 50 * time.Millisecond
	}
	return min(2*d, limit)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
