package mongo

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chatchat/chatchat/chat"
)

// colBlocks holds one document per block, keyed by blocker and blocked user.
const colBlocks = "blocks"

func (s *Store) blocks() *mongo.Collection { return s.db().Collection(colBlocks) }

type blockDoc struct {
	ID        string        `bson:"_id"` // blocker + " " + blocked: a block is stored once
	BlockerID string        `bson:"blockerId"`
	BlockedID string        `bson:"blockedId"`
	CreatedAt bson.DateTime `bson:"createdAt"`
}

// Block implements chat.BlockStore: an upsert on the pair's id, so that again is no error.
func (s *Store) Block(ctx context.Context, blockerID, blockedID string, at time.Time) error {
	d := blockDoc{ID: blockerID + " " + blockedID, BlockerID: blockerID, BlockedID: blockedID, CreatedAt: date(at)}
	_, err := s.blocks().UpdateOne(ctx, bson.D{{Key: "_id", Value: d.ID}},
		bson.D{{Key: "$setOnInsert", Value: d}}, options.UpdateOne().SetUpsert(true))
	if err != nil && !mongo.IsDuplicateKeyError(err) { // two at once: one inserted it
		return s.fail(ctx, "block", err)
	}
	return nil
}

// Unblock implements chat.BlockStore.
func (s *Store) Unblock(ctx context.Context, blockerID, blockedID string) error {
	if _, err := s.blocks().DeleteOne(ctx, bson.D{{Key: "_id", Value: blockerID + " " + blockedID}}); err != nil {
		return s.fail(ctx, "unblock", err)
	}
	return nil
}

// BlockedBy implements chat.BlockStore.
func (s *Store) BlockedBy(ctx context.Context, blockerID string) ([]string, error) {
	return s.blockIDs(ctx, "blocked by", bson.D{{Key: "blockerId", Value: blockerID}}, "blockedId",
		options.Find().SetSort(bson.D{{Key: "createdAt", Value: -1}, {Key: "blockedId", Value: 1}}))
}

// Blockers implements chat.BlockStore.
func (s *Store) Blockers(ctx context.Context, userID string, candidates []string) ([]string, error) {
	candidates = chat.UniqueIDs(candidates)
	if len(candidates) == 0 {
		return []string{}, nil
	}
	return s.blockIDs(ctx, "blockers", bson.D{
		{Key: "blockedId", Value: userID},
		{Key: "blockerId", Value: bson.D{{Key: "$in", Value: candidates}}},
	}, "blockerId", options.Find())
}

func (s *Store) blockIDs(ctx context.Context, what string, filter bson.D, field string, opts *options.FindOptionsBuilder) ([]string, error) {
	cur, err := s.blocks().Find(ctx, filter, opts)
	if err != nil {
		return nil, s.fail(ctx, what, err)
	}
	var docs []blockDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, s.fail(ctx, what, err)
	}
	out := make([]string, 0, len(docs))
	for _, d := range docs {
		if field == "blockedId" {
			out = append(out, d.BlockedID)
		} else {
			out = append(out, d.BlockerID)
		}
	}
	return out, nil
}

var _ chat.BlockStore = (*Store)(nil)
