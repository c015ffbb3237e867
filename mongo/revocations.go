package mongo

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chatchat/chatchat/chat"
)

// colRevocations holds the ended sessions whose access tokens may still be alive.
const colRevocations = "revocations"

// revocationDoc is a chat.Revocation, keyed by the session id.
type revocationDoc struct {
	SessionID string        `bson:"_id"`
	UserID    string        `bson:"userId"`
	ExpiresAt bson.DateTime `bson:"expiresAt"`
}

// AddRevocations implements chat.RevocationStore: one upsert per session, whose $max keeps
// the later expiry of a session recorded twice.
func (s *Store) AddRevocations(ctx context.Context, rs []chat.Revocation) error {
	col := s.db().Collection(colRevocations)
	for _, r := range rs {
		upsert := func() error {
			_, err := col.UpdateOne(ctx, bson.D{{Key: "_id", Value: r.SessionID}},
				bson.D{
					{Key: "$set", Value: bson.D{{Key: "userId", Value: r.UserID}}},
					{Key: "$max", Value: bson.D{{Key: "expiresAt", Value: date(r.ExpiresAt)}}},
				},
				options.UpdateOne().SetUpsert(true))
			return err
		}
		err := upsert()
		if mongo.IsDuplicateKeyError(err) {
			// Two upserts of one session raced and this one lost the insert: the
			// document exists now, so the retry updates it.
			err = upsert()
		}
		if err != nil {
			return s.fail(ctx, "add revocation of session "+r.SessionID, err)
		}
	}
	return nil
}

// Revocations implements chat.RevocationStore.
func (s *Store) Revocations(ctx context.Context, now time.Time) ([]chat.Revocation, error) {
	cur, err := s.db().Collection(colRevocations).Find(ctx,
		bson.D{{Key: "expiresAt", Value: bson.D{{Key: "$gt", Value: date(now)}}}})
	if err != nil {
		return nil, s.fail(ctx, "revocations", err)
	}
	var docs []revocationDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, s.fail(ctx, "revocations", err)
	}
	out := make([]chat.Revocation, len(docs))
	for i, d := range docs {
		out[i] = chat.Revocation{SessionID: d.SessionID, UserID: d.UserID, ExpiresAt: fromDate(d.ExpiresAt)}
	}
	return out, nil
}

// PruneRevocations implements chat.RevocationStore.
func (s *Store) PruneRevocations(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.db().Collection(colRevocations).DeleteMany(ctx,
		bson.D{{Key: "expiresAt", Value: bson.D{{Key: "$lte", Value: date(now)}}}})
	if err != nil {
		return 0, s.fail(ctx, "prune revocations", err)
	}
	return res.DeletedCount, nil
}
