package chat

import (
	"context"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Changes to messages after they are sent: edits, deletes, reactions and pins. Each takes
// the room's next rev with the change (MessageChangeStore) and is published once as
// MESSAGE_UPDATED with the whole message as it now is; a reader keeps, per message, the
// state with the highest rev. Changes never move lastSeq or an unread count.

// Limits of rich messages.
const (
	// MaxEmoji is how many distinct emoji a message's reactions may have.
	MaxEmoji = 20
	// MaxPins is how many pinned messages a room may have.
	MaxPins = 50
	// MaxMentions is how many users one message may mention.
	MaxMentions = 50
	// MaxChangesPage is the largest page of GET /rooms/{roomId}/changes.
	MaxChangesPage = 500
	// maxEmojiBytes bounds one emoji (a flag or a family sequence is a few code points).
	maxEmojiBytes = 32
)

// MessageEdit is the input of EditMessage. Mentions nil keeps the message's; a list (empty
// included) replaces them.
type MessageEdit struct {
	Text     string    `json:"text"`
	Mentions *[]string `json:"mentions"`
}

// ChangesPage is the answer of GET /rooms/{roomId}/changes.
type ChangesPage struct {
	Messages []Message `json:"messages"`
	LastRev  int64     `json:"lastRev"`
	HasMore  bool      `json:"hasMore"`
}

// MessageUpdated is the data of MESSAGE_UPDATED.
type MessageUpdated struct {
	Message Message `json:"message"`
}

// MediaRemover deletes a deleted message's media from storage (the file and its
// thumbnail). Optional: without it, media stays in storage after its message is deleted.
type MediaRemover interface {
	RemoveMedia(ctx context.Context, mediaID string) error
}

// SetMediaRemover makes DeleteMessage remove the message's media from storage.
func (s *Service) SetMediaRemover(r MediaRemover) { s.mediaRemover = r }

// EditMessage replaces the text (and, when given, the mentions) of the caller's text message.
func (s *Service) EditMessage(ctx context.Context, callerID, roomID, messageID string, in MessageEdit) (Message, error) {
	text, err := s.checkText(in.Text)
	if err != nil {
		return Message{}, err
	}
	m, a, err := s.loadForChange(ctx, callerID, roomID, messageID, false)
	if err != nil {
		return Message{}, err
	}
	if err := mayEditMessage(a); err != nil {
		return Message{}, err
	}
	mentions := m.Mentions
	if in.Mentions != nil {
		if mentions, err = s.checkMentions(ctx, roomID, *in.Mentions); err != nil {
			return Message{}, err
		}
	}
	before := m.Mentions
	m, changed, err := s.applyChange(ctx, Change{Kind: ChangeEdit, RoomID: roomID, MessageID: messageID, Text: text, Mentions: mentions})
	if err != nil {
		return Message{}, err
	}
	// A member the edit newly mentions is pushed (even in a room they muted); one
	// mentioned before is not pushed again.
	var added []string
	for _, id := range m.Mentions {
		if !slices.Contains(before, id) {
			added = append(added, id)
		}
	}
	if changed && len(added) > 0 && s.push != nil {
		job := s.pushJob(m)
		job.UserIDs = added
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.PublishTimeout)
		s.enqueuePush(pctx, job)
		cancel()
	}
	return m, nil
}

// DeleteMessage turns a message into a tombstone and removes its media from storage.
// Deleting a deleted message is no error.
func (s *Service) DeleteMessage(ctx context.Context, callerID, roomID, messageID string) error {
	// With the room: a group's owner and admins may delete others' messages.
	m, a, err := s.loadForChange(ctx, callerID, roomID, messageID, true)
	if err != nil {
		return err
	}
	if err := mayDeleteMessage(a); err != nil {
		return err
	}
	return s.removeMessage(ctx, m)
}

// removeMessage tombstones m and removes its media: DeleteMessage once its rule allowed
// it, and an administrator's resolution of a report.
func (s *Service) removeMessage(ctx context.Context, m Message) error {
	roomID, messageID := m.RoomID, m.ID
	_, changed, err := s.applyChange(ctx, Change{Kind: ChangeDelete, RoomID: roomID, MessageID: messageID})
	if err != nil {
		return err
	}
	if changed && m.MediaID != "" && s.mediaRemover != nil {
		// The tombstone is stored: removing the file must not depend on the client
		// waiting for it.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.PublishTimeout)
		defer cancel()
		if err := s.mediaRemover.RemoveMedia(rctx, m.MediaID); err != nil {
			s.log.Warn("media of a deleted message not removed", "message", messageID, "media", m.MediaID, "err", err)
		}
	}
	return nil
}

// React adds the caller's reaction with emoji; again is no change.
func (s *Service) React(ctx context.Context, callerID, roomID, messageID, emoji string) (Message, error) {
	return s.reaction(ctx, callerID, roomID, messageID, emoji, ChangeReact)
}

// Unreact removes the caller's reaction with emoji; none is no change.
func (s *Service) Unreact(ctx context.Context, callerID, roomID, messageID, emoji string) (Message, error) {
	return s.reaction(ctx, callerID, roomID, messageID, emoji, ChangeUnreact)
}

func (s *Service) reaction(ctx context.Context, callerID, roomID, messageID, emoji string, kind ChangeKind) (Message, error) {
	if err := CheckEmoji(emoji); err != nil {
		return Message{}, err
	}
	// The rule needs the membership only (cached): a storm of reactions reads no message
	// before its write, and the store answers for one that does not exist.
	if err := s.may(ctx, roomID, callerID, mayReact); err != nil {
		return Message{}, err
	}
	if messageID == "" {
		return Message{}, messageNotFound()
	}
	m, _, err := s.applyChange(ctx, Change{Kind: kind, RoomID: roomID, MessageID: messageID, UserID: callerID, Emoji: emoji})
	return m, err
}

// Pin pins a message of the room; a pinned one is no change.
func (s *Service) Pin(ctx context.Context, callerID, roomID, messageID string) (Message, error) {
	return s.pin(ctx, callerID, roomID, messageID, ChangePin)
}

// Unpin unpins a message of the room; one not pinned is no change.
func (s *Service) Unpin(ctx context.Context, callerID, roomID, messageID string) (Message, error) {
	return s.pin(ctx, callerID, roomID, messageID, ChangeUnpin)
}

func (s *Service) pin(ctx context.Context, callerID, roomID, messageID string, kind ChangeKind) (Message, error) {
	_, a, err := s.loadForChange(ctx, callerID, roomID, messageID, true)
	if err != nil {
		return Message{}, err
	}
	if err := mayPin(a); err != nil {
		return Message{}, err
	}
	m, _, err := s.applyChange(ctx, Change{Kind: kind, RoomID: roomID, MessageID: messageID, UserID: callerID})
	return m, err
}

// Pins returns the room's pinned messages, most recently pinned first.
func (s *Service) Pins(ctx context.Context, callerID, roomID string) ([]Message, error) {
	if err := s.may(ctx, roomID, callerID, mayRead); err != nil {
		return nil, err
	}
	msgs, err := s.changes.Pins(ctx, roomID)
	if err != nil {
		return nil, err
	}
	return msgs, s.finish(ctx, roomID, msgs)
}

// Changes returns the current state of the room's messages changed (or created) after
// afterRev, ascending by rev. LastRev is the room's counter as read before the page: a
// client that got everything (HasMore false) may continue from the highest rev it got.
func (s *Service) Changes(ctx context.Context, callerID, roomID string, afterRev int64, limit int) (ChangesPage, error) {
	if afterRev < 0 {
		return ChangesPage{}, Errorf(Invalid, "bad_request", "afterRev is not negative")
	}
	if limit < 0 || limit > MaxChangesPage {
		return ChangesPage{}, Errorf(Invalid, "bad_request", "limit is between 1 and %d", MaxChangesPage)
	}
	limit = clamp(limit, 100, MaxChangesPage)
	if err := s.may(ctx, roomID, callerID, mayRead); err != nil {
		return ChangesPage{}, err
	}
	r, err := s.rooms.Room(ctx, roomID)
	if err != nil {
		return ChangesPage{}, err
	}
	msgs, more, err := s.changes.Changes(ctx, roomID, afterRev, limit)
	if err != nil {
		return ChangesPage{}, err
	}
	if err := s.finish(ctx, roomID, msgs); err != nil {
		return ChangesPage{}, err
	}
	if msgs == nil {
		msgs = []Message{}
	}
	return ChangesPage{Messages: msgs, LastRev: r.LastRev, HasMore: more}, nil
}

// loadForChange checks that the caller is a member (a stranger learns nothing of the
// message) and returns the message with what the rules of a change need; withRoom loads
// the room too (a rule that depends on its kind).
func (s *Service) loadForChange(ctx context.Context, callerID, roomID, messageID string, withRoom bool) (Message, Access, error) {
	if err := s.may(ctx, roomID, callerID, mayRead); err != nil {
		return Message{}, Access{}, err
	}
	if messageID == "" {
		return Message{}, Access{}, messageNotFound()
	}
	m, err := s.changes.Message(ctx, roomID, messageID)
	if IsNotFound(err) {
		return Message{}, Access{}, messageNotFound()
	}
	if err != nil {
		return Message{}, Access{}, err
	}
	a := Access{Member: true, UserID: callerID, Message: &m}
	if withRoom {
		r, err := s.rooms.Room(ctx, roomID)
		if err != nil {
			return Message{}, Access{}, err
		}
		a.Room = &r
		// The stored role, read now: a dismissed admin must not pin on a stale cache.
		mb, err := s.members.Member(ctx, roomID, callerID)
		if IsNotFound(err) {
			return Message{}, Access{}, roomNotFound()
		}
		if err != nil {
			return Message{}, Access{}, err
		}
		a.Role = roleOf(&r, mb)
	}
	return m, a, nil
}

// applyChange stores a change with the limits filled in and, when it changed something,
// publishes the message.
func (s *Service) applyChange(ctx context.Context, c Change) (Message, bool, error) {
	c.At, c.MaxEmoji, c.MaxPins = s.cfg.Now(), MaxEmoji, MaxPins
	m, changed, err := s.changes.ChangeMessage(ctx, c)
	if IsNotFound(err) { // deleted from under the change
		return Message{}, false, messageNotFound()
	}
	if err != nil {
		return Message{}, false, err
	}
	if err := s.setUnreadOne(ctx, &m); err != nil {
		return Message{}, false, err
	}
	s.describe(ctx, &m)
	if changed {
		// A reaction's event may wait for the others of its window (updates.go).
		held := (c.Kind == ChangeReact || c.Kind == ChangeUnreact) && s.updates.offer(m.ID, m)
		if !held {
			s.deliverChange(ctx, m)
		}
	}
	return m, changed, nil
}

// deliverChange publishes MESSAGE_UPDATED and takes the change out of the pending ones, on
// a context the client's hang-up cannot cancel; what fails stays for the relay.
func (s *Service) deliverChange(ctx context.Context, m Message) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.PublishTimeout)
	defer cancel()
	if !s.announceUpdated(ctx, m) {
		return
	}
	if err := s.changes.MarkChangePublished(ctx, m.RoomID, m.ID, m.Rev); err != nil {
		s.log.Warn("outbox: mark change published failed", "message", m.ID, "rev", m.Rev, "err", err)
	}
}

// announceUpdated publishes one MESSAGE_UPDATED, encoded once for every session.
func (s *Service) announceUpdated(ctx context.Context, m Message) bool {
	return s.publish(ctx, Event{Type: EventMessageUpdated, RoomID: m.RoomID, Rev: m.Rev}, MessageUpdated{Message: m}) == nil
}

// checkText validates an edited text as a sent one is.
func (s *Service) checkText(text string) (string, error) {
	in, err := checkNewMessage(NewMessage{ClientMsgID: "edit", Type: MessageText, Text: text}, s.cfg.MaxTextRunes, false)
	return in.Text, err
}

// checkMentions returns the mentioned users, each once, or bad_mention when one is not a
// member of the room.
func (s *Service) checkMentions(ctx context.Context, roomID string, ids []string) ([]string, error) {
	ids = UniqueIDs(ids)
	if len(ids) > MaxMentions {
		return nil, Errorf(Invalid, "bad_mention", "a message mentions at most %d users", MaxMentions)
	}
	for _, id := range ids {
		ok, err := s.membership.isMember(ctx, roomID, id, s.loadMembers)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, Errorf(Invalid, "bad_mention", "user %q is not a member of the room", id)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return ids, nil
}

// checkReply returns the message a new one replies to, or bad_reply when it is not a
// message of the room.
func (s *Service) checkReply(ctx context.Context, roomID, replyToID string) error {
	if _, err := s.changes.Message(ctx, roomID, replyToID); IsNotFound(err) {
		return Errorf(Invalid, "bad_reply", "replyToId is not a message of this room")
	} else if err != nil {
		return err
	}
	return nil
}

// CheckEmoji reports whether e may be a reaction: 1 to 32 bytes of UTF-8 without spaces
// or control characters.
func CheckEmoji(e string) error {
	if e == "" || len(e) > maxEmojiBytes || !utf8.ValidString(e) {
		return Errorf(Invalid, "bad_emoji", "an emoji is 1 to %d bytes of UTF-8", maxEmojiBytes)
	}
	if strings.IndexFunc(e, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return Errorf(Invalid, "bad_emoji", "an emoji has no spaces or control characters")
	}
	return nil
}

func messageNotFound() error { return Errorf(NotFound, "message_not_found", "no such message") }
