package mongo

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// AdvanceDeliveredCursor implements chat.DeliveryStore: $max in one findAndModify, so
// concurrent calls cannot move the cursor back, and the document as it was tells whether
// this call moved it. The cap is the room's counter as read just before, as in
// AdvanceReadCursor.
func (s *Store) AdvanceDeliveredCursor(ctx context.Context, roomID, userID string, seq int64) (int64, bool, error) {
	what := fmt.Sprintf("advance delivery cursor of %s in %s", userID, roomID)
	lastSeq, err := s.lastSeq(ctx, what, roomID)
	if err != nil {
		return 0, false, err
	}
	target := min(seq, lastSeq)
	var before memberDoc
	err = s.memberships().FindOneAndUpdate(ctx, memberKey(roomID, userID),
		bson.D{{Key: "$max", Value: bson.D{{Key: "lastDeliveredSeq", Value: target}}}},
		options.FindOneAndUpdate().SetReturnDocument(options.Before),
	).Decode(&before)
	if err != nil {
		return 0, false, s.notFound(ctx, what, err)
	}
	prev := before.delivered()
	return max(prev, target), target > prev, nil
}

// UndeliveredCount implements chat.DeliveryStore: one count, like UnreadCount. A member
// whose delivery cursor is below seq has a read cursor below it too; the read cursor is
// asked as well so that a membership stored without lastDeliveredSeq (memberDoc) counts
// by its read cursor, and "not at or past seq" matches a missing field.
func (s *Store) UndeliveredCount(ctx context.Context, roomID, senderID string, seq int64) (int, error) {
	n, err := s.memberships().CountDocuments(ctx, bson.D{
		{Key: "roomId", Value: roomID},
		{Key: "userId", Value: bson.D{{Key: "$ne", Value: senderID}}},
		{Key: "lastReadSeq", Value: bson.D{{Key: "$lt", Value: seq}}},
		{Key: "lastDeliveredSeq", Value: bson.D{{Key: "$not", Value: bson.D{{Key: "$gte", Value: seq}}}}},
	})
	if err != nil {
		return 0, s.fail(ctx, "undelivered count of "+roomID, err)
	}
	return int(n), nil
}
