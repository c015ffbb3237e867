package mongo

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chatchat/chatchat/chat"
)

var _ chat.OutboxStore = (*Store)(nil)

// MarkPublished implements chat.OutboxStore: the message's pendingAt goes.
func (s *Store) MarkPublished(ctx context.Context, roomID, messageID string) error {
	_, err := s.messages().UpdateOne(ctx,
		bson.D{{Key: "_id", Value: messageID}},
		bson.D{{Key: "$unset", Value: bson.D{{Key: "pendingAt", Value: ""}}}})
	if err != nil {
		return s.fail(ctx, "mark "+messageID+" published", err)
	}
	return nil
}

// Pending implements chat.OutboxStore.
func (s *Store) Pending(ctx context.Context, roomID, messageID string) (bool, error) {
	n, err := s.messages().CountDocuments(ctx, bson.D{
		{Key: "_id", Value: messageID},
		{Key: "pendingAt", Value: bson.D{{Key: "$exists", Value: true}}},
	})
	if err != nil {
		return false, s.fail(ctx, "pending "+messageID, err)
	}
	return n > 0, nil
}

// PendingMessages implements chat.OutboxStore: a range of the pendingAt index.
func (s *Store) PendingMessages(ctx context.Context, before time.Time, limit int) ([]chat.Message, error) {
	cur, err := s.messages().Find(ctx,
		bson.D{{Key: "pendingAt", Value: bson.D{{Key: "$lte", Value: date(before)}}}},
		options.Find().
			SetSort(bson.D{{Key: "pendingAt", Value: 1}, {Key: "_id", Value: 1}}).
			SetLimit(int64(limit)).
			SetProjection(bson.D{{Key: "idemKey", Value: 0}, {Key: "tokens", Value: 0}}))
	if err != nil {
		return nil, s.fail(ctx, "pending messages", err)
	}
	var docs []messageDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, s.fail(ctx, "pending messages", err)
	}
	return s.complete(ctx, "pending messages", docs)
}
