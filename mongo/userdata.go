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

// EraseProfile implements chat.UserDataStore.
func (s *Store) EraseProfile(ctx context.Context, userID string, at time.Time) error {
	name := "deleted-" + strings.ToLower(userID)
	res, err := s.users().UpdateOne(ctx, bson.D{{Key: "_id", Value: userID}}, bson.D{{Key: "$set", Value: bson.D{
		{Key: "username", Value: name}, {Key: "usernameLower", Value: chat.FoldKey(name)},
		{Key: "displayName", Value: chat.ErasedName}, {Key: "displayLower", Value: chat.FoldKey(chat.ErasedName)},
		{Key: "passwordHash", Value: ""}, {Key: "admin", Value: false}, {Key: "erasedAt", Value: date(at)},
	}}})
	if err != nil {
		return s.fail(ctx, "erase user "+userID, err)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("mongo: erase user %s: %w", userID, chat.ErrNotFound)
	}
	return nil
}

var _ chat.UserDataStore = (*Store)(nil)
