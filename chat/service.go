package chat

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// ServiceConfig configures a Service. Zero values take the defaults noted.
type ServiceConfig struct {
	NodeID          string           // origin of published events; default a new id
	MaxTextRunes    int              // longest message text; default 4000
	MaxRoomMembers  int              // largest group; default 10000
	MaxResumeRooms  int              // rooms one RESUME may name (a frame holds about 1,500); default 5000
	MaxResumeCount  int              // messages one RESUME or re-sync replays in all; default 5000
	MaxResumeBytes  int              // about the bytes one RESUME or re-sync replays; default 1 MiB
	Now             func() time.Time // default time.Now
	Logger          *slog.Logger     // default slog.Default()
	OnPublishFailed func(eventType string, err error)
	// MembershipTTL bounds how long a cached room membership is trusted without a
	// ROOM_UPDATED event (a removed member may still post on another node for that long
	// while the bus is down); default 10 s. MembershipRooms bounds the cache; default 10000.
	MembershipTTL   time.Duration
	MembershipRooms int
	// PublishTimeout bounds the publishing that follows a stored message. It runs on a
	// context detached from the request, so that a client hanging up cannot cancel it;
	// what does not go out in time is left to the outbox relay. Default 5 s.
	PublishTimeout time.Duration
	// DeliveryReceiptWindow is how long DELIVERY_RECEIPT_UPDATED events are coalesced:
	// at most one per member per window, the latest cursor winning (delivery.go).
	// Default 250 ms. DeliveryReceiptMax bounds the members held between two flushes;
	// default 10000.
	DeliveryReceiptWindow time.Duration
	DeliveryReceiptMax    int
	// UpdateWindow is how long a reaction's MESSAGE_UPDATED is held so that one event
	// carries every reaction to the message in that time (updates.go). Default 100 ms.
	// UpdateMax bounds the messages held between two flushes; default 10000.
	UpdateWindow time.Duration
	UpdateMax    int
	// AfterStore, when set, is called after a message is stored and before it is
	// published: a test hook that stands for the process dying there.
	AfterStore func(Message)
}

// Service applies ChatChat's rules on top of a Store, a Bus and a PresenceService: who may
// see and do what, seq and read-cursor semantics, and which events each change publishes.
// The API server and the chat server both call it; it holds no connection state.
type Service struct {
	cfg ServiceConfig
	// The store, by use.
	users    UserStore
	rooms    RoomStore
	members  MemberStore
	mod      ModerationStore
	cursors  CursorStore
	messages MessageStore
	outbox   OutboxStore
	admins   UserAdminStore
	audit    AuditStore
	blocks   BlockStore
	reports  ReportStore
	userdata UserDataStore
	heads    RoomHeadStore
	userData UserDataSources
	sessions SessionEnder

	deliveries DeliveryStore
	changes    MessageChangeStore
	mentions   MentionStore
	search     MessageSearch // nil: search answers 503
	retention  RetentionStore

	bus        Bus
	presence   PresenceService
	log        *slog.Logger
	media      MediaResolver
	membership *memberCache
	push       PushQueue
	receipts   *coalescer[receiptKey, DeliveryReceipt]
	updates    *coalescer[string, Message]

	mediaRemover MediaRemover
}

// MediaResolver attaches uploaded media to messages. Optional: without it, image and file
// messages are refused.
type MediaResolver interface {
	// AttachMedia checks that senderID may use mediaID in a message of roomID (see
	// MayAttachMedia), marks it used and returns it; wasAttached tells whether a message
	// used it before this call.
	AttachMedia(ctx context.Context, roomID, senderID, mediaID string) (m Media, wasAttached bool, err error)
	// DetachMedia undoes the AttachMedia of a send that failed before its message was
	// stored, so that an upload nobody sent stays its uploader's and is collected.
	DetachMedia(ctx context.Context, mediaID string) error
	// DescribeMedia fills signed URLs into m.Media for the reader.
	DescribeMedia(ctx context.Context, m *Message)
}

// NewService returns a Service.
func NewService(cfg ServiceConfig, store Store, bus Bus, presence PresenceService) *Service {
	if cfg.NodeID == "" {
		cfg.NodeID = NewID()
	}
	if cfg.MaxTextRunes <= 0 {
		cfg.MaxTextRunes = 4000
	}
	if cfg.MaxRoomMembers <= 0 {
		cfg.MaxRoomMembers = 10000
	}
	if cfg.MaxResumeRooms <= 0 {
		cfg.MaxResumeRooms = 5000
	}
	if cfg.MaxResumeCount <= 0 {
		cfg.MaxResumeCount = 5000
	}
	if cfg.MaxResumeBytes <= 0 {
		cfg.MaxResumeBytes = 1 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MembershipTTL <= 0 {
		cfg.MembershipTTL = 10 * time.Second
	}
	if cfg.MembershipRooms <= 0 {
		cfg.MembershipRooms = 10000
	}
	if cfg.PublishTimeout <= 0 {
		cfg.PublishTimeout = 5 * time.Second
	}
	if cfg.DeliveryReceiptWindow <= 0 {
		cfg.DeliveryReceiptWindow = 250 * time.Millisecond
	}
	if cfg.DeliveryReceiptMax <= 0 {
		cfg.DeliveryReceiptMax = 10000
	}
	if cfg.UpdateWindow <= 0 {
		cfg.UpdateWindow = 100 * time.Millisecond
	}
	if cfg.UpdateMax <= 0 {
		cfg.UpdateMax = 10000
	}
	svc := &Service{cfg: cfg,
		users: store, rooms: store, members: store, mod: store, cursors: store, deliveries: store, messages: store, outbox: store,
		admins: store, audit: store, blocks: store, reports: store, userdata: store, heads: store, changes: store, mentions: store, retention: store,
		bus: bus, presence: presence, log: cfg.Logger, receipts: newReceiptCoalescer(cfg.DeliveryReceiptMax), updates: newUpdateCoalescer(cfg.UpdateMax),
		membership: newMemberCache(cfg.MembershipTTL, cfg.MembershipRooms, cfg.Now)}
	if ms, ok := store.(MessageSearch); ok {
		svc.search = ms
	}
	return svc
}

// SetSessionEnder lets administrators' suspensions end the suspended user's sessions;
// without it a suspension only refuses logins.
func (s *Service) SetSessionEnder(e SessionEnder) { s.sessions = e }

// SetMediaResolver enables image and file messages.
func (s *Service) SetMediaResolver(m MediaResolver) { s.media = m }

// SetPushQueue makes SendMessage queue one push job per created message, the durable path
// to the notification workers (FCM_TOKEN_MESSAGE on the bus stays, at most once).
func (s *Service) SetPushQueue(q PushQueue) { s.push = q }

// NodeID is the origin this service stamps on the events it publishes.
func (s *Service) NodeID() string { return s.cfg.NodeID }

func (s *Service) publishRoom(ctx context.Context, r Room, alsoTo []string) {
	// Every membership change passes here: this node's cache is current at once, the
	// others' when the event reaches them.
	s.membership.invalidate(r.ID)
	s.publish(ctx, Event{Type: EventRoomUpdated, RoomID: r.ID, UserIDs: alsoTo}, RoomUpdated{Room: r})
}

// publish encodes data once and publishes the event. A failure is logged and reported but
// not returned to the API caller: what was stored stays stored, and clients re-sync.
func (s *Service) publish(ctx context.Context, ev Event, data any) error {
	b, err := MarshalJSON(data)
	if err != nil {
		return fmt.Errorf("encode %s: %w", ev.Type, err)
	}
	ev.Data = b
	return s.publishRaw(ctx, ev)
}

// publishRaw publishes an event whose data is already encoded.
func (s *Service) publishRaw(ctx context.Context, ev Event) error {
	s.stamp(&ev)
	if err := s.bus.Publish(ctx, ev); err != nil {
		s.log.Warn("publish failed", "type", ev.Type, "room", ev.RoomID, "err", err)
		s.reportFailure(ev.Type, err)
		return Errorf(Unavailable, "bus_unavailable", "events are not being delivered right now")
	}
	return nil
}

// stamp sets the envelope's origin and time.
func (s *Service) stamp(ev *Event) { ev.Origin, ev.At = s.cfg.NodeID, s.cfg.Now().UnixMilli() }

func (s *Service) reportFailure(what string, err error) {
	if s.cfg.OnPublishFailed != nil {
		s.cfg.OnPublishFailed(what, err)
	}
}

// uniqueWithout is UniqueIDs without drop.
func uniqueWithout(ids []string, drop string) []string {
	return slices.DeleteFunc(UniqueIDs(ids), func(id string) bool { return id == drop })
}

func clamp(v, def, hi int) int {
	if v <= 0 {
		return def
	}
	return min(v, hi)
}
