package mongo

import (
	"context"
	"errors"
	"fmt"

	"github.com/chatchat/chatchat/internal/keyrange"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chatchat/chatchat/chat"
)

// userDoc is a user as stored. The lower-cased copies make uniqueness and prefix search
// case-insensitive through plain indexes.
type userDoc struct {
	ID            string        `bson:"_id"`
	Username      string        `bson:"username"`
	UsernameLower string        `bson:"usernameLower"`
	DisplayName   string        `bson:"displayName"`
	DisplayLower  string        `bson:"displayLower"`
	PasswordHash  string        `bson:"passwordHash"`
	CreatedAt     bson.DateTime `bson:"createdAt"`
	// Admin and SuspendedAt are absent on users stored before administration existed,
	// which reads as neither.
	Admin       bool           `bson:"admin,omitempty"`
	SuspendedAt *bson.DateTime `bson:"suspendedAt,omitempty"`
}

func (d userDoc) user() chat.User {
	u := chat.User{ID: d.ID, Username: d.Username, DisplayName: d.DisplayName, CreatedAt: chat.At(fromDate(d.CreatedAt)), Admin: d.Admin}
	if d.SuspendedAt != nil {
		t := chat.At(fromDate(*d.SuspendedAt))
		u.SuspendedAt = &t
	}
	return u
}

// noPasswordHash is the projection of user look-ups that do not need the hash: it stays on
// the server.
func noPasswordHash() bson.D { return bson.D{{Key: "passwordHash", Value: 0}} }

// CreateUser implements chat.UserStore. The unique index on the lower-cased username
// decides concurrent sign-ups of one name: one insert wins, the others get a duplicate key.
func (s *Store) CreateUser(ctx context.Context, u chat.User, passwordHash string) error {
	_, err := s.users().InsertOne(ctx, userDoc{
		ID: u.ID, Username: u.Username, UsernameLower: chat.FoldKey(u.Username),
		DisplayName: u.DisplayName, DisplayLower: chat.FoldKey(u.DisplayName),
		PasswordHash: passwordHash, CreatedAt: date(u.CreatedAt.Time),
	})
	if mongo.IsDuplicateKeyError(err) {
		return fmt.Errorf("mongo: create user %q: %w", u.Username, chat.ErrConflict)
	}
	if err != nil {
		return s.fail(ctx, fmt.Sprintf("create user %q", u.Username), err)
	}
	return nil
}

// User implements chat.UserStore.
func (s *Store) User(ctx context.Context, id string) (chat.User, error) {
	var d userDoc
	err := s.users().FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if err != nil {
		return chat.User{}, s.notFound(ctx, "user "+id, err)
	}
	return d.user(), nil
}

// UserByUsername implements chat.UserStore.
func (s *Store) UserByUsername(ctx context.Context, username string) (chat.User, string, error) {
	var d userDoc
	err := s.users().FindOne(ctx, bson.D{{Key: "usernameLower", Value: chat.FoldKey(username)},
		{Key: "erasedAt", Value: bson.D{{Key: "$exists", Value: false}}}}).Decode(&d)
	if err != nil {
		return chat.User{}, "", s.notFound(ctx, fmt.Sprintf("user by username %q", username), err)
	}
	return d.user(), d.PasswordHash, nil
}

// UsersByIDs implements chat.UserStore.
func (s *Store) UsersByIDs(ctx context.Context, ids []string) ([]chat.User, error) {
	ids = chat.UniqueIDs(ids)
	if len(ids) == 0 {
		return []chat.User{}, nil
	}
	return s.findUsers(ctx, "users by ids", bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}},
		options.Find().SetProjection(noPasswordHash()))
}

// SearchUsers implements chat.UserStore. A limit of zero or less means 20.
func (s *Store) SearchUsers(ctx context.Context, prefix string, limit int) ([]chat.User, error) {
	if limit <= 0 {
		limit = 20
	}
	key := chat.FoldKey(prefix)
	// A prefix match as a range, [key, successor of key), so that each side of the $or
	// is a scan of its index; an anchored $regex would need escaping and, with the
	// case-insensitive flag, could not use the index.
	var filter bson.D
	if end, ok := keyrange.PrefixEnd(key); ok {
		rng := bson.D{{Key: "$gte", Value: key}, {Key: "$lt", Value: end}}
		filter = bson.D{{Key: "$or", Value: bson.A{
			bson.D{{Key: "usernameLower", Value: rng}},
			bson.D{{Key: "displayLower", Value: rng}},
		}}}
	} else {
		filter = bson.D{} // every key starts with ""
	}
	filter = append(filter, bson.E{Key: "erasedAt", Value: bson.D{{Key: "$exists", Value: false}}})
	opts := options.Find().
		SetProjection(noPasswordHash()).
		SetSort(bson.D{{Key: "usernameLower", Value: 1}}).
		SetLimit(int64(limit))
	return s.findUsers(ctx, fmt.Sprintf("search users %q", prefix), filter, opts)
}

func (s *Store) findUsers(ctx context.Context, what string, filter bson.D, opts *options.FindOptionsBuilder) ([]chat.User, error) {
	cur, err := s.users().Find(ctx, filter, opts)
	if err != nil {
		return nil, s.fail(ctx, what, err)
	}
	var docs []userDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, s.fail(ctx, what, err)
	}
	users := make([]chat.User, 0, len(docs))
	for _, d := range docs {
		users = append(users, d.user())
	}
	return users, nil
}

// notFound turns mongo.ErrNoDocuments into chat.ErrNotFound and wraps other errors as
// fail does.
func (s *Store) notFound(ctx context.Context, what string, err error) error {
	if errors.Is(err, mongo.ErrNoDocuments) {
		return fmt.Errorf("mongo: %s: %w", what, chat.ErrNotFound)
	}
	return s.fail(ctx, what, err)
}
