package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chatchat/chatchat/chat"
)

// tokenDoc is a refresh token as stored, keyed by its hash.
type tokenDoc struct {
	Hash      string         `bson:"_id"`
	UserID    string         `bson:"userId"`
	FamilyID  string         `bson:"familyId"`
	CreatedAt bson.DateTime  `bson:"createdAt"`
	ExpiresAt bson.DateTime  `bson:"expiresAt"`
	Used      bool           `bson:"used"`
	UsedAt    *bson.DateTime `bson:"usedAt,omitempty"`
	Revoked   bool           `bson:"revoked"`
	// Successor is absent until recorded, and removed again by the grace claim, so that
	// "has a successor" is a field's existence.
	Successor []byte `bson:"successor,omitempty"`
	GraceUsed bool   `bson:"graceUsed,omitempty"`
	// GraceFrom is usedAt again, set by the first use and removed with the successor: the
	// index on it holds only the tokens whose grace is open, which DropSuccessors scans
	// (an index on usedAt would hold every used token).
	GraceFrom *bson.DateTime `bson:"graceFrom,omitempty"`
}

func (d tokenDoc) token() chat.RefreshToken {
	t := chat.RefreshToken{
		Hash: d.Hash, UserID: d.UserID, FamilyID: d.FamilyID,
		CreatedAt: fromDate(d.CreatedAt), ExpiresAt: fromDate(d.ExpiresAt), Revoked: d.Revoked,
		Successor: d.Successor, GraceUsed: d.GraceUsed,
	}
	if d.UsedAt != nil {
		t.UsedAt = fromDate(*d.UsedAt)
	}
	return t
}

// CreateRefreshToken implements chat.TokenStore. Expired tokens are deleted by
// PruneRefreshTokens, and by a TTL index on servers that have them (see ensureIndexes).
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

// RefreshToken implements chat.TokenStore.
func (s *Store) RefreshToken(ctx context.Context, hash string) (chat.RefreshToken, error) {
	var d tokenDoc
	if err := s.tokens().FindOne(ctx, bson.D{{Key: "_id", Value: hash}}).Decode(&d); err != nil {
		return chat.RefreshToken{}, s.notFound(ctx, "refresh token", err)
	}
	return d.token(), nil
}

// ConsumeRefreshToken implements chat.TokenStore. Marking the token used is one
// findAndModify on one document that matches only while it is unused, so of concurrent
// uses exactly one sees it unused; the others read it as it is.
func (s *Store) ConsumeRefreshToken(ctx context.Context, hash string, now time.Time) (chat.RefreshToken, bool, error) {
	var d tokenDoc
	err := s.tokens().FindOneAndUpdate(ctx,
		bson.D{{Key: "_id", Value: hash}, {Key: "used", Value: false}},
		bson.D{{Key: "$set", Value: bson.D{
			{Key: "used", Value: true}, {Key: "usedAt", Value: date(now)}, {Key: "graceFrom", Value: date(now)},
		}}},
		options.FindOneAndUpdate().SetReturnDocument(options.Before),
	).Decode(&d)
	if err == nil {
		return d.token(), true, nil
	}
	if !errors.Is(err, mongo.ErrNoDocuments) {
		return chat.RefreshToken{}, false, s.fail(ctx, "consume refresh token", err)
	}
	t, err := s.RefreshToken(ctx, hash)
	if err != nil {
		return chat.RefreshToken{}, false, err
	}
	return t, false, nil
}

// SetSuccessor implements chat.TokenStore.
func (s *Store) SetSuccessor(ctx context.Context, hash string, sealed []byte) (bool, error) {
	var d tokenDoc
	err := s.tokens().FindOneAndUpdate(ctx,
		bson.D{{Key: "_id", Value: hash}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "successor", Value: sealed}}}},
		options.FindOneAndUpdate().SetReturnDocument(options.After),
	).Decode(&d)
	if err != nil {
		return false, s.notFound(ctx, "set successor", err)
	}
	return d.Revoked, nil
}

// ClaimGrace implements chat.TokenStore: one findAndModify that matches only a token with
// a successor and an unused grace, and removes the successor it hands out.
func (s *Store) ClaimGrace(ctx context.Context, hash string) (chat.RefreshToken, bool, error) {
	var d tokenDoc
	err := s.tokens().FindOneAndUpdate(ctx,
		bson.D{
			{Key: "_id", Value: hash},
			{Key: "successor", Value: bson.D{{Key: "$exists", Value: true}}},
			{Key: "graceUsed", Value: bson.D{{Key: "$ne", Value: true}}},
		},
		bson.D{
			{Key: "$set", Value: bson.D{{Key: "graceUsed", Value: true}}},
			{Key: "$unset", Value: bson.D{{Key: "successor", Value: ""}, {Key: "graceFrom", Value: ""}}},
		},
		options.FindOneAndUpdate().SetReturnDocument(options.Before),
	).Decode(&d)
	if err == nil {
		return d.token(), true, nil
	}
	if !errors.Is(err, mongo.ErrNoDocuments) {
		return chat.RefreshToken{}, false, s.fail(ctx, "claim refresh grace", err)
	}
	t, err := s.RefreshToken(ctx, hash)
	if err != nil {
		return chat.RefreshToken{}, false, err
	}
	return t, false, nil
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

// RevokeUserTokens implements chat.TokenStore.
func (s *Store) RevokeUserTokens(ctx context.Context, userID string) error {
	_, err := s.tokens().UpdateMany(ctx,
		bson.D{{Key: "userId", Value: userID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "revoked", Value: true}}}})
	if err != nil {
		return s.fail(ctx, "revoke tokens of user "+userID, err)
	}
	return nil
}

// TokenFamilies implements chat.TokenStore. The tokens of one user within an access
// token's lifetime are few, so they are read and de-duplicated here rather than with
// distinct.
func (s *Store) TokenFamilies(ctx context.Context, userID string, since time.Time) ([]string, error) {
	what := "token families of user " + userID
	cur, err := s.tokens().Find(ctx,
		bson.D{{Key: "userId", Value: userID}, {Key: "createdAt", Value: bson.D{{Key: "$gte", Value: date(since)}}}},
		options.Find().SetProjection(bson.D{{Key: "familyId", Value: 1}}))
	if err != nil {
		return nil, s.fail(ctx, what, err)
	}
	var docs []struct {
		FamilyID string `bson:"familyId"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, s.fail(ctx, what, err)
	}
	seen := make(map[string]bool, len(docs))
	var out []string
	for _, d := range docs {
		if !seen[d.FamilyID] {
			seen[d.FamilyID] = true
			out = append(out, d.FamilyID)
		}
	}
	return out, nil
}

// DropSuccessors implements chat.TokenStore.
func (s *Store) DropSuccessors(ctx context.Context, usedBefore time.Time) (int64, error) {
	// A token whose first use failed before recording its successor keeps graceFrom (and
	// its index entry) until it is pruned at expiry: rare, and harmless.
	res, err := s.tokens().UpdateMany(ctx,
		bson.D{
			{Key: "graceFrom", Value: bson.D{{Key: "$lt", Value: date(usedBefore)}}},
			{Key: "successor", Value: bson.D{{Key: "$exists", Value: true}}},
		},
		bson.D{{Key: "$unset", Value: bson.D{{Key: "successor", Value: ""}, {Key: "graceFrom", Value: ""}}}})
	if err != nil {
		return 0, s.fail(ctx, "drop successors", err)
	}
	return res.ModifiedCount, nil
}

// PruneRefreshTokens implements chat.TokenStore.
func (s *Store) PruneRefreshTokens(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.tokens().DeleteMany(ctx, bson.D{{Key: "expiresAt", Value: bson.D{{Key: "$lte", Value: date(now)}}}})
	if err != nil {
		return 0, s.fail(ctx, "prune refresh tokens", err)
	}
	return res.DeletedCount, nil
}
