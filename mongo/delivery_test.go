package mongo_test

import (
	"context"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	driver "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/internal/testenv"
	"github.com/chatchat/chatchat/mongo"
)

// TestDeliveryCursorOfOldMemberships: a membership stored before delivery cursors existed
// (no lastDeliveredSeq field) has its read cursor as its delivery cursor, everywhere the
// store answers, and moves on from there.
func TestDeliveryCursorOfOldMemberships(t *testing.T) {
	ctx := t.Context()
	srv := testenv.Mongo(t)
	db := srv.Database(t)
	s, err := mongo.Open(ctx, srv.URI, db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var ids []string
	for _, name := range []string{"ann", "bob"} {
		u := chat.User{ID: chat.NewID(), Username: name, DisplayName: name, CreatedAt: chat.At(time.Now())}
		if err := s.CreateUser(ctx, u, "h"); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	ann, bob := ids[0], ids[1]
	r := chat.Room{ID: chat.NewID(), Type: chat.RoomGroup, Name: "g", MemberIDs: ids, CreatedAt: chat.At(time.Now())}
	if err := s.CreateRoom(ctx, r, ""); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		m := chat.Message{ID: chat.NewID(), RoomID: r.ID, SenderID: ann, Type: chat.MessageText, Text: "m", CreatedAt: chat.At(time.Now().Add(time.Duration(i)))}
		if _, _, err := s.CreateMessage(ctx, m, []string{ann}); err != nil {
			t.Fatal(err)
		}
	}

	// Bob read up to 2 on an older version: a read cursor and no delivery cursor.
	cl, err := driver.Connect(options.Client().ApplyURI(srv.URI))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Disconnect(context.Background())
	_, err = cl.Database(db).Collection("memberships").UpdateOne(ctx,
		bson.D{{Key: "roomId", Value: r.ID}, {Key: "userId", Value: bob}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "lastReadSeq", Value: int64(2)}}}, {Key: "$unset", Value: bson.D{{Key: "lastDeliveredSeq", Value: ""}}}})
	if err != nil {
		t.Fatal(err)
	}

	if m, err := s.Member(ctx, r.ID, bob); err != nil || m.LastDeliveredSeq != 2 {
		t.Fatalf("Member = %+v, %v; want lastDeliveredSeq 2 (the read cursor)", m, err)
	}
	for seq, want := range map[int64]int{2: 0, 3: 1} {
		if n, err := s.UndeliveredCount(ctx, r.ID, ann, seq); err != nil || n != want {
			t.Errorf("UndeliveredCount(%d) = %d, %v; want %d", seq, n, err, want)
		}
	}
	if cur, moved, err := s.AdvanceDeliveredCursor(ctx, r.ID, bob, 1); err != nil || moved || cur != 2 {
		t.Errorf("AdvanceDeliveredCursor(1) = %d, moved %v, %v; want 2, not moved", cur, moved, err)
	}
	if cur, moved, err := s.AdvanceDeliveredCursor(ctx, r.ID, bob, 3); err != nil || !moved || cur != 3 {
		t.Errorf("AdvanceDeliveredCursor(3) = %d, moved %v, %v; want 3, moved", cur, moved, err)
	}
	if n, err := s.UndeliveredCount(ctx, r.ID, ann, 3); err != nil || n != 0 {
		t.Errorf("UndeliveredCount(3) after the move = %d, %v; want 0", n, err)
	}
}
