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

const colReports = "reports"

func (s *Store) reports() *mongo.Collection { return s.db().Collection(colReports) }

type reportDoc struct {
	ID         string         `bson:"_id"`
	RoomID     string         `bson:"roomId"`
	MessageID  string         `bson:"messageId"`
	ReporterID string         `bson:"reporterId"`
	SenderID   string         `bson:"senderId"`
	Reason     string         `bson:"reason"`
	Status     string         `bson:"status"`
	Action     string         `bson:"action"`
	ResolvedBy string         `bson:"resolvedBy"`
	ResolvedAt *bson.DateTime `bson:"resolvedAt,omitempty"`
	CreatedAt  bson.DateTime  `bson:"createdAt"`
}

func (d reportDoc) report() chat.Report {
	r := chat.Report{
		ID: d.ID, RoomID: d.RoomID, MessageID: d.MessageID, ReporterID: d.ReporterID, SenderID: d.SenderID,
		Reason: d.Reason, Status: d.Status, Action: d.Action, ResolvedBy: d.ResolvedBy,
		CreatedAt: chat.At(fromDate(d.CreatedAt)),
	}
	if d.ResolvedAt != nil {
		t := chat.At(fromDate(*d.ResolvedAt))
		r.ResolvedAt = &t
	}
	return r
}

// CreateReport implements chat.ReportStore.
func (s *Store) CreateReport(ctx context.Context, r chat.Report) error {
	_, err := s.reports().InsertOne(ctx, reportDoc{
		ID: r.ID, RoomID: r.RoomID, MessageID: r.MessageID, ReporterID: r.ReporterID, SenderID: r.SenderID,
		Reason: r.Reason, Status: r.Status, Action: r.Action, ResolvedBy: r.ResolvedBy, CreatedAt: date(r.CreatedAt.Time),
	})
	if err != nil {
		return s.fail(ctx, "create report", err)
	}
	return nil
}

// Report implements chat.ReportStore.
func (s *Store) Report(ctx context.Context, id string) (chat.Report, error) {
	var d reportDoc
	if err := s.reports().FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return chat.Report{}, s.notFound(ctx, "report "+id, err)
	}
	return d.report(), nil
}

// Reports implements chat.ReportStore.
func (s *Store) Reports(ctx context.Context, status, before string, limit int) ([]chat.Report, bool, error) {
	if limit < 1 {
		return nil, false, fmt.Errorf("mongo: reports: limit %d, want at least 1", limit)
	}
	filter := bson.D{}
	if status != "" {
		filter = append(filter, bson.E{Key: "status", Value: status})
	}
	if before != "" {
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$lt", Value: before}}})
	}
	cur, err := s.reports().Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: -1}}).SetLimit(int64(limit)+1))
	if err != nil {
		return nil, false, s.fail(ctx, "reports", err)
	}
	var docs []reportDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, false, s.fail(ctx, "reports", err)
	}
	out := make([]chat.Report, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.report())
	}
	more := len(out) > limit
	return out[:min(len(out), limit)], more, nil
}

// CountReportsSince implements chat.ReportStore.
func (s *Store) CountReportsSince(ctx context.Context, reporterID string, since time.Time) (int, error) {
	n, err := s.reports().CountDocuments(ctx, bson.D{
		{Key: "reporterId", Value: reporterID},
		{Key: "createdAt", Value: bson.D{{Key: "$gte", Value: date(since)}}},
	})
	if err != nil {
		return 0, s.fail(ctx, "count reports", err)
	}
	return int(n), nil
}

// ResolveReport implements chat.ReportStore: the update matches an open report only, so
// that it resolves once.
func (s *Store) ResolveReport(ctx context.Context, id, action, by string, at time.Time) (chat.Report, bool, error) {
	res, err := s.reports().UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "status", Value: chat.ReportOpen}},
		bson.D{{Key: "$set", Value: bson.D{
			{Key: "status", Value: chat.ReportResolved}, {Key: "action", Value: action},
			{Key: "resolvedBy", Value: by}, {Key: "resolvedAt", Value: date(at)},
		}}})
	if err != nil {
		return chat.Report{}, false, s.fail(ctx, "resolve report "+id, err)
	}
	r, err := s.Report(ctx, id)
	if err != nil {
		return chat.Report{}, false, err
	}
	return r, res.ModifiedCount == 1, nil
}

var _ chat.ReportStore = (*Store)(nil)
