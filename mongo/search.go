package mongo

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chatchat/chatchat/chat"
)

// Search keeps, in each message, the prefixes of its words (chat.SearchTokens) in the
// field tokens, indexed with its room and id: a query word is one of them, so a search is
// an $all on an array of strings, which DocumentDB 5.0 and every MongoDB-wire server run
// on an ordinary multikey index. DocumentDB 5.0's own text index was not used: it does not
// match word prefixes, stems only for some languages and lacks Korean (docs/mongodb.md).
// The field is written with the text (CreateMessage, an edit) and removed with it (a
// delete), in the same update.

// searchBatch is how many candidates one round of a search reads when words are longer
// than the prefixes stored and each candidate must be checked against its text.
const searchBatch = 100

// SearchMessages implements chat.MessageSearch: newest first by id (ids are time-ordered),
// paged by q.BeforeID, which must be a message (else chat.ErrNotFound).
func (s *Store) SearchMessages(ctx context.Context, q chat.SearchQuery) ([]chat.Message, bool, error) {
	if q.MatchesNothing() {
		return nil, false, nil
	}
	limit := q.PageSize()
	tokens := make([]string, 0, len(q.Words))
	check := false // a word was cut to the stored prefix: candidates are checked
	for _, w := range q.Words {
		p := chat.TokenPrefix(w)
		check = check || p != w
		tokens = append(tokens, p)
	}
	before := ""
	if q.BeforeID != "" {
		err := s.messages().FindOne(ctx, bson.D{{Key: "_id", Value: q.BeforeID}},
			options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err()
		if errors.Is(err, mongo.ErrNoDocuments) {
			return nil, false, chat.ErrNotFound
		}
		if err != nil {
			return nil, false, s.fail(ctx, "search messages", err)
		}
		before = q.BeforeID
	}
	batch := int64(limit + 1)
	if check {
		batch = max(batch, searchBatch)
	}
	var found []messageDoc
	for {
		filter := bson.D{
			{Key: "roomId", Value: bson.D{{Key: "$in", Value: q.RoomIDs}}},
			{Key: "tokens", Value: bson.D{{Key: "$all", Value: tokens}}},
			{Key: "deletedAt", Value: bson.D{{Key: "$exists", Value: false}}},
		}
		if before != "" {
			filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$lt", Value: before}}})
		}
		cur, err := s.messages().Find(ctx, filter, options.Find().
			SetSort(bson.D{{Key: "_id", Value: -1}}).
			SetLimit(batch).
			SetProjection(bson.D{{Key: "idemKey", Value: 0}, {Key: "tokens", Value: 0}}))
		if err != nil {
			return nil, false, s.fail(ctx, "search messages", err)
		}
		var docs []messageDoc
		if err := cur.All(ctx, &docs); err != nil {
			return nil, false, s.fail(ctx, "search messages", err)
		}
		for _, d := range docs {
			if !check || chat.MatchesWords(d.Text, q.Words) {
				found = append(found, d)
			}
		}
		if len(found) > limit || int64(len(docs)) < batch {
			break
		}
		before = docs[len(docs)-1].ID
	}
	more := len(found) > limit
	if more {
		found = found[:limit]
	}
	msgs, err := s.complete(ctx, "search messages", found)
	return msgs, more, err
}

// backfillTokens gives the messages stored before search existed their tokens, in
// batches, in the background of a started store (Close stops it; the next start goes on
// where it stopped). A message edited meanwhile is skipped by the text condition: its edit
// wrote its tokens.
func (s *Store) backfillTokens() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	total := 0
	for ctx.Err() == nil {
		bctx, bcancel := context.WithTimeout(ctx, 30*time.Second)
		n, err := s.backfillTokenBatch(bctx)
		bcancel()
		if err != nil {
			if ctx.Err() == nil {
				s.logger.Warn("mongo: giving old messages their search tokens failed; the next start goes on", "err", err)
			}
			return
		}
		total += n
		if n == 0 {
			break
		}
	}
	if total > 0 {
		s.logger.Info("mongo: old messages given their search tokens", "messages", total)
	}
}

func (s *Store) backfillTokenBatch(ctx context.Context) (int, error) {
	cur, err := s.messages().Find(ctx, bson.D{
		{Key: "tokens", Value: bson.D{{Key: "$exists", Value: false}}},
		{Key: "text", Value: bson.D{{Key: "$gt", Value: ""}}},
		{Key: "deletedAt", Value: bson.D{{Key: "$exists", Value: false}}},
	}, options.Find().SetLimit(500).SetProjection(bson.D{{Key: "text", Value: 1}}))
	if err != nil {
		return 0, err
	}
	var docs []struct {
		ID   string `bson:"_id"`
		Text string `bson:"text"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return 0, err
	}
	for _, d := range docs {
		tokens := chat.SearchTokens(d.Text)
		if tokens == nil {
			tokens = []string{} // stored as an empty array, so that it is not picked again
		}
		if _, err := s.messages().UpdateOne(ctx,
			bson.D{{Key: "_id", Value: d.ID}, {Key: "text", Value: d.Text}, {Key: "tokens", Value: bson.D{{Key: "$exists", Value: false}}}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "tokens", Value: tokens}}}}); err != nil {
			return 0, err
		}
	}
	return len(docs), nil
}
