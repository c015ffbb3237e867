package redis

import (
	"context"
	"fmt"
	"hash/maphash"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/chatchat/chatchat/chat"
)

// RoomShards is how many subscriber connections a RoomBus holds. Room and user channels are
// spread over them by a hash tag, so that the channels of one connection share a hash slot:
// on a Redis Cluster each connection goes to the primary owning its slot, and one SSUBSCRIBE
// may name several of its channels.
const RoomShards = 16

// RoomBusConfig configures a RoomBus. Zero values take the defaults.
type RoomBusConfig struct {
	// Prefix is put before the channel names, as BusConfig.Prefix. It must hold no '{'.
	Prefix string
	// Topics are the topics the bus hears, as BusConfig.Topics. chat.TopicSessions travels
	// on room, user and control channels; chat.TopicPush on the global bus's push channel.
	// Default chat.TopicSessions alone.
	Topics []chat.Topic
	// PublishTimeout bounds one Publish. Default 2 s.
	PublishTimeout time.Duration
	// SubscribeTimeout bounds one SSUBSCRIBE or SUNSUBSCRIBE. A channel whose SSUBSCRIBE
	// failed is subscribed when the connection comes back. Default 2 s.
	SubscribeTimeout time.Duration
	// ReleaseDelay is how long a room or user channel stays subscribed after its last
	// local session left, so that a reconnecting client finds it still there. Default 30 s.
	ReleaseDelay time.Duration
	// HealthCheck and MaxBackoff are as in BusConfig. Defaults 5 s and 5 s.
	HealthCheck time.Duration
	MaxBackoff  time.Duration
	// Logger gets the subscriptions' troubles. Default: discard.
	Logger *slog.Logger
	// Metrics counts the events received (nil: not counted).
	Metrics *Metrics
}

// RoomGapHandler is an optional ability of a chat.EventHandler on a RoomBus: re-syncing one
// room. A RoomBus calls HandleRoomGap each time a room's channel is (re)subscribed, the
// first time included (events published before the subscription took hold were not
// heard), and calls such a handler's HandleGap never.
type RoomGapHandler interface {
	HandleRoomGap(roomID string)
}

// RoomBus is a chat.Bus over Redis 7 sharded Pub/Sub that routes by room. A room's events
// go on the room's channel, events for named users on each user's channel, and the events
// every process acts on (ROOM_UPDATED, which keeps membership caches and chat servers'
// room maps current, SESSIONS_REVOKED, which keeps revocation sets current, and events that
// name no room or user) on one control channel that every node hears. A node hears a room
// or user channel while it holds it (HoldRoom, HoldUser), so that it receives the events of
// the rooms and users it has sessions of, not every event of the deployment.
//
// It owns one reader goroutine per shard and one goroutine that sends the subscription
// changes; Close stops them.
type RoomBus struct {
	client  goredis.UniversalClient
	cfg     RoomBusConfig
	log     *slog.Logger
	control string
	push    *Bus // hears chat.TopicPush when asked to; nil otherwise
	seed    maphash.Seed

	subs handlerList

	mu     sync.Mutex
	routes map[string]*route // by channel: held or subscribed ones
	// pending are the channels of routes that may need an SSUBSCRIBE (held, not
	// subscribed) or an SUNSUBSCRIBE (released, subscribed), so that the sender looks at
	// those only rather than at every route each time it wakes: a connect storm holds a
	// room or user per connection, and a scan of every route each time was quadratic.
	pending map[string]struct{}
	kick    chan struct{} // capacity 1: wakes the subscription sender

	recent *recentSet // multi-channel events already handed on

	shards  []*shard
	stop    chan struct{}
	wg      sync.WaitGroup
	closeMu sync.Mutex
	closed  bool
}

var (
	_ chat.Bus            = (*RoomBus)(nil)
	_ chat.Pinger         = (*RoomBus)(nil)
	_ chat.BatchPublisher = (*RoomBus)(nil)
)

// route is the state of one room or user channel. Guarded by RoomBus.mu.
type route struct {
	held       bool      // a local session needs it
	subscribed bool      // SSUBSCRIBE sent (the channel is in its shard's subscription)
	confirmed  bool      // Redis confirmed the current subscription
	releaseAt  time.Time // when !held and subscribed: when to unsubscribe
}

// shard is one subscriber connection and its reader.
type shard struct {
	idx    int
	anchor string // a channel always subscribed, so the connection stays on its slot's node

	mu sync.Mutex
	ps *goredis.PubSub
}

// NewRoomBus subscribes to the control channel and the shards' anchors, waits until Redis
// confirms them, and starts the bus's goroutines. It fails when Redis does not answer
// within ctx. The caller keeps ownership of client and closes it after Close.
func NewRoomBus(ctx context.Context, client goredis.UniversalClient, cfg RoomBusConfig) (_ *RoomBus, err error) {
	if cfg.PublishTimeout <= 0 {
		cfg.PublishTimeout = 2 * time.Second
	}
	if cfg.SubscribeTimeout <= 0 {
		cfg.SubscribeTimeout = 2 * time.Second
	}
	if cfg.ReleaseDelay <= 0 {
		cfg.ReleaseDelay = 30 * time.Second
	}
	if cfg.HealthCheck <= 0 {
		cfg.HealthCheck = 5 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Second
	}
	if strings.Contains(cfg.Prefix, "{") {
		return nil, fmt.Errorf("redis: prefix %q holds '{', which would change the channels' hash slots", cfg.Prefix)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if len(cfg.Topics) == 0 {
		cfg.Topics = []chat.Topic{chat.TopicSessions}
	}
	b := &RoomBus{
		client:  client,
		cfg:     cfg,
		log:     log.With("bus", "room"),
		control: cfg.Prefix + "control:{0}",
		seed:    maphash.MakeSeed(),
		routes:  make(map[string]*route),
		pending: make(map[string]struct{}),
		kick:    make(chan struct{}, 1),
		recent:  newRecentSet(4096),
		stop:    make(chan struct{}),
	}
	defer func() {
		if err != nil {
			_ = b.Close()
		}
	}()
	if slices.Contains(cfg.Topics, chat.TopicPush) {
		b.push, err = NewBus(ctx, client, BusConfig{Prefix: cfg.Prefix, Topics: []chat.Topic{chat.TopicPush},
			PublishTimeout: cfg.PublishTimeout, HealthCheck: cfg.HealthCheck, MaxBackoff: cfg.MaxBackoff,
			Logger: log, Metrics: cfg.Metrics})
		if err != nil {
			return nil, err
		}
	}
	if !slices.Contains(cfg.Topics, chat.TopicSessions) {
		return b, nil
	}
	for i := range RoomShards {
		sh := &shard{idx: i, anchor: cfg.Prefix + "anchor:{" + strconv.Itoa(i) + "}"}
		channels := []string{sh.anchor}
		if i == 0 {
			channels = append(channels, b.control)
		}
		if sh.ps, err = b.ssubscribe(ctx, channels); err != nil {
			return nil, err
		}
		b.shards = append(b.shards, sh)
	}
	for _, sh := range b.shards {
		b.wg.Go(func() { b.read(sh) })
	}
	b.wg.Go(b.sendChanges)
	return b, nil
}

// ssubscribe opens a sharded subscription and waits for its confirmations.
func (b *RoomBus) ssubscribe(ctx context.Context, channels []string) (*goredis.PubSub, error) {
	ps := b.client.SSubscribe(ctx, channels...)
	for range channels {
		msg, err := ps.Receive(ctx)
		if err != nil {
			_ = ps.Close()
			return nil, fmt.Errorf("redis: ssubscribe to %v: %w", channels, err)
		}
		if s, ok := msg.(*goredis.Subscription); !ok || s.Kind != "ssubscribe" {
			_ = ps.Close()
			return nil, fmt.Errorf("redis: ssubscribe to %v: unexpected reply %v", channels, msg)
		}
	}
	return ps, nil
}

// RoomChannel returns the channel of a room's events.
func (b *RoomBus) RoomChannel(roomID string) string { return RoomChannel(b.cfg.Prefix, roomID) }

// UserChannel returns the channel of the events for a user.
func (b *RoomBus) UserChannel(userID string) string { return UserChannel(b.cfg.Prefix, userID) }

// RoomChannel returns the channel of a room's events under a prefix, for operators and
// tests that look at Redis (PUBSUB SHARDNUMSUB).
func RoomChannel(prefix, roomID string) string { return channel(prefix, "room", roomID) }

// UserChannel returns the channel of the events for a user under a prefix.
func UserChannel(prefix, userID string) string { return channel(prefix, "user", userID) }

func channel(prefix, kind, id string) string {
	return prefix + kind + ":{" + strconv.Itoa(fnvBucket(id)) + "}:" + id
}

// fnvBucket spreads ids over the shards with FNV-1a, which every node computes alike.
func fnvBucket(id string) int {
	h := uint32(2166136261)
	for i := 0; i < len(id); i++ {
		h ^= uint32(id[i])
		h *= 16777619
	}
	return int(h % RoomShards)
}

// parseChannel returns the kind ("room", "user") and id of a room or user channel.
func (b *RoomBus) parseChannel(ch string) (kind, id string, ok bool) {
	rest, ok := strings.CutPrefix(ch, b.cfg.Prefix)
	if !ok {
		return "", "", false
	}
	kind, rest, ok = strings.Cut(rest, ":{")
	if !ok || (kind != "room" && kind != "user") {
		return "", "", false
	}
	_, id, ok = strings.Cut(rest, "}:")
	return kind, id, ok
}

// targets returns the channels an event goes on.
func (b *RoomBus) targets(ev chat.Event) []string {
	switch {
	case ev.Type == chat.EventRoomUpdated || ev.Type == chat.EventSessionsRevoked:
		return []string{b.control}
	case ev.RoomID == "" && len(ev.RoomIDs) == 0 && len(ev.UserIDs) == 0:
		return []string{b.control} // no route: every node hears it, as on the global bus
	}
	out := make([]string, 0, 1+len(ev.RoomIDs)+len(ev.UserIDs))
	if ev.RoomID != "" {
		out = append(out, b.RoomChannel(ev.RoomID))
	}
	for _, id := range ev.RoomIDs {
		out = append(out, b.RoomChannel(id))
	}
	for _, id := range ev.UserIDs {
		out = append(out, b.UserChannel(id))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Publish implements chat.Bus: an SPUBLISH of the JSON envelope on each of its channels,
// in one pipeline bounded by PublishTimeout; chat.TopicPush goes on the push channel.
func (b *RoomBus) Publish(ctx context.Context, ev chat.Event) error {
	_, err := b.PublishBatch(ctx, []chat.Event{ev}, nil, nil)
	return err
}

// PublishBatch implements chat.BatchPublisher as Bus.PublishBatch does.
func (b *RoomBus) PublishBatch(ctx context.Context, evs []chat.Event, queue chat.PushQueue, job *chat.PushJob) (bool, error) {
	return publishPipelined(ctx, b.client, b.cfg.PublishTimeout, evs, queue, job, func(pipe goredis.Pipeliner, ev chat.Event, payload []byte) {
		if ev.Topic() == chat.TopicPush {
			pipe.Publish(ctx, b.cfg.Prefix+PushChannel, payload)
			return
		}
		for _, ch := range b.targets(ev) {
			pipe.SPublish(ctx, ch, payload)
		}
	})
}

// Subscribe implements chat.Bus. A topic the bus does not hear panics, as with Bus.
func (b *RoomBus) Subscribe(topic chat.Topic, h chat.EventHandler) (unsubscribe func()) {
	if topic == chat.TopicPush && b.push != nil {
		return b.push.Subscribe(topic, h)
	}
	if topic != chat.TopicSessions || len(b.shards) == 0 {
		panic(fmt.Sprintf("redis: Subscribe to topic %d, which the bus does not listen to (RoomBusConfig.Topics)", topic))
	}
	return b.subs.add(h)
}

// HoldRoom says that this node has a session in the room: its channel is subscribed, and
// stays so until ReleaseRoom and the release delay. Calls must pair up (the chat server
// holds a room once, from its first local session to its last). It never blocks on Redis.
func (b *RoomBus) HoldRoom(roomID string) { b.hold(b.RoomChannel(roomID)) }

// ReleaseRoom undoes a HoldRoom.
func (b *RoomBus) ReleaseRoom(roomID string) { b.release(b.RoomChannel(roomID)) }

// HoldUser says that this node has a session of the user, as HoldRoom.
func (b *RoomBus) HoldUser(userID string) { b.hold(b.UserChannel(userID)) }

// ReleaseUser undoes a HoldUser.
func (b *RoomBus) ReleaseUser(userID string) { b.release(b.UserChannel(userID)) }

func (b *RoomBus) hold(ch string) {
	b.mu.Lock()
	r := b.routes[ch]
	if r == nil {
		r = &route{}
		b.routes[ch] = r
	}
	r.held = true
	r.releaseAt = time.Time{}
	wake := !r.subscribed
	if wake {
		b.pending[ch] = struct{}{}
	}
	b.mu.Unlock()
	if wake {
		b.wake()
	}
}

func (b *RoomBus) release(ch string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.routes[ch]
	if r == nil || !r.held {
		return
	}
	r.held = false
	if !r.subscribed {
		delete(b.routes, ch)
		delete(b.pending, ch)
		return
	}
	r.releaseAt = time.Now().Add(b.cfg.ReleaseDelay)
	b.pending[ch] = struct{}{}
}

func (b *RoomBus) wake() {
	select {
	case b.kick <- struct{}{}:
	default: // a wake-up is pending already
	}
}

// RoomRouted reports whether Redis has confirmed this node's subscription to the room's
// channel: from then on, the room's events reach it.
func (b *RoomBus) RoomRouted(roomID string) bool { return b.routed(b.RoomChannel(roomID)) }

// UserRouted is RoomRouted for a user's channel.
func (b *RoomBus) UserRouted(userID string) bool { return b.routed(b.UserChannel(userID)) }

func (b *RoomBus) routed(ch string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.routes[ch]
	return r != nil && r.confirmed
}

// sendChanges sends the subscription changes: at once for new holds, on a tick for
// releases whose delay is over. It is the only sender of SSUBSCRIBE and SUNSUBSCRIBE after
// NewRoomBus, so one channel's commands never cross.
func (b *RoomBus) sendChanges() {
	t := time.NewTicker(min(max(b.cfg.ReleaseDelay/4, 10*time.Millisecond), time.Second))
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-b.kick:
		case <-t.C:
		}
		subs, unsubs := b.changes(time.Now())
		for i, chans := range subs {
			b.send(b.shards[i], "ssubscribe", chans)
		}
		for i, chans := range unsubs {
			b.send(b.shards[i], "sunsubscribe", chans)
		}
	}
}

// changes takes the channels to subscribe and to unsubscribe, by shard, and marks them
// done: a failed SSUBSCRIBE stays in go-redis's subscription and is sent again when the
// connection comes back.
func (b *RoomBus) changes(now time.Time) (subs, unsubs map[int][]string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.pending {
		r := b.routes[ch]
		switch {
		case r == nil || (r.held && r.subscribed):
			delete(b.pending, ch) // held again before its release was due
		case r.held && !r.subscribed:
			delete(b.pending, ch)
			if subs == nil {
				subs = map[int][]string{}
			}
			i := b.shardOf(ch)
			subs[i] = append(subs[i], ch)
			r.subscribed = true
		case !r.held && r.subscribed && !now.Before(r.releaseAt):
			if unsubs == nil {
				unsubs = map[int][]string{}
			}
			i := b.shardOf(ch)
			unsubs[i] = append(unsubs[i], ch)
			delete(b.routes, ch)
			delete(b.pending, ch)
		}
	}
	return subs, unsubs
}

// shardOf returns the shard of a room or user channel, from its hash tag.
func (b *RoomBus) shardOf(ch string) int {
	_, rest, _ := strings.Cut(ch, "{")
	tag, _, _ := strings.Cut(rest, "}")
	i, _ := strconv.Atoi(tag)
	return i
}

func (b *RoomBus) send(sh *shard, cmd string, chans []string) {
	ctx, cancel := context.WithTimeout(context.Background(), b.cfg.SubscribeTimeout)
	defer cancel()
	sh.mu.Lock()
	ps := sh.ps
	sh.mu.Unlock()
	var err error
	if cmd == "ssubscribe" {
		err = ps.SSubscribe(ctx, chans...)
	} else {
		err = ps.SUnsubscribe(ctx, chans...)
	}
	if err != nil && !stopped(b.stop) {
		// The connection is down: go-redis subscribes again what it holds when it is back.
		b.log.Warn("redis "+cmd+" failed", "shard", sh.idx, "channels", len(chans), "err", err)
	}
}

// read reads a shard's subscription until Close, as Bus.run does.
func (b *RoomBus) read(sh *shard) {
	sh.mu.Lock()
	ps := sh.ps
	sh.mu.Unlock()
	subscriptionReader{
		what: "sharded subscription", log: b.log.With("shard", sh.idx), healthCheck: b.cfg.HealthCheck,
		maxBackoff: b.cfg.MaxBackoff, stop: b.stop,
		replace: func(old *goredis.PubSub) *goredis.PubSub { return b.replace(sh, old) },
		failed:  func() { b.unconfirm(sh.idx) },
		handle: func(msg any) {
			switch m := msg.(type) {
			case *goredis.Message:
				b.deliver(m.Payload)
			case *goredis.Subscription:
				if m.Kind == "ssubscribe" {
					b.subscribed(m.Channel)
				}
			default:
				b.log.Warn("redis sharded subscription: unexpected message", "type", fmt.Sprintf("%T", msg))
			}
		},
	}.run(ps)
}

// subscribed handles Redis's confirmation of a channel's subscription: a room's handlers
// re-sync it, and after a break the control channel's handlers re-sync everything.
func (b *RoomBus) subscribed(ch string) {
	if ch == b.control {
		b.log.Info("redis control subscription restored; subscribers re-sync")
		for _, sub := range b.subs.snapshot() {
			if _, ok := sub.h.(RoomGapHandler); !ok {
				sub.h.HandleGap()
			}
		}
		return
	}
	kind, id, ok := b.parseChannel(ch)
	if !ok {
		return // an anchor
	}
	b.mu.Lock()
	r := b.routes[ch]
	if r != nil {
		r.confirmed = true
	}
	b.mu.Unlock()
	if kind != "room" {
		return
	}
	for _, sub := range b.subs.snapshot() {
		if h, ok := sub.h.(RoomGapHandler); ok {
			h.HandleRoomGap(id)
		}
	}
}

// unconfirm marks a shard's channels unconfirmed: its connection broke.
func (b *RoomBus) unconfirm(idx int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch, r := range b.routes {
		if b.shardOf(ch) == idx {
			r.confirmed = false
		}
	}
}

// replace closes a shard's subscription found dead and opens a new one with its channels;
// it returns nil when the bus is closed meanwhile. The confirmations are left for read.
func (b *RoomBus) replace(sh *shard, old *goredis.PubSub) *goredis.PubSub {
	b.closeMu.Lock()
	defer b.closeMu.Unlock()
	if b.closed {
		return nil
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	_ = old.Close()
	chans := []string{sh.anchor}
	if sh.idx == 0 {
		chans = append(chans, b.control)
	}
	b.mu.Lock()
	for ch, r := range b.routes {
		if r.subscribed && b.shardOf(ch) == sh.idx {
			chans = append(chans, ch)
			r.confirmed = false
		}
	}
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), b.cfg.SubscribeTimeout)
	defer cancel()
	// go-redis sends SSUBSCRIBE now or, if Redis is unreachable, on the next read.
	sh.ps = b.client.SSubscribe(ctx, chans...)
	return sh.ps
}

// deliver decodes an event and hands it to the handlers. An event sent on several channels
// that this node hears (PRESENCE_UPDATED to two rooms it holds) is handed on once: each
// delivery covers every room and user the envelope names.
func (b *RoomBus) deliver(payload string) {
	b.subs.deliver(b.log, b.cfg.Metrics, payload, func(ev chat.Event) bool {
		return len(ev.RoomIDs)+len(ev.UserIDs) > 0 && !b.recent.add(maphash.String(b.seed, payload))
	})
}

// Ping reports whether Redis answers, for readiness checks.
func (b *RoomBus) Ping(ctx context.Context) error {
	if err := b.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: ping: %w", err)
	}
	return nil
}

// Close ends the subscriptions and waits for the bus's goroutines to return. It may be
// called more than once.
func (b *RoomBus) Close() error {
	b.closeMu.Lock()
	if !b.closed {
		b.closed = true
		close(b.stop)
		for _, sh := range b.shards {
			sh.mu.Lock()
			_ = sh.ps.Close() // unblocks the shard's read
			sh.mu.Unlock()
		}
		if b.push != nil {
			_ = b.push.Close()
		}
	}
	b.closeMu.Unlock()
	b.wg.Wait()
	return nil
}

// recentSet remembers the last n hashes added, so that an event heard on several channels
// is handed on once. Duplicates arrive within milliseconds of each other; n bounds memory.
type recentSet struct {
	mu   sync.Mutex
	set  map[uint64]struct{}
	ring []uint64
	next int
}

func newRecentSet(n int) *recentSet {
	return &recentSet{set: make(map[uint64]struct{}, n), ring: make([]uint64, 0, n)}
}

// add reports whether h is new, and remembers it.
func (r *recentSet) add(h uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.set[h]; ok {
		return false
	}
	if len(r.ring) < cap(r.ring) {
		r.ring = append(r.ring, h)
	} else {
		delete(r.set, r.ring[r.next])
		r.ring[r.next] = h
		r.next = (r.next + 1) % len(r.ring)
	}
	r.set[h] = struct{}{}
	return true
}
