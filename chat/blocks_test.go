package chat_test

import (
	"context"
	"testing"

	"github.com/chatchat/chatchat/chat"
)

// TestBlocks: a blocked user cannot open a direct room with the blocker (even one that
// exists), post in it, or put the blocker into a group; the blocker still can; unblocking
// lifts it; the list and its limits.
func TestBlocks(t *testing.T) {
	f := newFixture(t, 4)
	ctx := context.Background()
	ann, bob, cid := f.users[0], f.users[1], f.users[2]

	d, _, err := f.svc.CreateRoom(ctx, bob, chat.NewRoom{Type: "direct", MemberIDs: []string{ann}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Block(ctx, ann, bob); err != nil {
		t.Fatalf("Block: %v", err)
	}
	if err := f.svc.Block(ctx, ann, bob); err != nil {
		t.Fatalf("Block again: %v", err)
	}
	_, _, err = f.svc.CreateRoom(ctx, bob, chat.NewRoom{Type: "direct", MemberIDs: []string{ann}})
	wantCode(t, err, "blocked")
	_, _, err = f.svc.SendMessage(ctx, bob, d.ID, chat.NewMessage{Text: "hi"})
	wantCode(t, err, "blocked")
	_, _, err = f.svc.CreateRoom(ctx, bob, chat.NewRoom{Type: "group", Name: "g", MemberIDs: []string{cid, ann}})
	wantCode(t, err, "blocked")
	g, _, err := f.svc.CreateRoom(ctx, bob, chat.NewRoom{Type: "group", Name: "g", MemberIDs: []string{cid}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.AddMembers(ctx, bob, g.ID, []string{ann})
	wantCode(t, err, "blocked")
	// In a group, a block silences nobody: bob still posts there.
	if _, err := f.svc.AddMembers(ctx, cid, g.ID, []string{ann}); err != nil {
		t.Fatalf("another member adds the blocker: %v", err)
	}
	if _, _, err := f.svc.SendMessage(ctx, bob, g.ID, chat.NewMessage{Text: "in group"}); err != nil {
		t.Fatalf("the blocked user posts in a group: %v", err)
	}
	// The blocker keeps every way.
	if _, _, err := f.svc.SendMessage(ctx, ann, d.ID, chat.NewMessage{Text: "mine"}); err != nil {
		t.Fatalf("the blocker posts in the direct room: %v", err)
	}
	list, err := f.svc.Blocks(ctx, ann)
	if err != nil || len(list) != 1 || list[0].ID != bob {
		t.Fatalf("Blocks = %+v, %v", list, err)
	}
	wantCode(t, f.svc.Block(ctx, ann, ann), "bad_request")
	wantCode(t, f.svc.Block(ctx, ann, chat.NewID()), "user_not_found")

	if err := f.svc.Unblock(ctx, ann, bob); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.SendMessage(ctx, bob, d.ID, chat.NewMessage{Text: "hi again"}); err != nil {
		t.Fatalf("after unblock: %v", err)
	}
	if _, _, err := f.svc.CreateRoom(ctx, bob, chat.NewRoom{Type: "direct", MemberIDs: []string{ann}}); err != nil {
		t.Fatalf("direct room after unblock: %v", err)
	}
}
