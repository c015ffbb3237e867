package mongo

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chatchat/chatchat/chat"
)

var _ chat.PushStore = (*Store)(nil)

// Collection names of push devices and the notification history.
const (
	colDevices       = "devices"
	colNotifications = "notifications"
)

// deviceDoc is a push token, keyed by the token itself: a token belongs to one user.
type deviceDoc struct {
	Token     string        `bson:"_id"`
	UserID    string        `bson:"userId"`
	Platform  string        `bson:"platform"`
	CreatedAt bson.DateTime `bson:"createdAt"`
}

// notificationDoc is one push attempt. The unique (messageId, token) index is what
// de-duplicates a redelivered push job.
type notificationDoc struct {
	ID        string        `bson:"_id"`
	UserID    string        `bson:"userId"`
	Token     string        `bson:"token"`
	MessageID string        `bson:"messageId"`
	RoomID    string        `bson:"roomId"`
	Seq       int64         `bson:"seq"`
	Platform  string        `bson:"platform"`
	Status    string        `bson:"status"`
	Error     string        `bson:"error"`
	Title     string        `bson:"title"`
	Body      string        `bson:"body"`
	CreatedAt bson.DateTime `bson:"createdAt"`
}

func (s *Store) devices() *mongo.Collection       { return s.db().Collection(colDevices) }
func (s *Store) notifications() *mongo.Collection { return s.db().Collection(colNotifications) }

// RegisterDevice implements chat.DeviceStore: one upsert of the token's document, whose
// previous owner tells whether the token is new to the user.
func (s *Store) RegisterDevice(ctx context.Context, d chat.Device) (bool, error) {
	for attempt := 0; ; attempt++ {
		var prev deviceDoc
		err := s.devices().FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: d.Token}},
			bson.D{
				{Key: "$set", Value: bson.D{{Key: "userId", Value: d.UserID}, {Key: "platform", Value: d.Platform}}},
				{Key: "$setOnInsert", Value: bson.D{{Key: "createdAt", Value: date(d.CreatedAt.Time)}}},
			},
			options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.Before)).Decode(&prev)
		switch {
		case errors.Is(err, mongo.ErrNoDocuments):
			return true, nil
		case mongo.IsDuplicateKeyError(err) && attempt == 0:
			// Two upserts of a new token raced and this one lost the insert: the
			// document exists now, so the retry updates it.
			continue
		case err != nil:
			return false, s.fail(ctx, "register device", err)
		}
		if prev.UserID == d.UserID {
			return false, nil
		}
		// Moved from another user: it is new to this one.
		if _, err := s.devices().UpdateOne(ctx, bson.D{{Key: "_id", Value: d.Token}, {Key: "userId", Value: d.UserID}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "createdAt", Value: date(d.CreatedAt.Time)}}}}); err != nil {
			return false, s.fail(ctx, "register device", err)
		}
		return true, nil
	}
}

// DeleteDevice implements chat.DeviceStore.
func (s *Store) DeleteDevice(ctx context.Context, userID, token string) error {
	res, err := s.devices().DeleteOne(ctx, bson.D{{Key: "_id", Value: token}, {Key: "userId", Value: userID}})
	if err != nil {
		return s.fail(ctx, "delete device", err)
	}
	if res.DeletedCount == 0 {
		return fmt.Errorf("mongo: delete device: %w", chat.ErrNotFound)
	}
	return nil
}

// DeleteToken implements chat.DeviceStore.
func (s *Store) DeleteToken(ctx context.Context, token string) error {
	if _, err := s.devices().DeleteOne(ctx, bson.D{{Key: "_id", Value: token}}); err != nil {
		return s.fail(ctx, "delete token", err)
	}
	return nil
}

// Devices implements chat.DeviceStore.
func (s *Store) Devices(ctx context.Context, userIDs []string) ([]chat.Device, error) {
	ids := chat.UniqueIDs(userIDs)
	out := []chat.Device{}
	for len(ids) > 0 {
		n := min(len(ids), 1000)
		cur, err := s.devices().Find(ctx, bson.D{{Key: "userId", Value: bson.D{{Key: "$in", Value: ids[:n]}}}})
		if err != nil {
			return nil, s.fail(ctx, "devices", err)
		}
		var docs []deviceDoc
		if err := cur.All(ctx, &docs); err != nil {
			return nil, s.fail(ctx, "devices", err)
		}
		for _, d := range docs {
			out = append(out, chat.Device{Token: d.Token, UserID: d.UserID, Platform: d.Platform, CreatedAt: chat.At(fromDate(d.CreatedAt))})
		}
		ids = ids[n:]
	}
	return out, nil
}

// AddNotification implements chat.NotificationLog.
func (s *Store) AddNotification(ctx context.Context, n chat.Notification) error {
	_, err := s.notifications().InsertOne(ctx, notificationDoc{
		ID: n.ID, UserID: n.UserID, Token: n.Token, MessageID: n.MessageID, RoomID: n.RoomID, Seq: n.Seq,
		Platform: n.Platform, Status: n.Status, Error: n.Error, Title: n.Title, Body: n.Body,
		CreatedAt: date(n.CreatedAt.Time),
	})
	if mongo.IsDuplicateKeyError(err) {
		return fmt.Errorf("mongo: add notification for message %s: %w", n.MessageID, chat.ErrConflict)
	}
	if err != nil {
		return s.fail(ctx, "add notification", err)
	}
	return nil
}

// NotifiedTokens implements chat.NotificationLog.
func (s *Store) NotifiedTokens(ctx context.Context, messageID string) ([]string, error) {
	cur, err := s.notifications().Find(ctx, bson.D{{Key: "messageId", Value: messageID}},
		options.Find().SetProjection(bson.D{{Key: "token", Value: 1}}))
	if err != nil {
		return nil, s.fail(ctx, "notified tokens", err)
	}
	var docs []notificationDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, s.fail(ctx, "notified tokens", err)
	}
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = d.Token
	}
	return out, nil
}

// Notifications implements chat.NotificationLog.
func (s *Store) Notifications(ctx context.Context, userID, beforeID string, limit int) ([]chat.Notification, bool, error) {
	if limit <= 0 {
		limit = 50
	}
	filter := bson.D{{Key: "userId", Value: userID}}
	if beforeID != "" {
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$lt", Value: beforeID}}})
	}
	cur, err := s.notifications().Find(ctx, filter,
		options.Find().SetSort(bson.D{{Key: "_id", Value: -1}}).SetLimit(int64(limit+1)))
	if err != nil {
		return nil, false, s.fail(ctx, "notifications", err)
	}
	var docs []notificationDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, false, s.fail(ctx, "notifications", err)
	}
	more := len(docs) > limit
	if more {
		docs = docs[:limit]
	}
	out := make([]chat.Notification, len(docs))
	for i, d := range docs {
		out[i] = chat.Notification{
			ID: d.ID, UserID: d.UserID, Token: d.Token, MessageID: d.MessageID, RoomID: d.RoomID, Seq: d.Seq,
			Platform: d.Platform, Status: d.Status, Error: d.Error, Title: d.Title, Body: d.Body,
			CreatedAt: chat.At(fromDate(d.CreatedAt)),
		}
	}
	return out, more, nil
}

// MemberDevices implements chat.DeviceStore. Without joins it reads the room's memberships
// and then the devices of those users; the worker still skips the members without one.
func (s *Store) MemberDevices(ctx context.Context, roomID string) ([]chat.MemberDevice, error) {
	members, err := s.Members(ctx, roomID)
	if err != nil {
		return nil, err
	}
	byUser := make(map[string]chat.Member, len(members))
	ids := make([]string, 0, len(members))
	for _, m := range members {
		byUser[m.UserID] = m
		ids = append(ids, m.UserID)
	}
	devices, err := s.Devices(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]chat.MemberDevice, 0, len(devices))
	for _, d := range devices {
		out = append(out, chat.MemberDevice{Member: byUser[d.UserID], Device: d})
	}
	return out, nil
}
