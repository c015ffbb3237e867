package chat_test

import (
	"context"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// TestEraseEndsEverything: an erasure tombstones the user's messages, ends their
// memberships (the others hear ROOM_UPDATED), removes their blocks, holds their username,
// and is finished by ResumeErasures when it was interrupted after it began.
func TestEraseEndsEverything(t *testing.T) {
	f := newFixture(t, 3)
	ctx := context.Background()
	a, b, c := f.users[0], f.users[1], f.users[2]
	g, _, err := f.svc.CreateRoom(ctx, a, chat.NewRoom{Type: "group", Name: "g", MemberIDs: []string{b, c}})
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := f.svc.SendMessage(ctx, a, g.ID, chat.NewMessage{ClientMsgID: "1", Text: "mine"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Block(ctx, a, c); err != nil {
		t.Fatal(err)
	}
	ua, err := f.store.User(ctx, a)
	if err != nil {
		t.Fatal(err)
	}

	// The erasure begins and the process dies before any step: only the mark is stored.
	if err := f.store.MarkErasing(ctx, a, time.Now()); err != nil {
		t.Fatal(err)
	}
	before := len(f.eventsOf(chat.EventRoomUpdated))
	n, err := f.svc.ResumeErasures(ctx)
	if err != nil || n != 1 {
		t.Fatalf("ResumeErasures = %d, %v; want 1", n, err)
	}
	got, err := f.store.Message(ctx, g.ID, m.ID)
	if err != nil || !got.Deleted() {
		t.Fatalf("the erased user's message = %+v, %v; want a tombstone", got, err)
	}
	room, err := f.store.Room(ctx, g.ID)
	if err != nil || room.HasMember(a) || len(room.MemberIDs) != 2 {
		t.Fatalf("room after the erasure = %+v, %v; want the user gone", room.MemberIDs, err)
	}
	if len(f.eventsOf(chat.EventRoomUpdated)) <= before {
		t.Fatal("no ROOM_UPDATED for the membership the erasure ended")
	}
	if blocked, err := f.store.BlockedBy(ctx, a); err != nil || len(blocked) != 0 {
		t.Fatalf("blocks after the erasure = %v, %v", blocked, err)
	}
	u, err := f.store.User(ctx, a)
	if err != nil || u.DisplayName != chat.ErasedName {
		t.Fatalf("profile = %+v, %v", u, err)
	}
	err = f.store.CreateUser(ctx, chat.User{ID: chat.NewID(), Username: ua.Username, DisplayName: "Impostor", CreatedAt: chat.At(time.Now())}, "x")
	if !chat.IsConflict(err) {
		t.Fatalf("signing up with the erased user's name at once: %v, want a conflict", err)
	}
	if n, err := f.svc.ResumeErasures(ctx); err != nil || n != 0 {
		t.Fatalf("ResumeErasures again = %d, %v; want nothing left", n, err)
	}
}
