package mongo

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chatchat/chatchat/chat"
)

// tokenDoc is a refresh token as stored, keyed by its hash.
type tokenDoc struct {
	Hash      string        `bson:"_id"`
	UserID    string        `bson:"userId"`
	FamilyID  string        `bson:"familyId"`
	CreatedAt bson.DateTime `bson:"createdAt"`
	ExpiresAt bson.DateTime `bson:"expiresAt"`
	Used      bool          `bson:"used"`
	Revoked   bool          `bson:"revoked"`
}

// CreateRefreshToken implements chat.TokenStore. Expired tokens are not removed by a TTL
// index (DocumentDB's TTL indexes differ, and FerretDB has none): the token service checks
// ExpiresAt, and old tokens are rows nobody reads.
func (s *Store) CreateRefreshToken(ctx context.Context, t chat.RefreshToken) error {
	_, err := s.tokens().InsertOne(ctx, tokenDoc{
		Hash: t.Hash, UserID: t.UserID, FamilyID: t.FamilyID,
		CreatedAt: date(t.CreatedAt), ExpiresAt: date(t.ExpiresAt), Revoked: t.Revoked,
	})
	if mongo.IsDuplicateKeyError(err) {
		return fmt.Errorf("mongo: create refresh token: %w", chat.ErrConflict)
	}
	if err != nil {
		return s.fail(ctx, "create refresh token", err)
	}
	return nil
}

// ConsumeRefreshToken implements chat.TokenStore. Marking the token used and reading what it
// was before is one findAndModify on one document, so of concurrent uses exactly one sees
// it unused.
func (s *Store) ConsumeRefreshToken(ctx context.Context, hash string) (chat.RefreshToken, bool, error) {
	var d tokenDoc
	err := s.tokens().FindOneAndUpdate(ctx,
		bson.D{{Key: "_id", Value: hash}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "used", Value: true}}}},
		options.FindOneAndUpdate().SetReturnDocument(options.Before),
	).Decode(&d)
	if err != nil {
		return chat.RefreshToken{}, false, s.notFound(ctx, "consume refresh token", err)
	}
	return chat.RefreshToken{
		Hash: d.Hash, UserID: d.UserID, FamilyID: d.FamilyID,
		CreatedAt: fromDate(d.CreatedAt), ExpiresAt: fromDate(d.ExpiresAt), Revoked: d.Revoked,
	}, !d.Used, nil
}

// RevokeTokenFamily implements chat.TokenStore.
func (s *Store) RevokeTokenFamily(ctx context.Context, familyID string) error {
	_, err := s.tokens().UpdateMany(ctx,
		bson.D{{Key: "familyId", Value: familyID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "revoked", Value: true}}}})
	if err != nil {
		return s.fail(ctx, "revoke token family "+familyID, err)
	}
	return nil
}
