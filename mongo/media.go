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

var (
	_ chat.MediaStore      = (*Store)(nil)
	_ chat.MediaUsageStore = (*Store)(nil)
)

const colMedia = "media"

// mediaDoc is a media record as stored, keyed by its id.
type mediaDoc struct {
	ID          string        `bson:"_id"`
	RoomID      string        `bson:"roomId"`
	UploaderID  string        `bson:"uploaderId"`
	Filename    string        `bson:"filename"`
	ContentType string        `bson:"contentType"`
	Size        int64         `bson:"size"`
	Width       int           `bson:"width"`
	Height      int           `bson:"height"`
	HasThumb    bool          `bson:"hasThumb"`
	Pending     bool          `bson:"pending"`
	Attached    bool          `bson:"attached"`
	CreatedAt   bson.DateTime `bson:"createdAt"`
}

func (d mediaDoc) media() chat.Media {
	return chat.Media{
		ID: d.ID, RoomID: d.RoomID, UploaderID: d.UploaderID, Filename: d.Filename,
		ContentType: d.ContentType, Size: d.Size, Width: d.Width, Height: d.Height,
		HasThumb: d.HasThumb, Pending: d.Pending, Attached: d.Attached,
		CreatedAt: chat.At(fromDate(d.CreatedAt)),
	}
}

func (s *Store) media() *mongo.Collection { return s.db().Collection(colMedia) }

// CreateMedia implements chat.MediaStore.
func (s *Store) CreateMedia(ctx context.Context, m chat.Media) error {
	_, err := s.media().InsertOne(ctx, mediaDoc{
		ID: m.ID, RoomID: m.RoomID, UploaderID: m.UploaderID, Filename: m.Filename,
		ContentType: m.ContentType, Size: m.Size, Width: m.Width, Height: m.Height,
		HasThumb: m.HasThumb, Pending: m.Pending, Attached: m.Attached, CreatedAt: date(m.CreatedAt.Time),
	})
	if mongo.IsDuplicateKeyError(err) {
		return fmt.Errorf("mongo: create media %s: %w", m.ID, chat.ErrConflict)
	}
	if err != nil {
		return s.fail(ctx, "create media "+m.ID, err)
	}
	return nil
}

// Media implements chat.MediaStore.
func (s *Store) Media(ctx context.Context, id string) (chat.Media, error) {
	var d mediaDoc
	if err := s.media().FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return chat.Media{}, s.notFound(ctx, "media "+id, err)
	}
	return d.media(), nil
}

// UpdateMedia implements chat.MediaStore.
func (s *Store) UpdateMedia(ctx context.Context, m chat.Media) error {
	return s.updateMedia(ctx, "update media "+m.ID, m.ID, bson.D{
		{Key: "contentType", Value: m.ContentType}, {Key: "size", Value: m.Size},
		{Key: "width", Value: m.Width}, {Key: "height", Value: m.Height},
		{Key: "hasThumb", Value: m.HasThumb}, {Key: "pending", Value: m.Pending},
	})
}

// AttachMedia implements chat.MediaStore.
func (s *Store) AttachMedia(ctx context.Context, id string) error {
	return s.updateMedia(ctx, "attach media "+id, id, bson.D{{Key: "attached", Value: true}})
}

func (s *Store) updateMedia(ctx context.Context, what, id string, set bson.D) error {
	res, err := s.media().UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$set", Value: set}})
	if err != nil {
		return s.fail(ctx, what, err)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("mongo: %s: %w", what, chat.ErrNotFound)
	}
	return nil
}

// DetachMedia implements chat.MediaStore.
func (s *Store) DetachMedia(ctx context.Context, id string) error {
	_, err := s.media().UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$set", Value: bson.D{{Key: "attached", Value: false}}}})
	if err != nil {
		return s.fail(ctx, "detach media "+id, err)
	}
	return nil
}

// UnattachedMedia implements chat.MediaStore.
func (s *Store) UnattachedMedia(ctx context.Context, before time.Time, limit int) ([]chat.Media, error) {
	cur, err := s.media().Find(ctx,
		bson.D{{Key: "attached", Value: false}, {Key: "createdAt", Value: bson.D{{Key: "$lt", Value: date(before)}}}},
		options.Find().SetSort(bson.D{{Key: "createdAt", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, s.fail(ctx, "unattached media", err)
	}
	var docs []mediaDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, s.fail(ctx, "unattached media", err)
	}
	out := make([]chat.Media, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.media())
	}
	return out, nil
}

// DeleteUnattachedMedia implements chat.MediaStore. The condition and the delete are one
// operation on one document, so an AttachMedia either comes first (nothing is deleted)
// or finds no document.
func (s *Store) DeleteUnattachedMedia(ctx context.Context, id string) (bool, error) {
	res, err := s.media().DeleteOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "attached", Value: false}})
	if err != nil {
		return false, s.fail(ctx, "delete media "+id, err)
	}
	return res.DeletedCount == 1, nil
}

// MediaUsage implements chat.MediaUsageStore: three reads of the uploader's range of the
// index uploaderId_1_createdAt_1 (the recent count, the oldest recent, the bytes of all).
// One aggregation would need $cond or $min in $group, which FerretDB does not implement.
func (s *Store) MediaUsage(ctx context.Context, uploaderID string, since time.Time) (chat.MediaUsage, error) {
	what := "media usage of " + uploaderID
	mine := bson.D{{Key: "uploaderId", Value: uploaderID}}
	recent := bson.D{{Key: "uploaderId", Value: uploaderID}, {Key: "createdAt", Value: bson.D{{Key: "$gte", Value: date(since)}}}}
	var u chat.MediaUsage
	n, err := s.media().CountDocuments(ctx, recent)
	if err != nil {
		return chat.MediaUsage{}, s.fail(ctx, what, err)
	}
	if n > 0 {
		var d struct {
			CreatedAt bson.DateTime `bson:"createdAt"`
		}
		err := s.media().FindOne(ctx, recent, options.FindOne().
			SetSort(bson.D{{Key: "createdAt", Value: 1}}).SetProjection(bson.D{{Key: "createdAt", Value: 1}})).Decode(&d)
		if err != nil && !errors.Is(err, mongo.ErrNoDocuments) { // deleted meanwhile: none
			return chat.MediaUsage{}, s.fail(ctx, what, err)
		}
		if err == nil {
			u.Recent, u.OldestRecent = int(n), fromDate(d.CreatedAt)
		}
	}
	cur, err := s.media().Aggregate(ctx, mongo.Pipeline{
		{{Key: "$match", Value: mine}},
		{{Key: "$group", Value: bson.D{{Key: "_id", Value: nil}, {Key: "bytes", Value: bson.D{{Key: "$sum", Value: "$size"}}}}}},
	})
	if err != nil {
		return chat.MediaUsage{}, s.fail(ctx, what, err)
	}
	var total []struct {
		Bytes int64 `bson:"bytes"`
	}
	if err := cur.All(ctx, &total); err != nil {
		return chat.MediaUsage{}, s.fail(ctx, what, err)
	}
	if len(total) == 1 {
		u.Bytes = total[0].Bytes
	}
	return u, nil
}
