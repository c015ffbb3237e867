package mongo

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/internal/keyrange"
)

// colAudit holds the administrators' audit log; its time-ordered _id pages it.
const colAudit = "audit"

func (s *Store) audit() *mongo.Collection { return s.db().Collection(colAudit) }

// SetAdmin implements chat.UserAdminStore.
func (s *Store) SetAdmin(ctx context.Context, userID string, admin bool) error {
	res, err := s.users().UpdateOne(ctx, bson.D{{Key: "_id", Value: userID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "admin", Value: admin}}}})
	if err != nil {
		return s.fail(ctx, "set admin "+userID, err)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("mongo: set admin %s: %w", userID, chat.ErrNotFound)
	}
	return nil
}

// SetSuspended implements chat.UserAdminStore.
func (s *Store) SetSuspended(ctx context.Context, userID string, at *time.Time) (chat.User, error) {
	update := bson.D{{Key: "$unset", Value: bson.D{{Key: "suspendedAt", Value: ""}}}}
	if at != nil {
		update = bson.D{{Key: "$set", Value: bson.D{{Key: "suspendedAt", Value: date(*at)}}}}
	}
	// An update then a read, not findAndModify: a projection there is not supported
	// everywhere, and the password hash stays on the server.
	res, err := s.users().UpdateOne(ctx, bson.D{{Key: "_id", Value: userID}}, update)
	if err != nil {
		return chat.User{}, s.fail(ctx, "suspend "+userID, err)
	}
	if res.MatchedCount == 0 {
		return chat.User{}, fmt.Errorf("mongo: suspend %s: %w", userID, chat.ErrNotFound)
	}
	return s.User(ctx, userID)
}

// ListUsers implements chat.UserAdminStore.
func (s *Store) ListUsers(ctx context.Context, prefix, after string, limit int) ([]chat.User, bool, error) {
	if limit < 1 {
		return nil, false, fmt.Errorf("mongo: list users: limit %d, want at least 1", limit)
	}
	filter := bson.D{{Key: "usernameLower", Value: bson.D{{Key: "$gt", Value: after}}}}
	if key := chat.FoldKey(prefix); key != "" {
		rng := bson.D{{Key: "$gte", Value: key}}
		if end, ok := keyrange.PrefixEnd(key); ok {
			rng = append(rng, bson.E{Key: "$lt", Value: end})
		}
		filter = append(filter, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "usernameLower", Value: rng}},
			bson.D{{Key: "displayLower", Value: rng}},
		}})
	}
	users, err := s.findUsers(ctx, "list users", filter, options.Find().
		SetProjection(noPasswordHash()).
		SetSort(bson.D{{Key: "usernameLower", Value: 1}}).
		SetLimit(int64(limit)+1))
	if err != nil {
		return nil, false, err
	}
	more := len(users) > limit
	return users[:min(len(users), limit)], more, nil
}

type auditDoc struct {
	ID         string        `bson:"_id"`
	ActorID    string        `bson:"actorId"`
	Via        string        `bson:"via"`
	Action     string        `bson:"action"`
	TargetType string        `bson:"targetType"`
	TargetID   string        `bson:"targetId"`
	Detail     string        `bson:"detail"`
	CreatedAt  bson.DateTime `bson:"createdAt"`
}

// AddAudit implements chat.AuditStore.
func (s *Store) AddAudit(ctx context.Context, e chat.AuditEntry) error {
	_, err := s.audit().InsertOne(ctx, auditDoc{
		ID: e.ID, ActorID: e.ActorID, Via: e.Via, Action: e.Action, TargetType: e.TargetType,
		TargetID: e.TargetID, Detail: e.Detail, CreatedAt: date(e.CreatedAt.Time),
	})
	if err != nil {
		return s.fail(ctx, "add audit "+e.Action, err)
	}
	return nil
}

// Audit implements chat.AuditStore.
func (s *Store) Audit(ctx context.Context, before string, limit int) ([]chat.AuditEntry, bool, error) {
	if limit < 1 {
		return nil, false, fmt.Errorf("mongo: audit: limit %d, want at least 1", limit)
	}
	filter := bson.D{}
	if before != "" {
		filter = bson.D{{Key: "_id", Value: bson.D{{Key: "$lt", Value: before}}}}
	}
	cur, err := s.audit().Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: -1}}).SetLimit(int64(limit)+1))
	if err != nil {
		return nil, false, s.fail(ctx, "audit", err)
	}
	var docs []auditDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, false, s.fail(ctx, "audit", err)
	}
	out := make([]chat.AuditEntry, 0, len(docs))
	for _, d := range docs {
		out = append(out, chat.AuditEntry{
			ID: d.ID, ActorID: d.ActorID, Via: d.Via, Action: d.Action, TargetType: d.TargetType,
			TargetID: d.TargetID, Detail: d.Detail, CreatedAt: chat.At(fromDate(d.CreatedAt)),
		})
	}
	more := len(out) > limit
	return out[:min(len(out), limit)], more, nil
}

var (
	_ chat.UserAdminStore = (*Store)(nil)
	_ chat.AuditStore     = (*Store)(nil)
)
