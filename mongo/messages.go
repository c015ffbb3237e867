package mongo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chatchat/chatchat/chat"
)

// messageDoc is a message as stored. IdemKey makes the unique (senderId, idemKey) index the
// idempotency key: the client message id, or the message's own id for a message without
// one, so that those never collide and no partial index is needed.
type messageDoc struct {
	ID          string        `bson:"_id"`
	RoomID      string        `bson:"roomId"`
	Seq         int64         `bson:"seq"`
	SenderID    string        `bson:"senderId"`
	ClientMsgID string        `bson:"clientMsgId"`
	IdemKey     string        `bson:"idemKey,omitempty"`
	Type        string        `bson:"type"`
	Text        string        `bson:"text"`
	MediaID     string        `bson:"mediaId"`
	CreatedAt   bson.DateTime `bson:"createdAt"`
	// PendingAt is set while the message is in the outbox (chat.OutboxStore): in the
	// message's own document, so that storing it and making it pending are one write.
	PendingAt *bson.DateTime `bson:"pendingAt,omitempty"`

	// Rev is the room's change counter at the message's last change; messages stored
	// before revs existed have none and read as 0.
	Rev       int64          `bson:"rev"`
	ReplyToID string         `bson:"replyToId,omitempty"`
	Mentions  []string       `bson:"mentions,omitempty"`
	EditedAt  *bson.DateTime `bson:"editedAt,omitempty"`
	DeletedAt *bson.DateTime `bson:"deletedAt,omitempty"`
	PinnedAt  *bson.DateTime `bson:"pinnedAt,omitempty"`
	PinnedBy  string         `bson:"pinnedBy,omitempty"`
	// Emojis are the distinct emoji of the message's reactions (at most MaxEmoji): the
	// limit is a condition of the update that records a reaction. The reactions
	// themselves are documents of their own (changes.go).
	Emojis []string `bson:"emojis,omitempty"`
	// ChangePendingAt is set while the last change is not yet published.
	ChangePendingAt *bson.DateTime `bson:"changePendingAt,omitempty"`
	// Tokens are the prefixes of the text's words, what search matches (search.go).
	Tokens []string `bson:"tokens,omitempty"`
}

func (d messageDoc) message() chat.Message {
	m := chat.Message{
		ID: d.ID, RoomID: d.RoomID, Seq: d.Seq, SenderID: d.SenderID, ClientMsgID: d.ClientMsgID,
		Type: d.Type, Text: d.Text, MediaID: d.MediaID, CreatedAt: chat.At(fromDate(d.CreatedAt)),
		Rev: d.Rev, ReplyToID: d.ReplyToID, Mentions: d.Mentions, PinnedBy: d.PinnedBy,
	}
	m.EditedAt, m.DeletedAt, m.PinnedAt = datePtr(d.EditedAt), datePtr(d.DeletedAt), datePtr(d.PinnedAt)
	return m
}

func datePtr(d *bson.DateTime) *chat.Time {
	if d == nil {
		return nil
	}
	return chat.TimePtr(fromDate(*d))
}

// claimDoc records that a send with a client message id is under way. Its unique
// (senderId, clientMsgId) index decides which of concurrent sends with one client id stores
// the message; the others wait for it.
type claimDoc struct {
	MessageID   string        `bson:"_id"`
	SenderID    string        `bson:"senderId"`
	ClientMsgID string        `bson:"clientMsgId"`
	ClaimedAt   bson.DateTime `bson:"claimedAt"`
}

// idemKey is the stored idempotency key of m; the prefixes keep the two kinds apart.
func idemKey(m chat.Message) string {
	if m.ClientMsgID == "" {
		return "id:" + m.ID
	}
	return "c:" + m.ClientMsgID
}

// maxSeqAttempts bounds the seq allocations of one message. On MongoDB and DocumentDB the
// first always succeeds; more are needed only on a server whose $inc is not atomic (then
// two messages may be handed one seq, and the unique (roomId, seq) index sends the loser
// back for another).
const maxSeqAttempts = 100

// CreateMessage implements chat.MessageStore. An unknown room gives chat.ErrNotFound. The
// idempotency key is (sender, client id) across all rooms, so a caller should check that a
// returned message that was not created is in the room it asked for.
//
// Without transactions, the steps are ordered so that a failure between any two leaves
// nothing visible or something the next call repairs:
//
//  1. With a client id, insert a claim. Of concurrent sends with one client id, one
//     insert wins; the others wait until the winner's message is stored and return it.
//     Claiming before taking a seq means that a retry never burns a seq.
//  2. Take the room's next seq: $inc on the room document, which is atomic.
//  3. Insert the message with that seq. It is now visible in history.
//  4. Advance the listed members' read and delivery cursors with $max (idempotent).
//  5. Set the room's lastMessage, only if it holds a lower seq (idempotent, and a late
//     writer cannot overwrite a newer message).
//
// A retry that finds the message stored redoes step 5, in case the first attempt failed
// after step 3. A claim whose message has not appeared within the pending grace (its
// sender failed between steps 1 and 3) is taken over: the retry stores its own copy from
// step 2, and the unique (senderId, idemKey) index keeps a late first attempt from storing
// a second one. Only then can a seq be lost, the one the failed attempt took; clients that
// see the gap ask history for it, find nothing, and go on.
//
// Claims are kept (a few dozen bytes per message): deleting one would let a retry that
// arrives just then claim afresh and burn a seq. Claims older than any retry can be
// pruned by hand.
func (s *Store) CreateMessage(ctx context.Context, m chat.Message, advance []string) (chat.Message, bool, error) {
	what := "create message in " + m.RoomID
	m.CreatedAt = chat.At(m.CreatedAt.Time)
	if m.ClientMsgID != "" {
		_, err := s.claims().InsertOne(ctx, claimDoc{
			MessageID: m.ID, SenderID: m.SenderID, ClientMsgID: m.ClientMsgID, ClaimedAt: date(time.Now()),
		})
		if mongo.IsDuplicateKeyError(err) {
			var c claimDoc
			err := s.claims().FindOne(ctx, bson.D{{Key: "senderId", Value: m.SenderID}, {Key: "clientMsgId", Value: m.ClientMsgID}}).Decode(&c)
			if isNoDocuments(err) {
				return chat.Message{}, false, fmt.Errorf("mongo: %s: message id %s: %w", what, m.ID, chat.ErrConflict)
			}
			if err != nil {
				return chat.Message{}, false, s.fail(ctx, what, err)
			}
			return s.awaitClaim(ctx, what, c, m, advance)
		}
		if err != nil {
			return chat.Message{}, false, s.fail(ctx, what, err)
		}
	}
	return s.store(ctx, what, m, advance)
}

// awaitClaim answers a send whose client id was already claimed by c: the stored message
// once there is one, or m stored by this call if c's sender seems to have failed.
func (s *Store) awaitClaim(ctx context.Context, what string, c claimDoc, m chat.Message, advance []string) (chat.Message, bool, error) {
	wait := 2 * time.Millisecond
	for {
		prev, found, err := s.messageByIdemKey(ctx, what, m)
		if err != nil {
			return chat.Message{}, false, err
		}
		if found {
			if err := s.setLastMessage(ctx, what, prev); err != nil {
				return chat.Message{}, false, err
			}
			return prev.message(), false, nil
		}
		if time.Since(fromDate(c.ClaimedAt)) > s.cfg.pendingGrace {
			s.logger.Warn("mongo: storing a message whose first attempt stalled", "claim", c.MessageID, "message", m.ID, "room", m.RoomID)
			return s.store(ctx, what, m, advance)
		}
		select {
		case <-ctx.Done():
			return chat.Message{}, false, s.fail(ctx, what, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
}

func (s *Store) messageByIdemKey(ctx context.Context, what string, m chat.Message) (messageDoc, bool, error) {
	var d messageDoc
	err := s.messages().FindOne(ctx, bson.D{{Key: "senderId", Value: m.SenderID}, {Key: "idemKey", Value: idemKey(m)}}).Decode(&d)
	if isNoDocuments(err) {
		return messageDoc{}, false, nil
	}
	if err != nil {
		return messageDoc{}, false, s.fail(ctx, what, err)
	}
	return d, true, nil
}

// store takes steps 2 to 5 of CreateMessage. created is false when another call stored the
// message first; the message returned is then theirs.
func (s *Store) store(ctx context.Context, what string, m chat.Message, advance []string) (chat.Message, bool, error) {
	doc := messageDoc{
		ID: m.ID, RoomID: m.RoomID, SenderID: m.SenderID, ClientMsgID: m.ClientMsgID, IdemKey: idemKey(m),
		Type: m.Type, Text: m.Text, MediaID: m.MediaID, CreatedAt: date(m.CreatedAt.Time),
		ReplyToID: m.ReplyToID, Mentions: chat.UniqueIDs(m.Mentions), Tokens: chat.SearchTokens(m.Text),
	}
	doc.PendingAt = &doc.CreatedAt
	for attempt := 0; ; attempt++ {
		if attempt == maxSeqAttempts {
			return chat.Message{}, false, fmt.Errorf("mongo: %s: no free seq after %d attempts", what, attempt)
		}
		seq, rev, err := s.nextSeq(ctx, what, doc.RoomID, doc.CreatedAt)
		if err != nil {
			if chat.IsNotFound(err) && m.ClientMsgID != "" {
				// An unknown room: withdraw the claim, so that nothing is left behind.
				if _, derr := s.claims().DeleteOne(ctx, bson.D{{Key: "_id", Value: m.ID}}); derr != nil {
					s.logger.Warn("mongo: claim of a message to an unknown room left behind", "message", m.ID, "err", derr)
				}
			}
			return chat.Message{}, false, err
		}
		doc.Seq, doc.Rev = seq, rev
		_, err = s.messages().InsertOne(ctx, doc)
		if err == nil {
			break
		}
		if !mongo.IsDuplicateKeyError(err) {
			return chat.Message{}, false, s.fail(ctx, what, err)
		}
		// Which key: the same send stored by another call, the message id, or the seq.
		prev, found, ferr := s.messageByIdemKey(ctx, what, m)
		if ferr != nil {
			return chat.Message{}, false, ferr
		}
		if found {
			if err := s.setLastMessage(ctx, what, prev); err != nil {
				return chat.Message{}, false, err
			}
			return prev.message(), false, nil
		}
		if n, cerr := s.messages().CountDocuments(ctx, bson.D{{Key: "_id", Value: m.ID}}); cerr != nil {
			return chat.Message{}, false, s.fail(ctx, what, cerr)
		} else if n > 0 {
			return chat.Message{}, false, fmt.Errorf("mongo: %s: message id %s: %w", what, m.ID, chat.ErrConflict)
		}
		s.logger.Warn("mongo: seq handed out twice; the server's $inc is not atomic", "room", doc.RoomID, "seq", seq)
	}

	// Steps 4 and 5 and the unread count do not depend on each other, so they go out
	// together: one round trip's wait instead of three. The count leaves out the members
	// step 4 advances (they have read the message whether or not the update landed
	// first), so it is the same in any order.
	ids := chat.UniqueIDs(advance)
	var wg sync.WaitGroup
	var advErr, lastErr, countErr error
	var unread int
	if len(ids) > 0 {
		wg.Go(func() {
			// Only existing memberships match, so a non-member in advance is ignored.
			_, err := s.memberships().UpdateMany(ctx,
				bson.D{{Key: "roomId", Value: doc.RoomID}, {Key: "userId", Value: bson.D{{Key: "$in", Value: ids}}}},
				bson.D{{Key: "$max", Value: bson.D{{Key: "lastReadSeq", Value: doc.Seq}, {Key: "lastDeliveredSeq", Value: doc.Seq}}}})
			if err != nil {
				advErr = s.fail(ctx, what+": advance cursors", err)
			}
		})
	}
	wg.Go(func() { lastErr = s.setLastMessage(ctx, what, doc) })
	wg.Go(func() {
		unread, countErr = s.unreadExcept(ctx, doc.RoomID, slices.Concat(ids, []string{doc.SenderID}), doc.Seq)
	})
	wg.Wait()
	if err := errors.Join(advErr, lastErr, countErr); err != nil {
		return chat.Message{}, false, err
	}
	out := doc.message()
	out.UnreadCount = unread
	return out, true, nil
}

// nextSeq increments the room's seq and rev counters in one atomic update and returns
// them; the room's activity time moves to the message's time if that is later.
// chat.ErrNotFound for an unknown room.
func (s *Store) nextSeq(ctx context.Context, what, roomID string, at bson.DateTime) (int64, int64, error) {
	var d struct {
		LastSeq int64 `bson:"lastSeq"`
		LastRev int64 `bson:"lastRev"`
	}
	err := s.rooms().FindOneAndUpdate(ctx,
		bson.D{{Key: "_id", Value: roomID}},
		bson.D{
			{Key: "$inc", Value: bson.D{{Key: "lastSeq", Value: int64(1)}, {Key: "lastRev", Value: int64(1)}}},
			{Key: "$max", Value: bson.D{{Key: "activeAt", Value: at}}},
		},
		// No projection: FerretDB's findAndModify does not implement "fields".
		options.FindOneAndUpdate().SetReturnDocument(options.After),
	).Decode(&d)
	if err != nil {
		return 0, 0, s.notFound(ctx, what+": take seq", err)
	}
	return d.LastSeq, d.LastRev, nil
}

// setLastMessage copies doc into its room's lastMessage unless the room already holds a
// later one.
func (s *Store) setLastMessage(ctx context.Context, what string, doc messageDoc) error {
	doc.IdemKey, doc.Tokens = "", nil
	_, err := s.rooms().UpdateOne(ctx,
		bson.D{{Key: "_id", Value: doc.RoomID}, {Key: "lastMessageSeq", Value: bson.D{{Key: "$lt", Value: doc.Seq}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "lastMessageSeq", Value: doc.Seq}, {Key: "lastMessage", Value: doc}}}})
	if err != nil {
		return s.fail(ctx, what+": set last message", err)
	}
	return nil
}

// defaultPageSize is the page of Messages when the query sets no limit.
const defaultPageSize = 50

// Messages implements chat.MessageStore. A limit of zero or less means 50. An unknown
// room has no messages. Pages are range scans of the (roomId, seq) index.
func (s *Store) Messages(ctx context.Context, roomID string, q chat.HistoryQuery) ([]chat.Message, bool, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = defaultPageSize
	}
	rng := bson.D{{Key: "$gt", Value: max(q.AfterSeq, 0)}}
	if q.BeforeSeq > 0 {
		rng = append(rng, bson.E{Key: "$lt", Value: q.BeforeSeq})
	}
	// With only AfterSeq the page is the oldest above it; otherwise the newest below
	// BeforeSeq. One message past the limit tells whether more exist in that direction.
	dir := -1
	if q.Ascending() {
		dir = 1
	}
	cur, err := s.messages().Find(ctx,
		bson.D{{Key: "roomId", Value: roomID}, {Key: "seq", Value: rng}},
		options.Find().
			SetSort(bson.D{{Key: "seq", Value: dir}}).
			SetLimit(int64(limit+1)).
			SetProjection(bson.D{{Key: "idemKey", Value: 0}, {Key: "tokens", Value: 0}}))
	if err != nil {
		return nil, false, s.fail(ctx, "messages of "+roomID, err)
	}
	var docs []messageDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, false, s.fail(ctx, "messages of "+roomID, err)
	}
	more := len(docs) > limit
	if more {
		docs = docs[:limit]
	}
	if dir < 0 {
		slices.Reverse(docs)
	}
	msgs, err := s.complete(ctx, "messages of "+roomID, docs)
	return msgs, more, err
}
