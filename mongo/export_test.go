package mongo

import (
	"go.mongodb.org/mongo-driver/v2/bson"

	"context"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// ClaimOnly takes only the first step of CreateMessage, as a sender that fails right after
// it would: the client id of m is claimed and no message is stored.
func ClaimOnly(ctx context.Context, s *Store, m chat.Message) error {
	_, err := s.claims().InsertOne(ctx, claimDoc{
		MessageID: m.ID, SenderID: m.SenderID, ClientMsgID: m.ClientMsgID, ClaimedAt: date(time.Now()),
	})
	return err
}

// StoreLegacyRoom stores a room as versions before roles did (no createdBy, memberships
// without a role), joined[i] being when members[i] joined, and forgets that the owners'
// backfill ran, as in a database those versions wrote.
func StoreLegacyRoom(ctx context.Context, s *Store, id, typ string, members []string, joined []time.Time) error {
	for i, uid := range members {
		if _, err := s.memberships().InsertOne(ctx, struct {
			RoomID   string    `bson:"roomId"`
			UserID   string    `bson:"userId"`
			JoinedAt time.Time `bson:"joinedAt"`
		}{id, uid, joined[i]}); err != nil {
			return err
		}
	}
	if _, err := s.rooms().InsertOne(ctx, roomDoc{ID: id, Type: typ, Name: "old", DirectKey: storedDirectKey(id, ""), CreatedAt: date(joined[0]), ActiveAt: date(joined[0])}); err != nil {
		return err
	}
	_, err := s.db().Collection(colMigrations).DeleteOne(ctx, bson.D{{Key: "_id", Value: ownersMigration}})
	return err
}

// InsertMessages stores msgs as CreateMessage leaves them once published (with their
// search tokens), without the seq counter or the room's last message: a fixture for the
// search benchmark.
func InsertMessages(ctx context.Context, s *Store, msgs []chat.Message) error {
	docs := make([]any, len(msgs))
	for i, m := range msgs {
		docs[i] = messageDoc{ID: m.ID, RoomID: m.RoomID, Seq: m.Seq, SenderID: m.SenderID, IdemKey: idemKey(m),
			Type: m.Type, Text: m.Text, CreatedAt: date(m.CreatedAt.Time), Tokens: chat.SearchTokens(m.Text)}
	}
	_, err := s.messages().InsertMany(ctx, docs)
	return err
}

// ForgetTokens removes a message's search tokens, as versions before search stored it.
func ForgetTokens(ctx context.Context, s *Store, id string) error {
	_, err := s.messages().UpdateOne(ctx, bson.D{{Key: "_id", Value: id}}, bson.D{{Key: "$unset", Value: bson.D{{Key: "tokens", Value: ""}}}})
	return err
}
