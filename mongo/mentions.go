package mongo

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chatchat/chatchat/chat"
)

var _ chat.MentionStore = (*Store)(nil)

// MentionCounts implements chat.MentionStore: one query, an $or of one range of the
// (roomId, mentions, seq) multikey index per room asked about (the rooms with unread
// messages, which the caller picks). A deleted message has no mentions left.
func (s *Store) MentionCounts(ctx context.Context, userID string, after map[string]int64) (map[string]int64, error) {
	out := make(map[string]int64, len(after))
	if len(after) == 0 {
		return out, nil
	}
	or := make(bson.A, 0, len(after))
	for roomID, seq := range after {
		or = append(or, bson.D{{Key: "roomId", Value: roomID}, {Key: "mentions", Value: userID}, {Key: "seq", Value: bson.D{{Key: "$gt", Value: seq}}}})
	}
	cur, err := s.messages().Find(ctx, bson.D{{Key: "$or", Value: or}},
		options.Find().SetProjection(bson.D{{Key: "roomId", Value: 1}, {Key: "_id", Value: 0}}))
	if err != nil {
		return nil, s.fail(ctx, "mention counts of "+userID, err)
	}
	var docs []struct {
		RoomID string `bson:"roomId"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, s.fail(ctx, "mention counts of "+userID, err)
	}
	for _, d := range docs {
		out[d.RoomID]++
	}
	return out, nil
}
