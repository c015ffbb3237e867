package mongo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chatchat/chatchat/chat"
)

// SenderMessages implements chat.UserDataStore: a range of the (senderId, _id) index.
func (s *Store) SenderMessages(ctx context.Context, senderID, afterID string, limit int) ([]chat.Message, error) {
	if limit < 1 {
		return nil, fmt.Errorf("mongo: sender messages: limit %d, want at least 1", limit)
	}
	msgs, err := s.findMessages(ctx, "messages of sender "+senderID,
		bson.D{{Key: "senderId", Value: senderID}, {Key: "_id", Value: bson.D{{Key: "$gt", Value: afterID}}}},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, err
	}
	if msgs == nil {
		msgs = []chat.Message{}
	}
	return msgs, nil
}

// EraseProfile implements chat.UserDataStore. usernameLower keeps the old name, which holds
// it (its unique index) until ReleaseUsernames; nameHeld marks that.
func (s *Store) EraseProfile(ctx context.Context, userID string, at time.Time) error {
	name := "deleted-" + strings.ToLower(userID)
	what := "erase user " + userID
	var d struct {
		ErasedAt *bson.DateTime `bson:"erasedAt"`
	}
	if err := s.users().FindOne(ctx, bson.D{{Key: "_id", Value: userID}}).Decode(&d); err != nil {
		return s.notFound(ctx, what, err)
	}
	set := bson.D{
		{Key: "username", Value: name},
		{Key: "displayName", Value: chat.ErasedName}, {Key: "displayLower", Value: chat.FoldKey(chat.ErasedName)},
		{Key: "passwordHash", Value: ""}, {Key: "admin", Value: false},
	}
	if d.ErasedAt == nil {
		set = append(set, bson.E{Key: "erasedAt", Value: date(at)}, bson.E{Key: "nameHeld", Value: true})
	}
	res, err := s.users().UpdateOne(ctx, bson.D{{Key: "_id", Value: userID}}, bson.D{
		{Key: "$set", Value: set},
		{Key: "$unset", Value: bson.D{{Key: "erasingAt", Value: ""}}},
	})
	if err != nil {
		return s.fail(ctx, what, err)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("mongo: %s: %w", what, chat.ErrNotFound)
	}
	return nil
}

// MarkErasing implements chat.UserDataStore.
func (s *Store) MarkErasing(ctx context.Context, userID string, at time.Time) error {
	what := "mark erasing " + userID
	res, err := s.users().UpdateOne(ctx,
		bson.D{{Key: "_id", Value: userID}, {Key: "erasingAt", Value: bson.D{{Key: "$exists", Value: false}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "erasingAt", Value: date(at)}}}})
	if err != nil {
		return s.fail(ctx, what, err)
	}
	if res.MatchedCount == 0 {
		// Marked already, or no such user.
		n, err := s.users().CountDocuments(ctx, bson.D{{Key: "_id", Value: userID}})
		if err != nil {
			return s.fail(ctx, what, err)
		}
		if n == 0 {
			return fmt.Errorf("mongo: %s: %w", what, chat.ErrNotFound)
		}
	}
	return nil
}

// ErasingUsers implements chat.UserDataStore.
func (s *Store) ErasingUsers(ctx context.Context, limit int) ([]string, error) {
	cur, err := s.users().Find(ctx, bson.D{{Key: "erasingAt", Value: bson.D{{Key: "$exists", Value: true}}}},
		options.Find().SetSort(bson.D{{Key: "erasingAt", Value: 1}}).SetLimit(int64(limit)).SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, s.fail(ctx, "erasing users", err)
	}
	var docs []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, s.fail(ctx, "erasing users", err)
	}
	out := make([]string, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.ID)
	}
	return out, nil
}

// ReleaseUsernames implements chat.UserDataStore: usernameLower becomes the erased name's.
func (s *Store) ReleaseUsernames(ctx context.Context, erasedBefore time.Time) (int, error) {
	cur, err := s.users().Find(ctx, bson.D{{Key: "nameHeld", Value: true}, {Key: "erasedAt", Value: bson.D{{Key: "$lt", Value: date(erasedBefore)}}}},
		options.Find().SetProjection(bson.D{{Key: "username", Value: 1}}))
	if err != nil {
		return 0, s.fail(ctx, "release usernames", err)
	}
	var docs []struct {
		ID       string `bson:"_id"`
		Username string `bson:"username"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return 0, s.fail(ctx, "release usernames", err)
	}
	for _, d := range docs {
		if _, err := s.users().UpdateOne(ctx, bson.D{{Key: "_id", Value: d.ID}, {Key: "nameHeld", Value: true}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "usernameLower", Value: chat.FoldKey(d.Username)}}},
				{Key: "$unset", Value: bson.D{{Key: "nameHeld", Value: ""}}}}); err != nil {
			return 0, s.fail(ctx, "release usernames", err)
		}
	}
	return len(docs), nil
}

// DeleteUserNotifications implements chat.NotificationEraser.
func (s *Store) DeleteUserNotifications(ctx context.Context, userID string) error {
	if _, err := s.notifications().DeleteMany(ctx, bson.D{{Key: "userId", Value: userID}}); err != nil {
		return s.fail(ctx, "delete notifications of "+userID, err)
	}
	return nil
}

var _ chat.UserDataStore = (*Store)(nil)
