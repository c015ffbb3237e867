package chat

import (
	"context"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// NewMessage is the input of SendMessage.
type NewMessage struct {
	ClientMsgID string `json:"clientMsgId"`
	Type        string `json:"type"`
	Text        string `json:"text"`
	MediaID     string `json:"mediaId"`
	// ReplyToID names a message of the same room this one replies to.
	ReplyToID string `json:"replyToId"`
	// Mentions are members of the room the message mentions.
	Mentions []string `json:"mentions"`
}

// presenceTimeout bounds the viewers look-up of a send: without it the message counts as
// unread for the viewers, which is better than a send that waits on a hung presence store.
const presenceTimeout = 500 * time.Millisecond

// detachTimeout bounds giving back the media of a failed send, which outlives the request.
const detachTimeout = 5 * time.Second

// SendMessage stores a message from the caller and publishes it. A clientMsgId the caller
// used before returns the stored message with created false, and publishes nothing.
func (s *Service) SendMessage(ctx context.Context, callerID, roomID string, in NewMessage) (Message, bool, error) {
	in, err := checkNewMessage(in, s.cfg.MaxTextRunes, s.media != nil)
	if err != nil {
		return Message{}, false, err
	}
	if err := s.may(ctx, roomID, callerID, mayPost); err != nil {
		return Message{}, false, err
	}
	if blockers, err := s.directBlockers(ctx, roomID, callerID); err != nil {
		return Message{}, false, err
	} else if err := mayReach(blockers); err != nil {
		return Message{}, false, err
	}
	if in.ReplyToID != "" {
		if err := s.checkReply(ctx, roomID, in.ReplyToID); err != nil {
			return Message{}, false, err
		}
	}
	mentions, err := s.checkMentions(ctx, roomID, in.Mentions)
	if err != nil {
		return Message{}, false, err
	}
	// The media is attached before the message is stored, so that collection of unsent
	// uploads can never take media a stored message uses; a send that fails before its
	// message is stored detaches it again (detach).
	var media *Media
	detach := func() {}
	if in.MediaID != "" {
		md, was, err := s.media.AttachMedia(ctx, roomID, callerID, in.MediaID)
		if err != nil {
			return Message{}, false, err
		}
		if !was {
			detach = func() {
				dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), detachTimeout)
				defer cancel()
				if err := s.media.DetachMedia(dctx, in.MediaID); err != nil {
					s.log.Warn("detaching the media of a failed send failed; it stays attached", "media", in.MediaID, "err", err)
				}
			}
		}
		if in.Type == MessageImage && !strings.HasPrefix(md.ContentType, "image/") {
			detach()
			return Message{}, false, Errorf(Invalid, "not_an_image", "media %s is not an image", in.MediaID)
		}
		media = &md
	}
	advance := []string{callerID}
	vctx, cancel := context.WithTimeout(ctx, presenceTimeout)
	viewers, err := s.presence.Viewers(vctx, roomID)
	cancel()
	if err != nil {
		s.log.Warn("viewers lookup failed; message counts as unread for them", "room", roomID, "err", err)
	} else {
		advance = append(advance, viewers...)
	}
	m := Message{
		ID: NewID(), RoomID: roomID, SenderID: callerID, ClientMsgID: in.ClientMsgID,
		Type: in.Type, Text: in.Text, MediaID: in.MediaID, CreatedAt: At(s.cfg.Now()),
		ReplyToID: in.ReplyToID, Mentions: mentions,
	}
	m, created, err := s.messages.CreateMessage(ctx, m, advance)
	if err != nil || !created && m.MediaID != in.MediaID {
		detach()
	}
	if err != nil {
		return Message{}, false, err
	}
	if !created && m.RoomID != roomID {
		return Message{}, false, Errorf(Conflict, "client_msg_id_reused", "clientMsgId %q was used for a message in another room", in.ClientMsgID)
	}
	if !created { // the unread count of a stored message is counted now; a new one's came with the write
		if err := s.setUnreadOne(ctx, &m); err != nil {
			return Message{}, false, err
		}
	} else {
		// A new message has reached exactly the members who have read it: the sender and
		// the viewers the write advanced (no delivery cursor can be past a seq that was
		// just taken), so its undelivered count costs no query.
		m.UndeliveredCount = m.UnreadCount
	}
	if media != nil {
		m.Media = media
	}
	if m.ReplyToID != "" && m.ReplyTo == nil {
		if t, err := s.changes.Message(ctx, roomID, m.ReplyToID); err == nil {
			m.ReplyTo = NewReplyTo(t.ID, t.Seq, t.SenderID, t.Type, t.Text, t.Deleted())
		}
	}
	s.describe(ctx, &m)
	if created && s.cfg.AfterStore != nil {
		s.cfg.AfterStore(m)
	}
	if created {
		s.deliver(ctx, m)
	} else if pending, err := s.outbox.Pending(ctx, m.RoomID, m.ID); err != nil {
		s.log.Warn("outbox lookup failed; the relay will publish the message if it is pending", "message", m.ID, "err", err)
	} else if pending {
		// A retry of a send whose first attempt stored the message but did not publish
		// it (the client hung up, the process died): publish it now rather than wait
		// for the relay.
		s.deliver(ctx, m)
	}
	return m, created, nil
}

// deliver publishes a stored message and its push job, then takes it out of the outbox.
// It runs on a context detached from the request's (a client hanging up must not stop
// what the stored message owes the others) and bounded by PublishTimeout; whatever fails
// stays in the outbox for the relay.
func (s *Service) deliver(ctx context.Context, m Message) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.PublishTimeout)
	defer cancel()
	if !s.announceCreated(ctx, m) {
		return
	}
	if err := s.outbox.MarkPublished(ctx, m.RoomID, m.ID); err != nil {
		// Published but still pending: the relay publishes it again, and clients
		// drop the duplicate by id.
		s.log.Warn("outbox: mark published failed", "message", m.ID, "err", err)
	}
}

// announceCreated publishes a new message's events and queues its push job: in one round
// trip where the bus can (BatchPublisher), else one call each. Failures are logged and
// reported; it returns whether the event and the job both went out.
func (s *Service) announceCreated(ctx context.Context, m Message) bool {
	// One encoding for both events.
	data, err := MarshalJSON(MessageCreated{Message: m})
	if err != nil {
		s.log.Error("encode message", "id", m.ID, "err", err)
		return false
	}
	evs := []Event{
		{Type: EventMessageCreated, RoomID: m.RoomID, Seq: m.Seq, Rev: m.Rev, Data: data},
		{Type: EventFCMTokenMessage, RoomID: m.RoomID, Data: data},
	}
	var job *PushJob
	if s.push != nil {
		j := s.pushJob(m)
		job = &j
	}
	if bp, ok := s.bus.(BatchPublisher); ok {
		for i := range evs {
			s.stamp(&evs[i])
		}
		if sent, err := bp.PublishBatch(ctx, evs, s.push, job); sent {
			if err != nil {
				s.log.Warn("publish failed", "type", EventMessageCreated, "room", m.RoomID, "message", m.ID, "err", err)
				for _, ev := range evs {
					s.reportFailure(ev.Type, err)
				}
				if job != nil {
					s.reportFailure("PUSH_JOB", err)
				}
			}
			return err == nil
		}
	}
	// The seed's FCM_TOKEN_MESSAGE is skipped when the bus just failed, rather than
	// waiting out a second timeout. It is at most once by nature: its failure alone does
	// not keep the message in the outbox.
	published := s.publishRaw(ctx, evs[0]) == nil
	if published {
		s.publishRaw(ctx, evs[1])
	}
	queued := true
	if job != nil {
		queued = s.enqueuePush(ctx, *job)
	}
	return published && queued
}

// checkNewMessage validates a message to send and returns it normalised: a default
// clientMsgId and type, the text trimmed.
func checkNewMessage(in NewMessage, maxRunes int, mediaEnabled bool) (NewMessage, error) {
	if n := len(in.ClientMsgID); n > 64 {
		return in, Errorf(Invalid, "bad_request", "clientMsgId is longer than 64 bytes")
	} else if n == 0 {
		in.ClientMsgID = NewID() // not idempotent, but a curl user need not invent one
	}
	if in.Type == "" {
		in.Type = MessageText
	}
	in.Text = strings.TrimSpace(in.Text)
	if !utf8.ValidString(in.Text) {
		return in, Errorf(Invalid, "bad_request", "text is not valid UTF-8")
	}
	if utf8.RuneCountInString(in.Text) > maxRunes {
		return in, Errorf(TooLarge, "text_too_long", "text is longer than %d characters", maxRunes)
	}
	text, err := checkText(in.Text)
	if err != nil {
		return in, err
	}
	in.Text = text
	switch in.Type {
	case MessageText:
		if in.Text == "" {
			return in, Errorf(Invalid, "empty_text", "text is empty")
		}
		if in.MediaID != "" {
			return in, Errorf(Invalid, "bad_request", "a text message has no mediaId")
		}
	case MessageImage, MessageFile:
		if in.MediaID == "" {
			return in, Errorf(Invalid, "bad_request", "mediaId is required for %s messages", in.Type)
		}
		if !mediaEnabled {
			return in, Errorf(Invalid, "media_disabled", "media is not enabled on this server")
		}
	default:
		return in, Errorf(Invalid, "bad_request", `type must be "text", "image" or "file"`)
	}
	return in, nil
}

// pushJob returns the push job of a created message.
func (s *Service) pushJob(m Message) PushJob {
	m.Media = nil // signed URLs expire; the worker needs only the type
	return PushJob{Message: m, EnqueuedAt: s.cfg.Now().UnixMilli()}
}

// enqueuePush queues a push job. Like a publish, a failure is logged and reported, not
// returned: the message is stored, only its pushes are lost.
func (s *Service) enqueuePush(ctx context.Context, job PushJob) bool {
	if err := s.push.Enqueue(ctx, job); err != nil {
		s.log.Warn("push enqueue failed", "room", job.Message.RoomID, "message", job.Message.ID, "err", err)
		s.reportFailure("PUSH_JOB", err)
		return false
	}
	return true
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
	if err := s.may(ctx, roomID, callerID, mayRead); err != nil {
		return nil, false, err
	}
	msgs, more, err := s.messages.Messages(ctx, roomID, q)
	if err != nil {
		return nil, false, err
	}
	if err := s.finish(ctx, roomID, msgs); err != nil {
		return nil, false, err
	}
	return msgs, more, nil
}

// Resume is Replay without revs: the messages after the given seqs.
func (s *Service) Resume(ctx context.Context, userID string, rooms map[string]int64) (msgs []Message, complete bool, err error) {
	r, err := s.Replay(ctx, userID, ResumeRequest{Rooms: rooms})
	return r.Created, r.Complete, err
}

// ResumeRequest is the data of RESUME: per room, the last seq the client has, and
// optionally the last rev.
type ResumeRequest struct {
	Rooms map[string]int64 `json:"rooms"`
	Revs  map[string]int64 `json:"revs,omitempty"`
}

// Replay is the catch-up of a RESUME: per room, the messages created after its seq
// (Created, each in its current state), then the older messages changed after its rev
// (Updated). Revs holds, for each room of the request's revs, the rev up to which changes
// were replayed. Complete is false when a limit cut the replay.
type Replay struct {
	Created  []Message
	Updated  []Message
	Revs     map[string]int64
	Complete bool
}

// Replay returns, for each named room the user is a member of, the messages after the
// given seq, ascending per room, then (for the rooms in req.Revs) the messages at or below
// that seq whose rev is above the given rev, ascending by rev: oldest rooms' ids first, at
// most MaxResumeCount messages and about MaxResumeBytes of them in all. Rooms the user is
// not in are skipped silently: a RESUME must not tell a stranger which rooms exist.
func (s *Service) Replay(ctx context.Context, userID string, req ResumeRequest) (Replay, error) {
	rooms := req.Rooms
	if len(rooms) > s.cfg.MaxResumeRooms || len(req.Revs) > s.cfg.MaxResumeRooms {
		return Replay{}, Errorf(Invalid, "bad_request", "RESUME names at most %d rooms", s.cfg.MaxResumeRooms)
	}
	ids := make([]string, 0, len(rooms))
	for id := range rooms {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var out Replay
	if req.Revs != nil {
		out.Revs = map[string]int64{}
	}
	// Where each room stands, in one query: a room with nothing after the client's seq
	// and rev costs no more (a user resuming hundreds of quiet rooms once asked two
	// queries of each).
	heads, err := s.heads.RoomHeads(ctx, ids)
	if err != nil {
		return Replay{}, err
	}
	budget := replayBudget{count: s.cfg.MaxResumeCount, bytes: s.cfg.MaxResumeBytes}
	for _, id := range ids {
		if budget.spent() {
			break
		}
		head, exists := heads[id]
		if !exists {
			continue
		}
		if err := s.may(ctx, id, userID, mayRead); IsNotFound(err) {
			continue
		} else if err != nil {
			return Replay{}, err
		}
		if head.LastSeq > rooms[id] {
			page, err := s.messagesAfter(ctx, id, rooms[id], &budget)
			if err != nil {
				return Replay{}, err
			}
			out.Created = append(out.Created, page...)
		}
		rev, ok := req.Revs[id]
		if !ok {
			continue
		}
		out.Revs[id] = max(rev, 0)
		if head.LastRev <= rev {
			continue // nothing changed since
		}
		if budget.spent() {
			break
		}
		upd, reached, err := s.changesAfter(ctx, id, rooms[id], rev, &budget)
		if err != nil {
			return Replay{}, err
		}
		out.Updated = append(out.Updated, upd...)
		out.Revs[id] = reached
	}
	out.Complete = !budget.cut
	return out, nil
}

// changesAfter returns the room's messages with seq ≤ maxSeq and rev > afterRev, ascending
// by rev, within the budget, and the rev up to which it looked (the caller continues from
// there). Messages above maxSeq are left out: the client gets them, in their current
// state, as created ones.
func (s *Service) changesAfter(ctx context.Context, roomID string, maxSeq, afterRev int64, budget *replayBudget) ([]Message, int64, error) {
	afterRev = max(afterRev, 0)
	var out []Message
	for !budget.spent() {
		page, more, err := s.changes.Changes(ctx, roomID, afterRev, min(100, max(budget.count, 1)))
		if err != nil {
			return nil, 0, err
		}
		for i := range page {
			m := &page[i]
			if m.Seq <= maxSeq {
				if !budget.take(m, len(out) == 0) {
					more = true
					break
				}
				out = append(out, *m)
			}
			afterRev = m.Rev
		}
		if !more || len(page) == 0 || budget.cut {
			break
		}
	}
	if err := s.finish(ctx, roomID, out); err != nil {
		return nil, 0, err
	}
	return out, afterRev, nil
}

// MessagesAfter returns a room's messages after seq, within the replay limits
// (MaxResumeCount, MaxResumeBytes). It checks no membership: the chat server uses it to
// re-sync sessions it already routes.
func (s *Service) MessagesAfter(ctx context.Context, roomID string, afterSeq int64) ([]Message, error) {
	return s.messagesAfter(ctx, roomID, afterSeq, &replayBudget{count: s.cfg.MaxResumeCount, bytes: s.cfg.MaxResumeBytes})
}

// ChangesAfter returns a room's messages changed after afterRev, ascending by rev, within
// the replay limits. It checks no membership: the chat server uses it to re-sync the
// changes of rooms it already routes after a bus gap.
func (s *Service) ChangesAfter(ctx context.Context, roomID string, afterRev int64) ([]Message, error) {
	msgs, _, err := s.changesAfter(ctx, roomID, math.MaxInt64, afterRev, &replayBudget{count: s.cfg.MaxResumeCount, bytes: s.cfg.MaxResumeBytes})
	return msgs, err
}

// replayBudget is what is left of a replay's limits: messages, and bytes as they will be
// encoded (about: the text plus a fixed allowance for the other fields).
type replayBudget struct {
	count, bytes int
	cut          bool // a limit stopped the replay
}

// replayOverhead is the encoded size of a message's fields but its text, about.
const replayOverhead = 300

func (b *replayBudget) spent() bool {
	if b.count <= 0 || b.bytes <= 0 {
		b.cut = true
	}
	return b.cut
}

// take charges m and reports whether it still fits; the first message always does, so that
// a replay makes progress even past a huge one.
func (b *replayBudget) take(m *Message, first bool) bool {
	size := len(m.Text) + replayOverhead
	for _, r := range m.Reactions {
		size += len(r.Emoji) + len(r.UserIDs)*(len(m.SenderID)+3)
	}
	if !first && (b.count <= 0 || size > b.bytes) {
		b.cut = true
		return false
	}
	b.count--
	b.bytes -= size
	return true
}

func (s *Service) messagesAfter(ctx context.Context, roomID string, afterSeq int64, budget *replayBudget) ([]Message, error) {
	if afterSeq < 0 {
		afterSeq = 0
	}
	var out []Message
	for !budget.spent() {
		page, more, err := s.messages.Messages(ctx, roomID, HistoryQuery{AfterSeq: afterSeq, Forward: true, Limit: min(100, budget.count)})
		if err != nil {
			return nil, err
		}
		for i := range page {
			if !budget.take(&page[i], len(out) == 0) {
				more = true
				break
			}
			out = append(out, page[i])
		}
		if !more || len(page) == 0 || budget.cut {
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
	members, err := s.members.Members(ctx, roomID)
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
