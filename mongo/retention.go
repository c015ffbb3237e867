package mongo

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chatchat/chatchat/chat"
)

// SetRetention implements chat.RetentionStore.
func (s *Store) SetRetention(ctx context.Context, roomID string, days int) error {
	what := "set retention of " + roomID
	update := bson.D{{Key: "$set", Value: bson.D{{Key: "retentionDays", Value: days}}}}
	res, err := s.rooms().UpdateOne(ctx, bson.D{{Key: "_id", Value: roomID}}, update)
	if err != nil {
		return s.fail(ctx, what, err)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("mongo: %s: %w", what, chat.ErrNotFound)
	}
	return nil
}

// RoomRetentions implements chat.RetentionStore.
func (s *Store) RoomRetentions(ctx context.Context) (map[string]int, error) {
	cur, err := s.rooms().Find(ctx, bson.D{{Key: "retentionDays", Value: bson.D{{Key: "$exists", Value: true}}}},
		options.Find().SetProjection(bson.D{{Key: "retentionDays", Value: 1}}))
	if err != nil {
		return nil, s.fail(ctx, "room retentions", err)
	}
	var docs []struct {
		ID   string `bson:"_id"`
		Days int    `bson:"retentionDays"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, s.fail(ctx, "room retentions", err)
	}
	out := make(map[string]int, len(docs))
	for _, d := range docs {
		out[d.ID] = d.Days
	}
	return out, nil
}

// ExpiredMessages implements chat.RetentionStore: a range of _id (time-ordered), without
// the rooms that have a retention of their own when roomID is "".
func (s *Store) ExpiredMessages(ctx context.Context, roomID, beforeID string, limit int) ([]chat.Message, error) {
	filter := bson.D{
		{Key: "_id", Value: bson.D{{Key: "$lt", Value: beforeID}}},
		{Key: "pinnedAt", Value: bson.D{{Key: "$exists", Value: false}}},
	}
	if roomID != "" {
		filter = append(filter, bson.E{Key: "roomId", Value: roomID})
	} else {
		own, err := s.RoomRetentions(ctx)
		if err != nil {
			return nil, err
		}
		if len(own) > 0 {
			ids := make([]string, 0, len(own))
			for id := range own {
				ids = append(ids, id)
			}
			filter = append(filter, bson.E{Key: "roomId", Value: bson.D{{Key: "$nin", Value: ids}}})
		}
	}
	cur, err := s.messages().Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)).
		SetProjection(bson.D{{Key: "roomId", Value: 1}, {Key: "seq", Value: 1}, {Key: "mediaId", Value: 1}}))
	if err != nil {
		return nil, s.fail(ctx, "expired messages", err)
	}
	var docs []struct {
		ID      string `bson:"_id"`
		RoomID  string `bson:"roomId"`
		Seq     int64  `bson:"seq"`
		MediaID string `bson:"mediaId"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, s.fail(ctx, "expired messages", err)
	}
	out := make([]chat.Message, 0, len(docs))
	for _, d := range docs {
		out = append(out, chat.Message{ID: d.ID, RoomID: d.RoomID, Seq: d.Seq, MediaID: d.MediaID})
	}
	return out, nil
}

// DeleteExpired implements chat.RetentionStore without a transaction, in an order that a
// crash cannot make lie: first each room's expiredThroughSeq is raised (it says history at
// or below it *may* be gone), then its copy of a last message that goes is removed, then the
// messages (still unpinned) and last their reactions, which reads of a missing message never
// see (a pin racing the last step leaves expiredThroughSeq past a kept message, which it
// allows). A run interrupted between steps is finished by the next one, which finds the same
// messages or none.
func (s *Store) DeleteExpired(ctx context.Context, msgs []chat.Message) (int, error) {
	ids := make([]string, 0, len(msgs))
	for _, m := range msgs {
		ids = append(ids, m.ID)
	}
	// Those pinned since they were found stay, and do not count for expiredThroughSeq.
	cur, err := s.messages().Find(ctx, bson.D{
		{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}},
		{Key: "pinnedAt", Value: bson.D{{Key: "$exists", Value: false}}},
	}, options.Find().SetProjection(bson.D{{Key: "roomId", Value: 1}, {Key: "seq", Value: 1}}))
	if err != nil {
		return 0, s.fail(ctx, "expired messages", err)
	}
	var still []struct {
		ID     string `bson:"_id"`
		RoomID string `bson:"roomId"`
		Seq    int64  `bson:"seq"`
	}
	if err := cur.All(ctx, &still); err != nil {
		return 0, s.fail(ctx, "expired messages", err)
	}
	through := map[string]int64{}
	ids = ids[:0]
	for _, m := range still {
		through[m.RoomID] = max(through[m.RoomID], m.Seq)
		ids = append(ids, m.ID)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	for roomID, seq := range through {
		if _, err := s.rooms().UpdateOne(ctx, bson.D{{Key: "_id", Value: roomID}},
			bson.D{{Key: "$max", Value: bson.D{{Key: "expiredThroughSeq", Value: seq}}}}); err != nil {
			return 0, s.fail(ctx, "expired through", err)
		}
		if _, err := s.rooms().UpdateOne(ctx,
			bson.D{{Key: "_id", Value: roomID}, {Key: "lastMessage.seq", Value: bson.D{{Key: "$lte", Value: seq}}}, {Key: "lastMessage.pinnedAt", Value: bson.D{{Key: "$exists", Value: false}}}},
			bson.D{{Key: "$unset", Value: bson.D{{Key: "lastMessage", Value: ""}}}}); err != nil {
			return 0, s.fail(ctx, "expired last message", err)
		}
	}
	res, err := s.messages().DeleteMany(ctx, bson.D{
		{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}},
		{Key: "pinnedAt", Value: bson.D{{Key: "$exists", Value: false}}},
	})
	if err != nil {
		return 0, s.fail(ctx, "delete expired messages", err)
	}
	if _, err := s.reactions().DeleteMany(ctx, bson.D{{Key: "messageId", Value: bson.D{{Key: "$in", Value: ids}}}}); err != nil {
		s.logger.Warn("mongo: reactions of expired messages left behind", "err", err)
	}
	return int(res.DeletedCount), nil
}
