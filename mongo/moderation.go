package mongo

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chatchat/chatchat/chat"
)

var _ chat.ModerationStore = (*Store)(nil)

// colBans holds one document per ban, keyed by room and user.
const colBans = "bans"

func (s *Store) bans() *mongo.Collection { return s.db().Collection(colBans) }

type banDoc struct {
	ID        string        `bson:"_id"` // roomId + " " + userId: a ban is stored once
	RoomID    string        `bson:"roomId"`
	UserID    string        `bson:"userId"`
	BannedBy  string        `bson:"bannedBy"`
	CreatedAt bson.DateTime `bson:"createdAt"`
}

func banID(roomID, userID string) string { return roomID + " " + userID }

// UpdateRoom implements chat.ModerationStore.
func (s *Store) UpdateRoom(ctx context.Context, roomID string, name, description *string) error {
	what := "update room " + roomID
	set := bson.D{}
	if name != nil {
		set = append(set, bson.E{Key: "name", Value: *name})
	}
	if description != nil {
		set = append(set, bson.E{Key: "description", Value: *description})
	}
	if len(set) == 0 {
		_, err := s.lastSeq(ctx, what, roomID) // nothing to change: the room must exist
		return err
	}
	res, err := s.rooms().UpdateOne(ctx, bson.D{{Key: "_id", Value: roomID}}, bson.D{{Key: "$set", Value: set}})
	if err != nil {
		return s.fail(ctx, what, err)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("mongo: %s: %w", what, chat.ErrNotFound)
	}
	return nil
}

// SetRole implements chat.ModerationStore.
func (s *Store) SetRole(ctx context.Context, roomID, userID, role string) error {
	what := fmt.Sprintf("set role of %s in %s", userID, roomID)
	res, err := s.memberships().UpdateOne(ctx, memberKey(roomID, userID),
		bson.D{{Key: "$set", Value: bson.D{{Key: "role", Value: role}}}})
	if err != nil {
		return s.fail(ctx, what, err)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("mongo: %s: %w", what, chat.ErrNotFound)
	}
	return nil
}

// Ban implements chat.ModerationStore. The ban is written before the membership is
// removed: a failure in between leaves a banned member, whom a retried ban removes,
// rather than a removed user who could be added back.
func (s *Store) Ban(ctx context.Context, roomID, userID, byID string, at time.Time) (bool, error) {
	what := fmt.Sprintf("ban %s from %s", userID, roomID)
	if _, err := s.lastSeq(ctx, what, roomID); err != nil {
		return false, err
	}
	d := banDoc{ID: banID(roomID, userID), RoomID: roomID, UserID: userID, BannedBy: byID, CreatedAt: date(at)}
	_, err := s.bans().UpdateOne(ctx, bson.D{{Key: "_id", Value: d.ID}},
		bson.D{{Key: "$setOnInsert", Value: d}}, options.UpdateOne().SetUpsert(true))
	if err != nil && !mongo.IsDuplicateKeyError(err) { // two at once: one inserted it
		return false, s.fail(ctx, what, err)
	}
	return s.removeMember(ctx, what, roomID, userID)
}

// Unban implements chat.ModerationStore.
func (s *Store) Unban(ctx context.Context, roomID, userID string) error {
	what := fmt.Sprintf("unban %s from %s", userID, roomID)
	res, err := s.bans().DeleteOne(ctx, bson.D{{Key: "_id", Value: banID(roomID, userID)}})
	if err != nil {
		return s.fail(ctx, what, err)
	}
	if res.DeletedCount == 0 {
		return fmt.Errorf("mongo: %s: %w", what, chat.ErrNotFound)
	}
	return nil
}

// Banned implements chat.ModerationStore: look-ups by _id.
func (s *Store) Banned(ctx context.Context, roomID string, userIDs []string) ([]string, error) {
	userIDs = chat.UniqueIDs(userIDs)
	if len(userIDs) == 0 {
		return []string{}, nil
	}
	ids := make([]string, len(userIDs))
	for i, u := range userIDs {
		ids[i] = banID(roomID, u)
	}
	return s.banUsers(ctx, "banned in "+roomID, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
}

// Bans implements chat.ModerationStore: a range of the (roomId, createdAt) index.
func (s *Store) Bans(ctx context.Context, roomID string) ([]string, error) {
	return s.banUsers(ctx, "bans of "+roomID, bson.D{{Key: "roomId", Value: roomID}})
}

func (s *Store) banUsers(ctx context.Context, what string, filter bson.D) ([]string, error) {
	cur, err := s.bans().Find(ctx, filter, options.Find().
		SetSort(bson.D{{Key: "roomId", Value: 1}, {Key: "createdAt", Value: 1}, {Key: "userId", Value: 1}}))
	if err != nil {
		return nil, s.fail(ctx, what, err)
	}
	var docs []banDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, s.fail(ctx, what, err)
	}
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = d.UserID
	}
	return out, nil
}

// colMigrations records the one-time data migrations done, one document each.
const colMigrations = "migrations"

// ownersMigration names backfillOwners' marker.
const ownersMigration = "groupOwners"

// backfillOwners gives every group stored before roles an owner, once per database: its
// earliest member by joinedAt, ties by userId (the creator was not recorded, and a group's
// first members share its creation time). It runs at open until its marker is written,
// so a start that fails part-way does the rest the next time; two processes starting at
// once pick the same member. Groups created meanwhile by this version have an owner and
// are skipped.
func (s *Store) backfillOwners(ctx context.Context) error {
	const what = "backfill group owners"
	marker := bson.D{{Key: "_id", Value: ownersMigration}}
	n, err := s.db().Collection(colMigrations).CountDocuments(ctx, marker)
	if err != nil {
		return s.fail(ctx, what, err)
	}
	if n > 0 {
		return nil
	}
	cur, err := s.rooms().Find(ctx, bson.D{{Key: "type", Value: chat.RoomGroup}},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return s.fail(ctx, what, err)
	}
	defer cur.Close(ctx)
	done := 0
	for cur.Next(ctx) {
		var r struct {
			ID string `bson:"_id"`
		}
		if err := cur.Decode(&r); err != nil {
			return s.fail(ctx, what, err)
		}
		owners, err := s.memberships().CountDocuments(ctx, bson.D{{Key: "roomId", Value: r.ID}, {Key: "role", Value: chat.RoleOwner}})
		if err != nil {
			return s.fail(ctx, what, err)
		}
		if owners > 0 {
			continue
		}
		var first memberDoc
		err = s.memberships().FindOne(ctx, bson.D{{Key: "roomId", Value: r.ID}}, options.FindOne().SetSort(byJoinOrder())).Decode(&first)
		if isNoDocuments(err) {
			continue
		}
		if err != nil {
			return s.fail(ctx, what, err)
		}
		if _, err := s.memberships().UpdateOne(ctx, memberKey(r.ID, first.UserID),
			bson.D{{Key: "$set", Value: bson.D{{Key: "role", Value: chat.RoleOwner}}}}); err != nil {
			return s.fail(ctx, what, err)
		}
		done++
	}
	if err := cur.Err(); err != nil {
		return s.fail(ctx, what, err)
	}
	_, err = s.db().Collection(colMigrations).InsertOne(ctx, bson.D{{Key: "_id", Value: ownersMigration}, {Key: "at", Value: bson.NewDateTimeFromTime(time.Now())}})
	if err != nil && !mongo.IsDuplicateKeyError(err) {
		return s.fail(ctx, what, err)
	}
	s.logger.Info("mongo: groups without an owner given one", "groups", done)
	return nil
}
