package mongo

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chatchat/chatchat/chat"
)

// RoomHeads implements chat.RoomHeadStore: one find of the rooms' ids.
func (s *Store) RoomHeads(ctx context.Context, ids []string) (map[string]chat.RoomHead, error) {
	ids = chat.UniqueIDs(ids)
	out := make(map[string]chat.RoomHead, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	cur, err := s.rooms().Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: "lastSeq", Value: 1}, {Key: "lastRev", Value: 1}}))
	if err != nil {
		return nil, s.fail(ctx, "room heads", err)
	}
	var docs []struct {
		ID      string `bson:"_id"`
		LastSeq int64  `bson:"lastSeq"`
		LastRev int64  `bson:"lastRev"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, s.fail(ctx, "room heads", err)
	}
	for _, d := range docs {
		out[d.ID] = chat.RoomHead{LastSeq: d.LastSeq, LastRev: d.LastRev}
	}
	return out, nil
}

var _ chat.RoomHeadStore = (*Store)(nil)
