package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ServiceConfig configures a Service. Zero values take the defaults noted.
type ServiceConfig struct {
	NodeID          string           // origin of published events; default a new id
	MaxTextRunes    int              // longest message text; default 4000
	MaxRoomMembers  int              // largest group; default 10000
	MaxResumeRooms  int              // rooms one RESUME may name; default 1000
	MaxResumeCount  int              // messages one RESUME or re-sync replays in all; default 5000
	Now             func() time.Time // default time.Now
	Logger          *slog.Logger     // default slog.Default()
	OnPublishFailed func(eventType string, err error)
	// MembershipTTL bounds how long a cached room membership is trusted without a
	// ROOM_UPDATED event (a removed member may still post on another node for that long
	// while the bus is down); default 10 s. MembershipRooms bounds the cache; default 10000.
	MembershipTTL   time.Duration
	MembershipRooms int
}

// Service applies ChatChat's rules on top of a Store, a Bus and a PresenceService: who may
// see and do what, seq and read-cursor semantics, and which events each change publishes.
// The API server and the chat server both call it; it holds no connection state.
type Service struct {
	cfg      ServiceConfig
	store    Store
	bus      Bus
	presence PresenceService
	log      *slog.Logger
	media    MediaResolver
	members  *memberCache
	push     PushQueue
}

// MediaResolver attaches uploaded media to messages. Optional: without it, image and file
// messages are refused.
type MediaResolver interface {
	// AttachMedia checks that mediaID was uploaded to roomID, marks it used and returns it.
	AttachMedia(ctx context.Context, roomID, mediaID string) (Media, error)
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
		cfg.MaxResumeRooms = 1000
	}
	if cfg.MaxResumeCount <= 0 {
		cfg.MaxResumeCount = 5000
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
	return &Service{cfg: cfg, store: store, bus: bus, presence: presence, log: cfg.Logger,
		members: newMemberCache(cfg.MembershipTTL, cfg.MembershipRooms, cfg.Now)}
}

// SetMediaResolver enables image and file messages.
func (s *Service) SetMediaResolver(m MediaResolver) { s.media = m }

// SetPushQueue makes SendMessage queue one push job per created message, the durable path
// to the notification workers (FCM_TOKEN_MESSAGE on the bus stays, at most once).
func (s *Service) SetPushQueue(q PushQueue) { s.push = q }

// NodeID is the origin this service stamps on the events it publishes.
func (s *Service) NodeID() string { return s.cfg.NodeID }

// ---- users and presence ----

// User returns a user's profile.
func (s *Service) User(ctx context.Context, userID string) (User, error) {
	u, err := s.store.User(ctx, userID)
	if IsNotFound(err) {
		return User{}, Errorf(NotFound, "user_not_found", "no such user")
	}
	return u, err
}

// UserWithPresence returns a user's profile with their presence.
func (s *Service) UserWithPresence(ctx context.Context, userID string) (User, error) {
	u, err := s.User(ctx, userID)
	if err != nil {
		return User{}, err
	}
	ps, err := s.presence.Statuses(ctx, []string{userID})
	if err != nil {
		return User{}, fmt.Errorf("presence: %w", err)
	}
	u.Presence = &ps[0]
	return u, nil
}

// SearchUsers finds users by username or display-name prefix.
func (s *Service) SearchUsers(ctx context.Context, q string, limit int) ([]User, error) {
	q = strings.TrimSpace(q)
	if q == "" {
		return nil, Errorf(Invalid, "bad_request", "q is required")
	}
	if utf8.RuneCountInString(q) > 64 {
		return nil, Errorf(Invalid, "bad_request", "q is too long")
	}
	limit = clamp(limit, 20, 50)
	return s.store.SearchUsers(ctx, q, limit)
}

// Presence returns the presence of up to 100 users.
func (s *Service) Presence(ctx context.Context, userIDs []string) ([]Presence, error) {
	if len(userIDs) == 0 {
		return nil, Errorf(Invalid, "bad_request", "userIds is required")
	}
	if len(userIDs) > 100 {
		return nil, Errorf(Invalid, "bad_request", "at most 100 userIds")
	}
	return s.presence.Statuses(ctx, userIDs)
}

// Heartbeat records a live session's activity and announces the user coming online.
func (s *Service) Heartbeat(ctx context.Context, hb Heartbeat) error {
	came, err := s.presence.Touch(ctx, hb)
	if err != nil {
		return fmt.Errorf("presence: touch: %w", err)
	}
	if came {
		s.publishPresence(ctx, hb.UserID)
	}
	return nil
}

// SessionClosed records a closed session and announces the user going offline when it was
// their last.
func (s *Service) SessionClosed(ctx context.Context, userID, sessionID string) error {
	gone, err := s.presence.Leave(ctx, userID, sessionID)
	if err != nil {
		return fmt.Errorf("presence: leave: %w", err)
	}
	if gone {
		s.publishPresence(ctx, userID)
	}
	return nil
}

func (s *Service) publishPresence(ctx context.Context, userID string) {
	ps, err := s.presence.Statuses(ctx, []string{userID})
	if err != nil {
		s.log.Warn("presence lookup failed", "user", userID, "err", err)
		return
	}
	rooms, err := s.store.UserRoomIDs(ctx, userID)
	if err != nil {
		s.log.Warn("rooms lookup failed", "user", userID, "err", err)
		return
	}
	if len(rooms) == 0 {
		return
	}
	s.publish(ctx, Event{Type: EventPresenceUpdated, RoomIDs: rooms}, ps[0])
}

// ---- rooms ----

// NewRoom is the input of CreateRoom.
type NewRoom struct {
	Type      string   `json:"type"`
	Name      string   `json:"name"`
	MemberIDs []string `json:"memberIds"`
}

// CreateRoom creates a group, or returns the direct room between the caller and the other
// member (created false) when one exists.
func (s *Service) CreateRoom(ctx context.Context, callerID string, in NewRoom) (Room, bool, error) {
	name := strings.TrimSpace(in.Name)
	if err := checkName(name); err != nil {
		return Room{}, false, err
	}
	others := uniqueWithout(in.MemberIDs, callerID)
	switch in.Type {
	case RoomDirect:
		if len(others) != 1 {
			return Room{}, false, Errorf(Invalid, "bad_request", "a direct room has exactly one other member")
		}
	case RoomGroup:
		if len(others)+1 > s.cfg.MaxRoomMembers {
			return Room{}, false, Errorf(Invalid, "too_many_members", "a room has at most %d members", s.cfg.MaxRoomMembers)
		}
	default:
		return Room{}, false, Errorf(Invalid, "bad_request", `type must be "direct" or "group"`)
	}
	if err := s.checkUsersExist(ctx, others); err != nil {
		return Room{}, false, err
	}
	members := append([]string{callerID}, others...)
	now := s.cfg.Now()
	if in.Type == RoomDirect {
		key := DirectKey(callerID, others[0])
		if r, err := s.store.DirectRoom(ctx, key); err == nil {
			r, err = s.rejoinDirect(ctx, r, members, now)
			return r, false, err
		} else if !IsNotFound(err) {
			return Room{}, false, err
		}
		r := Room{ID: NewID(), Type: RoomDirect, Name: name, MemberIDs: members, CreatedAt: At(now)}
		err := s.store.CreateRoom(ctx, r, key)
		if IsConflict(err) { // created concurrently: return the winner
			r, err = s.store.DirectRoom(ctx, key)
			if err != nil {
				return Room{}, false, err
			}
			r, err = s.rejoinDirect(ctx, r, members, now)
			return r, false, err
		}
		if err != nil {
			return Room{}, false, err
		}
		s.publishRoom(ctx, r, nil)
		return r, true, nil
	}
	r := Room{ID: NewID(), Type: RoomGroup, Name: name, MemberIDs: members, CreatedAt: At(now)}
	if err := s.store.CreateRoom(ctx, r, ""); err != nil {
		return Room{}, false, err
	}
	s.publishRoom(ctx, r, nil)
	return r, true, nil
}

// rejoinDirect puts back a member who had left a direct room that is asked for again.
func (s *Service) rejoinDirect(ctx context.Context, r Room, members []string, now time.Time) (Room, error) {
	var missing []string
	for _, id := range members {
		if !r.HasMember(id) {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return r, nil
	}
	if _, err := s.store.AddMembers(ctx, r.ID, missing, now); err != nil {
		return Room{}, err
	}
	r, err := s.store.Room(ctx, r.ID)
	if err != nil {
		return Room{}, err
	}
	s.publishRoom(ctx, r, nil)
	return r, nil
}

// Rooms returns the caller's rooms, most recently active first, each with the caller's
// unread count and the last message.
func (s *Service) Rooms(ctx context.Context, callerID string) ([]Room, error) {
	urs, err := s.store.UserRooms(ctx, callerID)
	if err != nil {
		return nil, err
	}
	rooms := make([]Room, 0, len(urs))
	for _, ur := range urs {
		r := ur.Room
		unread := max(r.LastSeq-ur.LastReadSeq, 0)
		muted := ur.MutedByUser
		r.UnreadCount, r.Muted = &unread, &muted
		if r.LastMessage != nil {
			last := *r.LastMessage
			if err := s.setUnreadOne(ctx, &last); err != nil {
				return nil, err
			}
			s.describe(ctx, &last)
			r.LastMessage = &last
		}
		rooms = append(rooms, r)
	}
	return rooms, nil
}

// Room returns a room the caller is a member of, with every member's cursor.
func (s *Service) Room(ctx context.Context, callerID, roomID string) (Room, error) {
	if _, err := s.member(ctx, roomID, callerID); err != nil {
		return Room{}, err
	}
	r, err := s.store.Room(ctx, roomID)
	if err != nil {
		return Room{}, err
	}
	members, err := s.store.Members(ctx, roomID)
	if err != nil {
		return Room{}, err
	}
	r.Members = members
	for _, m := range members {
		if m.UserID == callerID {
			unread, muted := max(r.LastSeq-m.LastReadSeq, 0), m.Muted
			r.UnreadCount, r.Muted = &unread, &muted
		}
	}
	return r, nil
}

// AddMembers adds users to a group the caller is a member of.
func (s *Service) AddMembers(ctx context.Context, callerID, roomID string, userIDs []string) (Room, error) {
	if _, err := s.member(ctx, roomID, callerID); err != nil {
		return Room{}, err
	}
	r, err := s.store.Room(ctx, roomID)
	if err != nil {
		return Room{}, err
	}
	if r.Type != RoomGroup {
		return Room{}, Errorf(Invalid, "not_a_group", "members can be added to group rooms only")
	}
	ids := uniqueWithout(userIDs, "")
	if len(ids) == 0 {
		return Room{}, Errorf(Invalid, "bad_request", "userIds is required")
	}
	if len(r.MemberIDs)+len(ids) > s.cfg.MaxRoomMembers {
		return Room{}, Errorf(Invalid, "too_many_members", "a room has at most %d members", s.cfg.MaxRoomMembers)
	}
	if err := s.checkUsersExist(ctx, ids); err != nil {
		return Room{}, err
	}
	added, err := s.store.AddMembers(ctx, roomID, ids, s.cfg.Now())
	if err != nil {
		return Room{}, err
	}
	if r, err = s.store.Room(ctx, roomID); err != nil {
		s.members.invalidate(roomID)
		return Room{}, err
	}
	if len(added) > 0 {
		s.publishRoom(ctx, r, nil)
	}
	return r, nil
}

// Leave removes the caller from a room.
func (s *Service) Leave(ctx context.Context, callerID, roomID string) error {
	if _, err := s.member(ctx, roomID, callerID); err != nil {
		return err
	}
	if err := s.store.RemoveMember(ctx, roomID, callerID); err != nil {
		if IsNotFound(err) { // left concurrently
			return roomNotFound()
		}
		return err
	}
	r, err := s.store.Room(ctx, roomID)
	if err != nil {
		// The membership changed but cannot be announced: at least this node's cache
		// must not keep the caller as a member.
		s.members.invalidate(roomID)
		return err
	}
	s.publishRoom(ctx, r, []string{callerID})
	return nil
}

// SetMuted sets whether the caller gets push notifications for a room.
func (s *Service) SetMuted(ctx context.Context, callerID, roomID string, muted bool) (Room, error) {
	if _, err := s.member(ctx, roomID, callerID); err != nil {
		return Room{}, err
	}
	if err := s.store.SetMuted(ctx, roomID, callerID, muted); err != nil {
		return Room{}, err
	}
	return s.Room(ctx, callerID, roomID)
}

// UserRoomIDs returns the ids of the rooms a user is a member of.
func (s *Service) UserRoomIDs(ctx context.Context, userID string) ([]string, error) {
	return s.store.UserRoomIDs(ctx, userID)
}

// UserRoomSeqs returns the rooms a user is a member of with each room's last seq: where a
// chat server's re-sync of that room would start.
func (s *Service) UserRoomSeqs(ctx context.Context, userID string) (map[string]int64, error) {
	return s.store.UserRoomSeqs(ctx, userID)
}

// Focus records that a session views a room: messages created while it does are read by
// the user at once.
func (s *Service) Focus(ctx context.Context, userID, sessionID, roomID string) error {
	if err := s.checkMember(ctx, roomID, userID); err != nil {
		return err
	}
	return s.presence.Focus(ctx, roomID, userID, sessionID)
}

// Unfocus records that a session no longer views a room.
func (s *Service) Unfocus(ctx context.Context, userID, sessionID, roomID string) error {
	if roomID == "" {
		return Errorf(Invalid, "bad_request", "roomId is required")
	}
	return s.presence.Unfocus(ctx, roomID, userID, sessionID)
}

// Typing tells a room's other members that the user is typing.
func (s *Service) Typing(ctx context.Context, userID, roomID string) error {
	if err := s.checkMember(ctx, roomID, userID); err != nil {
		return err
	}
	return s.publish(ctx, Event{Type: EventTyping, RoomID: roomID, Exclude: userID}, Typing{RoomID: roomID, UserID: userID})
}

// ---- messages ----

// NewMessage is the input of SendMessage.
type NewMessage struct {
	ClientMsgID string `json:"clientMsgId"`
	Type        string `json:"type"`
	Text        string `json:"text"`
	MediaID     string `json:"mediaId"`
}

// SendMessage stores a message from the caller and publishes it. A clientMsgId the caller
// used before returns the stored message with created false, and publishes nothing.
func (s *Service) SendMessage(ctx context.Context, callerID, roomID string, in NewMessage) (Message, bool, error) {
	if n := len(in.ClientMsgID); n > 64 {
		return Message{}, false, Errorf(Invalid, "bad_request", "clientMsgId is longer than 64 bytes")
	} else if n == 0 {
		in.ClientMsgID = NewID() // not idempotent, but a curl user need not invent one
	}
	if in.Type == "" {
		in.Type = MessageText
	}
	text := strings.TrimSpace(in.Text)
	if !utf8.ValidString(text) {
		return Message{}, false, Errorf(Invalid, "bad_request", "text is not valid UTF-8")
	}
	if utf8.RuneCountInString(text) > s.cfg.MaxTextRunes {
		return Message{}, false, Errorf(TooLarge, "text_too_long", "text is longer than %d characters", s.cfg.MaxTextRunes)
	}
	switch in.Type {
	case MessageText:
		if text == "" {
			return Message{}, false, Errorf(Invalid, "empty_text", "text is empty")
		}
		if in.MediaID != "" {
			return Message{}, false, Errorf(Invalid, "bad_request", "a text message has no mediaId")
		}
	case MessageImage, MessageFile:
		if in.MediaID == "" {
			return Message{}, false, Errorf(Invalid, "bad_request", "mediaId is required for %s messages", in.Type)
		}
		if s.media == nil {
			return Message{}, false, Errorf(Invalid, "media_disabled", "media is not enabled on this server")
		}
	default:
		return Message{}, false, Errorf(Invalid, "bad_request", `type must be "text", "image" or "file"`)
	}
	if err := s.checkMember(ctx, roomID, callerID); err != nil {
		return Message{}, false, err
	}
	var media *Media
	if in.MediaID != "" {
		md, err := s.media.AttachMedia(ctx, roomID, in.MediaID)
		if err != nil {
			return Message{}, false, err
		}
		if in.Type == MessageImage && !strings.HasPrefix(md.ContentType, "image/") {
			return Message{}, false, Errorf(Invalid, "not_an_image", "media %s is not an image", in.MediaID)
		}
		media = &md
	}
	advance := []string{callerID}
	if viewers, err := s.presence.Viewers(ctx, roomID); err != nil {
		s.log.Warn("viewers lookup failed; message counts as unread for them", "room", roomID, "err", err)
	} else {
		advance = append(advance, viewers...)
	}
	m := Message{
		ID: NewID(), RoomID: roomID, SenderID: callerID, ClientMsgID: in.ClientMsgID,
		Type: in.Type, Text: text, MediaID: in.MediaID, CreatedAt: At(s.cfg.Now()),
	}
	m, created, err := s.store.CreateMessage(ctx, m, advance)
	if err != nil {
		return Message{}, false, err
	}
	if !created && m.RoomID != roomID {
		return Message{}, false, Errorf(Conflict, "client_msg_id_reused", "clientMsgId %q was used for a message in another room", in.ClientMsgID)
	}
	if err := s.setUnreadOne(ctx, &m); err != nil {
		return Message{}, false, err
	}
	if media != nil {
		m.Media = media
	}
	s.describe(ctx, &m)
	if created {
		// One encoding for both events; the seed's FCM_TOKEN_MESSAGE is skipped when the
		// bus just failed, rather than waiting out a second timeout.
		if data, err := json.Marshal(MessageCreated{Message: m}); err != nil {
			s.log.Error("encode message", "id", m.ID, "err", err)
		} else if s.publishRaw(ctx, Event{Type: EventMessageCreated, RoomID: roomID, Data: data}) == nil {
			s.publishRaw(ctx, Event{Type: EventFCMTokenMessage, RoomID: roomID, Data: data})
		}
		s.enqueuePush(ctx, m)
	}
	return m, created, nil
}

// enqueuePush queues the message's push job. Like a publish, a failure is logged and
// reported, not returned: the message is stored, only its pushes are lost.
func (s *Service) enqueuePush(ctx context.Context, m Message) {
	if s.push == nil {
		return
	}
	m.Media = nil // signed URLs expire; the worker needs only the type
	if err := s.push.Enqueue(ctx, PushJob{Message: m, EnqueuedAt: s.cfg.Now().UnixMilli()}); err != nil {
		s.log.Warn("push enqueue failed", "room", m.RoomID, "message", m.ID, "err", err)
		if s.cfg.OnPublishFailed != nil {
			s.cfg.OnPublishFailed("PUSH_JOB", err)
		}
	}
}

// History returns a page of a room's messages for a member.
func (s *Service) History(ctx context.Context, callerID, roomID string, q HistoryQuery) ([]Message, bool, error) {
	if q.AfterSeq < 0 || q.BeforeSeq < 0 {
		return nil, false, Errorf(Invalid, "bad_request", "afterSeq and beforeSeq are not negative")
	}
	if q.Limit < 0 || q.Limit > 100 {
		return nil, false, Errorf(Invalid, "bad_request", "limit is between 1 and 100")
	}
	q.Limit = clamp(q.Limit, 50, 100)
	if err := s.checkMember(ctx, roomID, callerID); err != nil {
		return nil, false, err
	}
	msgs, more, err := s.store.Messages(ctx, roomID, q)
	if err != nil {
		return nil, false, err
	}
	if err := s.finish(ctx, roomID, msgs); err != nil {
		return nil, false, err
	}
	return msgs, more, nil
}

// MarkRead moves the caller's read cursor forward and tells the room.
func (s *Service) MarkRead(ctx context.Context, callerID, roomID string, seq int64) (ReadReceipt, error) {
	if seq < 0 {
		return ReadReceipt{}, Errorf(Invalid, "bad_request", "seq is not negative")
	}
	before, err := s.member(ctx, roomID, callerID)
	if err != nil {
		return ReadReceipt{}, err
	}
	after, err := s.store.AdvanceReadCursor(ctx, roomID, callerID, seq)
	if IsNotFound(err) {
		return ReadReceipt{}, roomNotFound()
	}
	if err != nil {
		return ReadReceipt{}, err
	}
	rr := ReadReceipt{RoomID: roomID, UserID: callerID, LastReadSeq: after}
	if after > before.LastReadSeq {
		s.publish(ctx, Event{Type: EventReadReceiptUpdated, RoomID: roomID}, rr)
	}
	return rr, nil
}

// Resume returns, for each named room the user is a member of, the messages after the
// given seq, ascending per room, oldest rooms' ids first, MaxResumeCount messages in all: a
// client that was away longer pages the rest with history (PROTOCOL.md's GET messages).
// Rooms the user is not in are skipped silently: a RESUME must not tell a stranger which
// rooms exist.
func (s *Service) Resume(ctx context.Context, userID string, rooms map[string]int64) ([]Message, error) {
	if len(rooms) > s.cfg.MaxResumeRooms {
		return nil, Errorf(Invalid, "bad_request", "RESUME names at most %d rooms", s.cfg.MaxResumeRooms)
	}
	ids := make([]string, 0, len(rooms))
	for id := range rooms {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var out []Message
	for _, id := range ids {
		if len(out) >= s.cfg.MaxResumeCount {
			break
		}
		if err := s.checkMember(ctx, id, userID); IsNotFound(err) {
			continue
		} else if err != nil {
			return nil, err
		}
		msgs, err := s.messagesAfter(ctx, id, rooms[id], s.cfg.MaxResumeCount-len(out))
		if err != nil {
			return nil, err
		}
		out = append(out, msgs...)
	}
	return out, nil
}

// MessagesAfter returns a room's messages after seq, MaxResumeCount at most. It checks no
// membership: the chat server uses it to re-sync sessions it already routes.
func (s *Service) MessagesAfter(ctx context.Context, roomID string, afterSeq int64) ([]Message, error) {
	return s.messagesAfter(ctx, roomID, afterSeq, s.cfg.MaxResumeCount)
}

func (s *Service) messagesAfter(ctx context.Context, roomID string, afterSeq int64, limit int) ([]Message, error) {
	if afterSeq < 0 {
		afterSeq = 0
	}
	var out []Message
	for len(out) < limit {
		page, more, err := s.store.Messages(ctx, roomID, HistoryQuery{AfterSeq: afterSeq, Forward: true, Limit: min(100, limit-len(out))})
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if !more || len(page) == 0 {
			break
		}
		afterSeq = page[len(page)-1].Seq
	}
	if err := s.finish(ctx, roomID, out); err != nil {
		return nil, err
	}
	return out, nil
}

// finish computes unread counts and media URLs of messages of one room.
func (s *Service) finish(ctx context.Context, roomID string, msgs []Message) error {
	if len(msgs) == 0 {
		return nil
	}
	members, err := s.store.Members(ctx, roomID)
	if err != nil {
		return err
	}
	setUnread(members, msgs)
	for i := range msgs {
		s.describe(ctx, &msgs[i])
	}
	return nil
}

func (s *Service) describe(ctx context.Context, m *Message) {
	if s.media != nil && m.MediaID != "" {
		s.media.DescribeMedia(ctx, m)
	}
}

// setUnreadOne sets one message's unread count: with one count query where the store can
// (UnreadCounter), else from the room's member cursors.
func (s *Service) setUnreadOne(ctx context.Context, m *Message) error {
	if uc, ok := s.store.(UnreadCounter); ok {
		n, err := uc.UnreadCount(ctx, m.RoomID, m.SenderID, m.Seq)
		if err != nil {
			return err
		}
		m.UnreadCount = n
		return nil
	}
	members, err := s.store.Members(ctx, m.RoomID)
	if err != nil {
		return err
	}
	one := []Message{*m}
	setUnread(members, one)
	*m = one[0]
	return nil
}

// setUnread sets each message's unread count: the members other than its sender whose
// cursor is below its seq.
func setUnread(members []Member, msgs []Message) {
	cursors := make([]int64, len(members))
	for i, m := range members {
		cursors[i] = m.LastReadSeq
	}
	slices.Sort(cursors)
	for i := range msgs {
		m := &msgs[i]
		below, _ := slices.BinarySearch(cursors, m.Seq) // members with cursor < seq
		for _, mb := range members {
			if mb.UserID == m.SenderID && mb.LastReadSeq < m.Seq {
				below--
				break
			}
		}
		m.UnreadCount = max(below, 0)
	}
}

// ---- helpers ----

// member returns the caller's membership; a room the caller is not in is reported exactly
// like a room that does not exist.
func (s *Service) member(ctx context.Context, roomID, userID string) (Member, error) {
	if roomID == "" {
		return Member{}, Errorf(Invalid, "bad_request", "roomId is required")
	}
	m, err := s.store.Member(ctx, roomID, userID)
	if IsNotFound(err) {
		return Member{}, roomNotFound()
	}
	return m, err
}

func roomNotFound() error { return Errorf(NotFound, "room_not_found", "no such room") }

func (s *Service) checkUsersExist(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	users, err := s.store.UsersByIDs(ctx, ids)
	if err != nil {
		return err
	}
	if len(users) != len(ids) {
		return Errorf(Invalid, "unknown_user", "some memberIds are not users")
	}
	return nil
}

func (s *Service) publishRoom(ctx context.Context, r Room, alsoTo []string) {
	// Every membership change passes here: this node's cache is current at once, the
	// others' when the event reaches them.
	s.members.invalidate(r.ID)
	s.publish(ctx, Event{Type: EventRoomUpdated, RoomID: r.ID, UserIDs: alsoTo}, RoomUpdated{Room: r})
}

// publish encodes data once and publishes the event. A failure is logged and reported but
// not returned to the API caller: what was stored stays stored, and clients re-sync.
func (s *Service) publish(ctx context.Context, ev Event, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encode %s: %w", ev.Type, err)
	}
	ev.Data = b
	return s.publishRaw(ctx, ev)
}

// publishRaw publishes an event whose data is already encoded.
func (s *Service) publishRaw(ctx context.Context, ev Event) error {
	ev.Origin, ev.At = s.cfg.NodeID, s.cfg.Now().UnixMilli()
	if err := s.bus.Publish(ctx, ev); err != nil {
		s.log.Warn("publish failed", "type", ev.Type, "room", ev.RoomID, "err", err)
		if s.cfg.OnPublishFailed != nil {
			s.cfg.OnPublishFailed(ev.Type, err)
		}
		return Errorf(Unavailable, "bus_unavailable", "events are not being delivered right now")
	}
	return nil
}

func checkName(name string) error {
	if utf8.RuneCountInString(name) > 100 {
		return Errorf(Invalid, "bad_request", "name is longer than 100 characters")
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return Errorf(Invalid, "bad_request", "name has control characters")
		}
	}
	return nil
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
