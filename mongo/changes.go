package mongo

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chatchat/chatchat/chat"
)

var _ chat.MessageChangeStore = (*Store)(nil)

const colReactions = "reactions"

func (s *Store) reactions() *mongo.Collection { return s.db().Collection(colReactions) }

// reactionDoc is one user's reaction with one emoji to one message: a reaction is one
// small insert, never a rewrite of a document that grows with every reactor. The unique
// (messageId, emoji, userId) index makes PUT idempotent; At orders emoji by first use.
type reactionDoc struct {
	ID        bson.ObjectID `bson:"_id"`
	MessageID string        `bson:"messageId"`
	RoomID    string        `bson:"roomId"`
	Emoji     string        `bson:"emoji"`
	UserID    string        `bson:"userId"`
	At        bson.DateTime `bson:"at"`
}

// maxRevAttempts bounds the revs one change takes: each attempt that finds a later rev
// already on the message takes another. Under a storm of changes to one message a few
// are needed; a hundred means something else is wrong.
const maxRevAttempts = 100

// Without transactions a change is two writes, ordered so that the message's new rev
// always covers the new state:
//
//  1. What lives outside the message document first: a reaction inserted or removed.
//  2. Take the room's next rev ($inc on the room, atomic), then update the message with
//     that rev, on condition that its rev is still below it (and the state the change
//     needs: not deleted, the emoji limit, pinned or not). A message whose rev moved past
//     ours in between (a concurrent change took a later rev and landed first) is not
//     overwritten: the change takes a fresh rev and tries again, so the message's final
//     state is the one with its highest rev. A rev taken and not used is a gap, which
//     readers skip (revs increase, they need not be consecutive).
//
// The update also sets changePendingAt, the change's outbox mark, cleared once
// MESSAGE_UPDATED went out; the relay publishes what stays pending. A process that dies
// between 1 and 2 leaves a reaction stored but not on a new rev: reads show it, and the
// message's next change (or a repeated PUT/DELETE of that reaction, see below) publishes
// it. docs/mongodb.md has the details.

// ChangeMessage implements chat.MessageChangeStore.
func (s *Store) ChangeMessage(ctx context.Context, c chat.Change) (chat.Message, bool, error) {
	what := "change message " + c.MessageID
	d, err := s.messageDocIn(ctx, what, c.RoomID, c.MessageID)
	if err != nil {
		return chat.Message{}, false, err
	}
	deleted := d.DeletedAt != nil
	if deleted && (c.Kind == chat.ChangeEdit || c.Kind == chat.ChangeReact || c.Kind == chat.ChangePin) {
		return chat.Message{}, false, fmt.Errorf("mongo: %s: %w", what, chat.ErrMessageDeleted)
	}
	at := date(c.At)
	notDeleted := bson.E{Key: "deletedAt", Value: bson.D{{Key: "$exists", Value: false}}}
	var (
		cond  bson.D
		set   bson.D
		unset bson.D
		extra bson.D // other operators of the update
	)
	switch c.Kind {
	case chat.ChangeEdit:
		cond = bson.D{notDeleted}
		set = bson.D{{Key: "text", Value: c.Text}, {Key: "mentions", Value: chat.UniqueIDs(c.Mentions)}, {Key: "editedAt", Value: at},
			{Key: "tokens", Value: chat.SearchTokens(c.Text)}}
	case chat.ChangeDelete:
		if deleted {
			return s.current(ctx, what, d, false)
		}
		cond = bson.D{notDeleted}
		set = bson.D{{Key: "text", Value: ""}, {Key: "mediaId", Value: ""}, {Key: "deletedAt", Value: at}}
		unset = bson.D{{Key: "replyToId", Value: ""}, {Key: "mentions", Value: ""}, {Key: "pinnedAt", Value: ""},
			{Key: "pinnedBy", Value: ""}, {Key: "emojis", Value: ""}, {Key: "tokens", Value: ""}}
	case chat.ChangeReact:
		_, err := s.reactions().InsertOne(ctx, reactionDoc{ID: bson.NewObjectID(), MessageID: c.MessageID, RoomID: c.RoomID,
			Emoji: c.Emoji, UserID: c.UserID, At: date(time.Now())})
		if mongo.IsDuplicateKeyError(err) {
			return s.current(ctx, what, d, false)
		}
		if err != nil {
			return chat.Message{}, false, s.fail(ctx, what+": insert reaction", err)
		}
		// A new emoji needs a free place among the message's at most MaxEmoji.
		cond = bson.D{notDeleted, {Key: "$or", Value: bson.A{
			bson.D{{Key: "emojis", Value: c.Emoji}},
			bson.D{{Key: fmt.Sprintf("emojis.%d", c.MaxEmoji-1), Value: bson.D{{Key: "$exists", Value: false}}}},
		}}}
		extra = bson.D{{Key: "$addToSet", Value: bson.D{{Key: "emojis", Value: c.Emoji}}}}
	case chat.ChangeUnreact:
		res, err := s.reactions().DeleteOne(ctx, bson.D{{Key: "messageId", Value: c.MessageID}, {Key: "emoji", Value: c.Emoji}, {Key: "userId", Value: c.UserID}})
		if err != nil {
			return chat.Message{}, false, s.fail(ctx, what+": delete reaction", err)
		}
		if res.DeletedCount == 0 {
			return s.current(ctx, what, d, false)
		}
		n, err := s.reactions().CountDocuments(ctx, bson.D{{Key: "messageId", Value: c.MessageID}, {Key: "emoji", Value: c.Emoji}})
		if err != nil {
			return chat.Message{}, false, s.fail(ctx, what+": count reactions", err)
		}
		if n == 0 {
			extra = bson.D{{Key: "$pull", Value: bson.D{{Key: "emojis", Value: c.Emoji}}}}
		}
	case chat.ChangePin:
		if d.PinnedAt != nil {
			return s.current(ctx, what, d, false)
		}
		// Counted before the write: concurrent pins of one room can pass the limit by
		// the number racing (docs/mongodb.md).
		n, err := s.messages().CountDocuments(ctx, bson.D{{Key: "roomId", Value: c.RoomID}, {Key: "pinnedAt", Value: bson.D{{Key: "$exists", Value: true}}}})
		if err != nil {
			return chat.Message{}, false, s.fail(ctx, what+": count pins", err)
		}
		if n >= int64(c.MaxPins) {
			return chat.Message{}, false, fmt.Errorf("mongo: %s: %w", what, chat.ErrTooManyPins)
		}
		cond = bson.D{notDeleted, {Key: "pinnedAt", Value: bson.D{{Key: "$exists", Value: false}}}}
		set = bson.D{{Key: "pinnedAt", Value: at}, {Key: "pinnedBy", Value: c.UserID}}
	case chat.ChangeUnpin:
		if d.PinnedAt == nil {
			return s.current(ctx, what, d, false)
		}
		cond = bson.D{{Key: "pinnedAt", Value: bson.D{{Key: "$exists", Value: true}}}}
		unset = bson.D{{Key: "pinnedAt", Value: ""}, {Key: "pinnedBy", Value: ""}}
	default:
		return chat.Message{}, false, fmt.Errorf("mongo: %s: unknown change kind %d", what, c.Kind)
	}

	for attempt := 0; ; attempt++ {
		if attempt == maxRevAttempts {
			return chat.Message{}, false, fmt.Errorf("mongo: %s: no rev after %d attempts", what, attempt)
		}
		rev, err := s.nextRev(ctx, what, c.RoomID)
		if err != nil {
			return chat.Message{}, false, err
		}
		filter := append(bson.D{{Key: "_id", Value: c.MessageID}, {Key: "rev", Value: bson.D{{Key: "$lt", Value: rev}}}}, cond...)
		update := append(bson.D{{Key: "$set", Value: append(bson.D{{Key: "rev", Value: rev}, {Key: "changePendingAt", Value: at}}, set...)}}, extra...)
		if len(unset) > 0 {
			update = append(update, bson.E{Key: "$unset", Value: unset})
		}
		// The document as this update left it, not as a later change may have by the
		// time it is read again: the answer carries this change's own rev.
		var after messageDoc // fresh: decoding leaves the fields an $unset removed as they were
		err = s.messages().FindOneAndUpdate(ctx, filter, update, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&after)
		if err == nil {
			d = after
			break
		}
		if !isNoDocuments(err) {
			return chat.Message{}, false, s.fail(ctx, what, err)
		}
		// Why not: a later rev landed first (try again), or the state the change needs
		// is gone.
		now, err := s.messageDocIn(ctx, what, c.RoomID, c.MessageID)
		if err != nil {
			return chat.Message{}, false, err
		}
		if stop, err := s.refused(ctx, what, c, now); stop || err != nil {
			if err != nil {
				return chat.Message{}, false, err
			}
			return s.current(ctx, what, now, false)
		}
	}
	if c.Kind == chat.ChangeDelete {
		if _, err := s.reactions().DeleteMany(ctx, bson.D{{Key: "messageId", Value: c.MessageID}}); err != nil {
			// Reads leave a tombstone's reactions out; these are only garbage.
			s.logger.Warn("mongo: reactions of a deleted message left behind", "message", c.MessageID, "err", err)
		}
	}
	if c.Kind == chat.ChangeEdit || c.Kind == chat.ChangeDelete {
		s.refreshLastMessage(ctx, what, d)
	}
	return s.current(ctx, what, d, true)
}

// refused reports whether the change can no longer be made to the message as it now is:
// stop without an error when it has been made already (by a concurrent equal change), or
// the error the caller sees. Neither means a later rev is there and the change goes on.
func (s *Store) refused(ctx context.Context, what string, c chat.Change, d messageDoc) (bool, error) {
	undo := func(err error) (bool, error) {
		if c.Kind == chat.ChangeReact { // the reaction inserted for nothing
			if _, derr := s.reactions().DeleteOne(ctx, bson.D{{Key: "messageId", Value: c.MessageID}, {Key: "emoji", Value: c.Emoji}, {Key: "userId", Value: c.UserID}}); derr != nil {
				s.logger.Warn("mongo: a refused reaction left behind", "message", c.MessageID, "err", derr)
			}
		}
		return true, fmt.Errorf("mongo: %s: %w", what, err)
	}
	switch {
	case d.DeletedAt != nil && c.Kind == chat.ChangeDelete:
		return true, nil
	case d.DeletedAt != nil && c.Kind != chat.ChangeUnreact && c.Kind != chat.ChangeUnpin:
		return undo(chat.ErrMessageDeleted)
	case c.Kind == chat.ChangeReact && len(d.Emojis) >= c.MaxEmoji && !contains(d.Emojis, c.Emoji):
		return undo(chat.ErrTooManyReactions)
	case c.Kind == chat.ChangePin && d.PinnedAt != nil, c.Kind == chat.ChangeUnpin && d.PinnedAt == nil:
		return true, nil
	}
	return false, nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// nextRev increments the room's change counter and returns it.
func (s *Store) nextRev(ctx context.Context, what, roomID string) (int64, error) {
	var d struct {
		LastRev int64 `bson:"lastRev"`
	}
	err := s.rooms().FindOneAndUpdate(ctx,
		bson.D{{Key: "_id", Value: roomID}},
		bson.D{{Key: "$inc", Value: bson.D{{Key: "lastRev", Value: int64(1)}}}},
		options.FindOneAndUpdate().SetReturnDocument(options.After),
	).Decode(&d)
	if err != nil {
		return 0, s.notFound(ctx, what+": take rev", err)
	}
	return d.LastRev, nil
}

// refreshLastMessage updates the room list's copy of the message when it is the room's
// last one, unless the copy is as new already.
func (s *Store) refreshLastMessage(ctx context.Context, what string, d messageDoc) {
	d.IdemKey, d.ChangePendingAt, d.PendingAt, d.Tokens = "", nil, nil, nil
	_, err := s.rooms().UpdateOne(ctx,
		bson.D{{Key: "_id", Value: d.RoomID}, {Key: "lastMessageSeq", Value: d.Seq}, {Key: "lastMessage.rev", Value: bson.D{{Key: "$lt", Value: d.Rev}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "lastMessage", Value: d}}}})
	if err != nil {
		// The copy shows the older text until the room's next message replaces it.
		s.logger.Warn("mongo: room list's last message not refreshed", "what", what, "err", err)
	}
}

// messageDocIn reads one message of the room.
func (s *Store) messageDocIn(ctx context.Context, what, roomID, messageID string) (messageDoc, error) {
	var d messageDoc
	err := s.messages().FindOne(ctx, bson.D{{Key: "_id", Value: messageID}, {Key: "roomId", Value: roomID}}).Decode(&d)
	if err != nil {
		return messageDoc{}, s.notFound(ctx, what, err)
	}
	return d, nil
}

// current returns d completed (reactions, replyTo).
func (s *Store) current(ctx context.Context, what string, d messageDoc, changed bool) (chat.Message, bool, error) {
	msgs, err := s.complete(ctx, what, []messageDoc{d})
	if err != nil {
		return chat.Message{}, false, err
	}
	return msgs[0], changed, nil
}

// complete turns a page of message documents into messages with their reactions and the
// messages they reply to: two batched queries for the whole page ($in), never one per
// message.
func (s *Store) complete(ctx context.Context, what string, docs []messageDoc) ([]chat.Message, error) {
	msgs := make([]chat.Message, 0, len(docs))
	if len(docs) == 0 {
		return msgs, nil
	}
	ids, replyIDs := make([]string, 0, len(docs)), []string{}
	for _, d := range docs {
		msgs = append(msgs, d.message())
		if d.DeletedAt == nil {
			ids = append(ids, d.ID)
		}
		if d.ReplyToID != "" {
			replyIDs = append(replyIDs, d.ReplyToID)
		}
	}
	if len(ids) > 0 {
		cur, err := s.reactions().Find(ctx, bson.D{{Key: "messageId", Value: bson.D{{Key: "$in", Value: ids}}}},
			options.Find().SetSort(bson.D{{Key: "messageId", Value: 1}, {Key: "at", Value: 1}, {Key: "_id", Value: 1}}))
		if err != nil {
			return nil, s.fail(ctx, what+": reactions", err)
		}
		var rs []reactionDoc
		if err := cur.All(ctx, &rs); err != nil {
			return nil, s.fail(ctx, what+": reactions", err)
		}
		index := make(map[string]int, len(msgs))
		for i := range msgs {
			index[msgs[i].ID] = i
		}
		for _, r := range rs {
			m := &msgs[index[r.MessageID]]
			m.Reactions = addReaction(m.Reactions, r.Emoji, r.UserID)
		}
	}
	if len(replyIDs) > 0 {
		cur, err := s.messages().Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: chat.UniqueIDs(replyIDs)}}}},
			options.Find().SetProjection(bson.D{{Key: "seq", Value: 1}, {Key: "senderId", Value: 1}, {Key: "type", Value: 1},
				{Key: "text", Value: 1}, {Key: "deletedAt", Value: 1}, {Key: "roomId", Value: 1}}))
		if err != nil {
			return nil, s.fail(ctx, what+": replies", err)
		}
		var targets []messageDoc
		if err := cur.All(ctx, &targets); err != nil {
			return nil, s.fail(ctx, what+": replies", err)
		}
		byID := make(map[string]messageDoc, len(targets))
		for _, t := range targets {
			byID[t.ID] = t
		}
		for i := range msgs {
			if t, ok := byID[msgs[i].ReplyToID]; ok && msgs[i].ReplyToID != "" {
				msgs[i].ReplyTo = chat.NewReplyTo(t.ID, t.Seq, t.SenderID, t.Type, t.Text, t.DeletedAt != nil)
			}
		}
	}
	return msgs, nil
}

// addReaction adds one reactor to a message's reactions, in order of first use.
func addReaction(list []chat.Reaction, emoji, userID string) []chat.Reaction {
	for i := range list {
		if list[i].Emoji == emoji {
			list[i].Count++
			list[i].UserIDs = append(list[i].UserIDs, userID)
			return list
		}
	}
	return append(list, chat.Reaction{Emoji: emoji, Count: 1, UserIDs: []string{userID}})
}

// Message implements chat.MessageChangeStore.
func (s *Store) Message(ctx context.Context, roomID, messageID string) (chat.Message, error) {
	what := "message " + messageID
	d, err := s.messageDocIn(ctx, what, roomID, messageID)
	if err != nil {
		return chat.Message{}, err
	}
	m, _, err := s.current(ctx, what, d, false)
	return m, err
}

// maxChangesPage bounds Changes whatever the caller asks.
const maxChangesPage = 500

// findMessages runs a find on messages and completes what it finds.
func (s *Store) findMessages(ctx context.Context, what string, filter bson.D, opts *options.FindOptionsBuilder) ([]chat.Message, error) {
	cur, err := s.messages().Find(ctx, filter, opts.SetProjection(bson.D{{Key: "idemKey", Value: 0}, {Key: "tokens", Value: 0}}))
	if err != nil {
		return nil, s.fail(ctx, what, err)
	}
	var docs []messageDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, s.fail(ctx, what, err)
	}
	return s.complete(ctx, what, docs)
}

// Changes implements chat.MessageChangeStore: a range of the (roomId, rev) index.
func (s *Store) Changes(ctx context.Context, roomID string, afterRev int64, limit int) ([]chat.Message, bool, error) {
	limit = min(max(limit, 1), maxChangesPage)
	msgs, err := s.findMessages(ctx, "changes of "+roomID,
		bson.D{{Key: "roomId", Value: roomID}, {Key: "rev", Value: bson.D{{Key: "$gt", Value: max(afterRev, 0)}}}},
		options.Find().SetSort(bson.D{{Key: "rev", Value: 1}}).SetLimit(int64(limit+1)))
	if err != nil {
		return nil, false, err
	}
	more := len(msgs) > limit
	if more {
		msgs = msgs[:limit]
	}
	return msgs, more, nil
}

// Pins implements chat.MessageChangeStore.
func (s *Store) Pins(ctx context.Context, roomID string) ([]chat.Message, error) {
	return s.findMessages(ctx, "pins of "+roomID,
		bson.D{{Key: "roomId", Value: roomID}, {Key: "pinnedAt", Value: bson.D{{Key: "$exists", Value: true}}}},
		options.Find().SetSort(bson.D{{Key: "pinnedAt", Value: -1}, {Key: "rev", Value: -1}}))
}

// MarkChangePublished implements chat.MessageChangeStore: the mark goes only if no later
// change came since.
func (s *Store) MarkChangePublished(ctx context.Context, roomID, messageID string, rev int64) error {
	_, err := s.messages().UpdateOne(ctx,
		bson.D{{Key: "_id", Value: messageID}, {Key: "rev", Value: rev}},
		bson.D{{Key: "$unset", Value: bson.D{{Key: "changePendingAt", Value: ""}}}})
	if err != nil {
		return s.fail(ctx, "mark change of "+messageID+" published", err)
	}
	return nil
}

// PendingChanges implements chat.MessageChangeStore: a range of the changePendingAt index.
func (s *Store) PendingChanges(ctx context.Context, before time.Time, limit int) ([]chat.Message, error) {
	return s.findMessages(ctx, "pending changes",
		bson.D{{Key: "changePendingAt", Value: bson.D{{Key: "$lte", Value: date(before)}}}},
		options.Find().SetSort(bson.D{{Key: "changePendingAt", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(int64(limit)))
}
