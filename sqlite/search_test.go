package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// TestSearchManyRooms: a caller in more rooms than the FTS5 query names (200) is searched
// through the join's room filter instead, with the same answer.
func TestSearchManyRooms(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	u := chat.User{ID: chat.NewID(), Username: "u", DisplayName: "U", CreatedAt: chat.At(time.Now())}
	if err := s.CreateUser(ctx, u, "x"); err != nil {
		t.Fatal(err)
	}
	var rooms []string
	for i := range 210 {
		r := chat.Room{ID: chat.NewID(), Type: chat.RoomGroup, Name: "r", MemberIDs: []string{u.ID}, CreatedAt: chat.At(time.Now())}
		if err := s.CreateRoom(ctx, r, ""); err != nil {
			t.Fatal(err)
		}
		rooms = append(rooms, r.ID)
		text := "nothing here"
		if i == 205 || i == 3 {
			text = "needle in room " + r.Name
		}
		if _, _, err := s.CreateMessage(ctx, chat.Message{ID: chat.NewID(), RoomID: r.ID, SenderID: u.ID, Type: chat.MessageText,
			Text: text, CreatedAt: chat.At(time.Now())}, nil); err != nil {
			t.Fatal(err)
		}
	}
	found, _, err := s.SearchMessages(ctx, chat.SearchQuery{Words: []string{"need"}, RoomIDs: rooms, Limit: 10})
	if err != nil || len(found) != 2 || found[0].RoomID != rooms[205] || found[1].RoomID != rooms[3] {
		t.Fatalf("search over 210 rooms = %d found, %v; want the two needles, newest first", len(found), err)
	}
	found, _, err = s.SearchMessages(ctx, chat.SearchQuery{Words: []string{"need"}, RoomIDs: rooms[:200], Limit: 10})
	if err != nil || len(found) != 1 || found[0].RoomID != rooms[3] {
		t.Fatalf("search over 200 of them = %d found, %v; want one", len(found), err)
	}
}
