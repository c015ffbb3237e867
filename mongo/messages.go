package mongo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chatchat/chatchat/chat"
)

// messageDoc is a message as stored.
//
// A message is first inserted with a negative placeholder Seq (pending, invisible to
// history, which asks for seq > 0) and then given its real seq. IdemKey makes the
// (senderId, idemKey) unique index the idempotency key: the client message id, or the
// message's own id for a message without one, so that those never collide and no partial
// index is needed.
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
	// ClaimedAt is when a pending message was inserted: a retry waits for its owner to
	// finish it until ClaimedAt plus the pending grace, then finishes it itself.
	ClaimedAt bson.DateTime `bson:"claimedAt,omitempty"`
}

func (d messageDoc) message() chat.Message {
	return chat.Message{
		ID: d.ID, RoomID: d.RoomID, Seq: d.Seq, SenderID: d.SenderID, ClientMsgID: d.ClientMsgID,
		Type: d.Type, Text: d.Text, MediaID: d.MediaID, CreatedAt: chat.At(fromDate(d.CreatedAt)),
	}
}

// idemKey is the stored idempotency key of m; the prefixes keep the two kinds apart.
func idemKey(m chat.Message) string {
	if m.ClientMsgID == "" {
		return "id:" + m.ID
	}
	return "c:" + m.ClientMsgID
}

// placeholderSeq returns a seq for a pending message: negative, so history never shows
// it, and random, so that pending messages of one room do not collide on the unique
// (roomId, seq) index.
func placeholderSeq() int64 { return -1 - rand.Int64N(1<<62) }

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
//  1. Insert the message with a placeholder seq. The unique (senderId, idemKey) index
//     makes this the claim: of concurrent sends with one client id, one insert wins.
//     Claiming before taking a seq means that a retry never burns a seq.
//  2. Take the room's next seq: $inc on the room document, which is atomic.
//  3. Set the message's seq, only while it still has its placeholder. The message is
//     now visible in history.
//  4. Advance the listed members' cursors with $max (idempotent).
//  5. Set the room's lastMessage, only if it holds a lower seq (idempotent, and a late
//     writer cannot overwrite a newer message).
//
// A send that finds its client id already claimed returns the stored message once it has
// a seq, redoing step 5 in case the first attempt failed after step 3. If the claim stays
// pending beyond the pending grace (its sender failed between steps 1 and 3), the retry
// finishes it from step 2 itself. Only then can a seq be lost: one taken in step 2 by the
// failed attempt. Clients that see the gap ask history for it, find nothing, and go on.
func (s *Store) CreateMessage(ctx context.Context, m chat.Message, advance []string) (chat.Message, bool, error) {
	what := "create message in " + m.RoomID
	doc := pendingDoc(m)
	for attempt := 0; ; attempt++ {
		_, err := s.messages.InsertOne(ctx, doc)
		if err == nil {
			break
		}
		if !mongo.IsDuplicateKeyError(err) {
			return chat.Message{}, false, s.fail(ctx, what, err)
		}
		var prev messageDoc
		err = s.messages.FindOne(ctx, bson.D{{Key: "senderId", Value: m.SenderID}, {Key: "idemKey", Value: doc.IdemKey}}).Decode(&prev)
		switch {
		case err == nil:
			return s.awaitClaim(ctx, what, prev, advance)
		case !isNoDocuments(err):
			return chat.Message{}, false, s.fail(ctx, what, err)
		case attempt == 2:
			// Not a retry: the message id is taken (or, by a one in 2^62 chance three
			// times over, the placeholder seq).
			return chat.Message{}, false, fmt.Errorf("mongo: %s: message %s: %w", what, m.ID, chat.ErrConflict)
		}
		doc.Seq = placeholderSeq()
	}
	return s.finish(ctx, what, doc, advance)
}

// pendingDoc is m as step 1 of CreateMessage inserts it.
func pendingDoc(m chat.Message) messageDoc {
	return messageDoc{
		ID: m.ID, RoomID: m.RoomID, Seq: placeholderSeq(), SenderID: m.SenderID, ClientMsgID: m.ClientMsgID,
		IdemKey: idemKey(m), Type: m.Type, Text: m.Text, MediaID: m.MediaID,
		CreatedAt: date(m.CreatedAt.Time), ClaimedAt: date(time.Now()),
	}
}

// awaitClaim answers a send whose client id was already claimed by prev: the stored
// message once prev has its seq, or prev finished by this call if its owner seems to have
// failed.
func (s *Store) awaitClaim(ctx context.Context, what string, prev messageDoc, advance []string) (chat.Message, bool, error) {
	wait := 2 * time.Millisecond
	for prev.Seq < 0 {
		if time.Since(fromDate(prev.ClaimedAt)) > s.cfg.pendingGrace {
			s.logger.Warn("mongo: finishing a message whose first attempt stalled", "message", prev.ID, "room", prev.RoomID)
			return s.finish(ctx, what, prev, advance)
		}
		select {
		case <-ctx.Done():
			return chat.Message{}, false, s.fail(ctx, what, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, 100*time.Millisecond)
		if err := s.messages.FindOne(ctx, bson.D{{Key: "_id", Value: prev.ID}}).Decode(&prev); err != nil {
			return chat.Message{}, false, s.fail(ctx, what, err)
		}
	}
	if err := s.setLastMessage(ctx, what, prev); err != nil {
		return chat.Message{}, false, err
	}
	return prev.message(), false, nil
}

// finish takes steps 2 to 5 of CreateMessage for the pending message doc. created is false
// when another call finished it first; the message returned is then theirs.
func (s *Store) finish(ctx context.Context, what string, doc messageDoc, advance []string) (chat.Message, bool, error) {
	placeholder := doc.Seq
	for attempt := 0; ; attempt++ {
		if attempt == maxSeqAttempts {
			return chat.Message{}, false, fmt.Errorf("mongo: %s: no free seq after %d attempts", what, attempt)
		}
		seq, err := s.nextSeq(ctx, what, doc.RoomID, doc.CreatedAt)
		if err != nil {
			if chat.IsNotFound(err) {
				// An unknown room: withdraw the claim, so that nothing is left behind.
				if _, derr := s.messages.DeleteOne(ctx, bson.D{{Key: "_id", Value: doc.ID}, {Key: "seq", Value: placeholder}}); derr != nil {
					s.logger.Warn("mongo: pending message of an unknown room left behind (invisible)", "message", doc.ID, "err", derr)
				}
			}
			return chat.Message{}, false, err
		}
		res, err := s.messages.UpdateOne(ctx,
			bson.D{{Key: "_id", Value: doc.ID}, {Key: "seq", Value: placeholder}},
			bson.D{
				{Key: "$set", Value: bson.D{{Key: "seq", Value: seq}}},
				{Key: "$unset", Value: bson.D{{Key: "claimedAt", Value: ""}}},
			})
		if mongo.IsDuplicateKeyError(err) {
			s.logger.Warn("mongo: seq handed out twice; the server's $inc is not atomic", "room", doc.RoomID, "seq", seq)
			continue
		}
		if err != nil {
			return chat.Message{}, false, s.fail(ctx, what, err)
		}
		if res.MatchedCount == 0 {
			// Another call finished it (a retry that took over a stalled claim).
			var cur messageDoc
			if err := s.messages.FindOne(ctx, bson.D{{Key: "_id", Value: doc.ID}}).Decode(&cur); err != nil {
				return chat.Message{}, false, s.fail(ctx, what, err)
			}
			return s.awaitClaim(ctx, what, cur, nil)
		}
		doc.Seq = seq
		break
	}

	if ids := uniq(advance); len(ids) > 0 {
		// Only existing memberships match, so a non-member in advance is ignored.
		_, err := s.memberships.UpdateMany(ctx,
			bson.D{{Key: "roomId", Value: doc.RoomID}, {Key: "userId", Value: bson.D{{Key: "$in", Value: ids}}}},
			bson.D{{Key: "$max", Value: bson.D{{Key: "lastReadSeq", Value: doc.Seq}}}})
		if err != nil {
			return chat.Message{}, false, s.fail(ctx, what+": advance cursors", err)
		}
	}
	if err := s.setLastMessage(ctx, what, doc); err != nil {
		return chat.Message{}, false, err
	}
	return doc.message(), true, nil
}

// nextSeq increments the room's counter and returns it; the room's activity time moves to
// the message's time if that is later. chat.ErrNotFound for an unknown room.
func (s *Store) nextSeq(ctx context.Context, what, roomID string, at bson.DateTime) (int64, error) {
	var d struct {
		LastSeq int64 `bson:"lastSeq"`
	}
	err := s.rooms.FindOneAndUpdate(ctx,
		bson.D{{Key: "_id", Value: roomID}},
		bson.D{
			{Key: "$inc", Value: bson.D{{Key: "lastSeq", Value: int64(1)}}},
			{Key: "$max", Value: bson.D{{Key: "activeAt", Value: at}}},
		},
		// No projection: FerretDB's findAndModify does not implement "fields".
		options.FindOneAndUpdate().SetReturnDocument(options.After),
	).Decode(&d)
	if err != nil {
		return 0, s.notFound(ctx, what+": take seq", err)
	}
	return d.LastSeq, nil
}

// setLastMessage copies doc into its room's lastMessage unless the room already holds a
// later one.
func (s *Store) setLastMessage(ctx context.Context, what string, doc messageDoc) error {
	doc.IdemKey, doc.ClaimedAt = "", 0
	_, err := s.rooms.UpdateOne(ctx,
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
	// seq > 0 also leaves out pending messages, whose placeholder seqs are negative.
	rng := bson.D{{Key: "$gt", Value: max(q.AfterSeq, 0)}}
	if q.BeforeSeq > 0 {
		rng = append(rng, bson.E{Key: "$lt", Value: q.BeforeSeq})
	}
	// With only AfterSeq the page is the oldest above it; otherwise the newest below
	// BeforeSeq. One message past the limit tells whether more exist in that direction.
	dir := -1
	if q.AfterSeq > 0 && q.BeforeSeq <= 0 {
		dir = 1
	}
	cur, err := s.messages.Find(ctx,
		bson.D{{Key: "roomId", Value: roomID}, {Key: "seq", Value: rng}},
		options.Find().
			SetSort(bson.D{{Key: "seq", Value: dir}}).
			SetLimit(int64(limit+1)).
			SetProjection(bson.D{{Key: "idemKey", Value: 0}, {Key: "claimedAt", Value: 0}}))
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
	msgs := make([]chat.Message, 0, len(docs))
	for _, d := range docs {
		msgs = append(msgs, d.message())
	}
	return msgs, more, nil
}
