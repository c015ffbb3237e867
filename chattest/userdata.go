package chattest

import (
	"testing"

	"github.com/chatchat/chatchat/chat"
)

// TestUserDataStore runs the contract of chat.UserDataStore.
func TestUserDataStore(t *testing.T, newStore func(t *testing.T) chat.Store) {
	runStoreCases(t, newStore, []storeCase{
		{"SenderMessages", testSenderMessages},
		{"EraseProfile", testEraseProfile},
		{"Erasing", testErasing},
	})
}

func testSenderMessages(t *testing.T, s chat.Store) {
	ctx := t.Context()
	users := storeUsers(t, s, 2)
	a, b := users[0], users[1]
	r1 := storeRoom(t, s, storeAt(0), a, b)
	r2 := storeRoom(t, s, storeAt(0), a)
	var want []string
	for i := range 5 {
		room := r1
		if i%2 == 1 {
			room = r2
		}
		want = append(want, storeSend(t, s, room.ID, a, "mine", storeAt(i+1), a.ID).ID)
		storeSend(t, s, r1.ID, b, "theirs", storeAt(i+1), b.ID)
	}
	var got []string
	after := ""
	for range 10 {
		page, err := s.SenderMessages(ctx, a.ID, after, 2)
		if err != nil {
			t.Fatalf("SenderMessages: %v", err)
		}
		for _, m := range page {
			if m.SenderID != a.ID || m.Text != "mine" {
				t.Fatalf("SenderMessages gave %+v", m)
			}
			got = append(got, m.ID)
		}
		if len(page) < 2 {
			break
		}
		after = page[len(page)-1].ID
	}
	if len(got) != len(want) {
		t.Fatalf("SenderMessages = %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("SenderMessages = %v, want %v (by id)", got, want)
		}
	}
	if page, err := s.SenderMessages(ctx, chat.NewID(), "", 10); err != nil || len(page) != 0 {
		t.Errorf("SenderMessages(nobody) = %v, %v", page, err)
	}
}

func testEraseProfile(t *testing.T, s chat.Store) {
	ctx := t.Context()
	u := storeUser(t, s, "gone")
	if err := s.EraseProfile(ctx, u.ID, storeAt(1)); err != nil {
		t.Fatalf("EraseProfile: %v", err)
	}
	got, err := s.User(ctx, u.ID)
	if err != nil || got.DisplayName != chat.ErasedName || got.Username == "gone" || got.Admin {
		t.Fatalf("after EraseProfile: %+v, %v", got, err)
	}
	if _, _, err := s.UserByUsername(ctx, "gone"); !chat.IsNotFound(err) {
		t.Errorf("the old username still finds the user: %v", err)
	}
	if _, _, err := s.UserByUsername(ctx, got.Username); !chat.IsNotFound(err) {
		t.Errorf("the erased name finds the user: %v; want not found (nobody logs in as them)", err)
	}
	if found, err := s.SearchUsers(ctx, "go", 10); err != nil || len(found) != 0 {
		t.Errorf("SearchUsers finds the erased user by their old name: %v, %v", found, err)
	}
	// The old name is held: nobody can sign up as them at once.
	taken := chat.User{ID: chat.NewID(), Username: "Gone", DisplayName: "Impostor", CreatedAt: chat.At(storeEpoch)}
	wantConflict(t, "CreateUser with an erased user's held name", s.CreateUser(ctx, taken, "h"))
	if n, err := s.ReleaseUsernames(ctx, storeAt(1)); err != nil || n != 0 {
		t.Fatalf("ReleaseUsernames(erased before the erasure) = %d, %v; want 0", n, err)
	}
	if n, err := s.ReleaseUsernames(ctx, storeAt(2)); err != nil || n != 1 {
		t.Fatalf("ReleaseUsernames(after it) = %d, %v; want 1", n, err)
	}
	// Released, the old name is free again; erasing again keeps the first erasure's time.
	storeUser(t, s, "gone")
	if err := s.EraseProfile(ctx, u.ID, storeAt(9)); err != nil {
		t.Fatalf("EraseProfile again: %v", err)
	}
	if n, err := s.ReleaseUsernames(ctx, storeAt(2)); err != nil || n != 0 {
		t.Fatalf("ReleaseUsernames after a repeated erasure = %d, %v; want 0", n, err)
	}
	wantNotFound(t, "EraseProfile(unknown)", s.EraseProfile(ctx, chat.NewID(), storeAt(1)))
}

func testErasing(t *testing.T, s chat.Store) {
	ctx := t.Context()
	a, b := storeUser(t, s, "ann"), storeUser(t, s, "bob")
	if ids, err := s.ErasingUsers(ctx, 10); err != nil || len(ids) != 0 {
		t.Fatalf("ErasingUsers at first = %v, %v", ids, err)
	}
	for _, u := range []chat.User{a, b} {
		if err := s.MarkErasing(ctx, u.ID, storeAt(1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.MarkErasing(ctx, a.ID, storeAt(2)); err != nil {
		t.Fatalf("MarkErasing again: %v", err)
	}
	ids, err := s.ErasingUsers(ctx, 10)
	if err != nil || len(ids) != 2 {
		t.Fatalf("ErasingUsers = %v, %v; want both", ids, err)
	}
	if err := s.EraseProfile(ctx, a.ID, storeAt(3)); err != nil {
		t.Fatal(err)
	}
	ids, err = s.ErasingUsers(ctx, 10)
	if err != nil || len(ids) != 1 || ids[0] != b.ID {
		t.Fatalf("ErasingUsers after one finished = %v, %v; want [%s]", ids, err, b.ID)
	}
	wantNotFound(t, "MarkErasing(unknown)", s.MarkErasing(ctx, chat.NewID(), storeAt(1)))
}

// TestRoomHeadStore runs the contract of chat.RoomHeadStore.
func TestRoomHeadStore(t *testing.T, newStore func(t *testing.T) chat.Store) {
	runStoreCases(t, newStore, []storeCase{{"Heads", testRoomHeads}})
}

func testRoomHeads(t *testing.T, s chat.Store) {
	ctx := t.Context()
	users := storeUsers(t, s, 1)
	a := users[0]
	busy := storeRoom(t, s, storeAt(0), a)
	quiet := storeRoom(t, s, storeAt(0), a)
	storeSend(t, s, busy.ID, a, "one", storeAt(1), a.ID)
	storeSend(t, s, busy.ID, a, "two", storeAt(2), a.ID)
	heads, err := s.RoomHeads(ctx, []string{busy.ID, quiet.ID, chat.NewID(), busy.ID})
	if err != nil {
		t.Fatalf("RoomHeads: %v", err)
	}
	if len(heads) != 2 {
		t.Fatalf("RoomHeads = %+v, want the two rooms that exist", heads)
	}
	if h := heads[busy.ID]; h.LastSeq != 2 || h.LastRev < 2 {
		t.Errorf("busy head = %+v, want seq 2 and rev at least 2", h)
	}
	if h := heads[quiet.ID]; h.LastSeq != 0 || h.LastRev != 0 {
		t.Errorf("quiet head = %+v, want zeros", h)
	}
	if heads, err := s.RoomHeads(ctx, nil); err != nil || len(heads) != 0 {
		t.Errorf("RoomHeads(none) = %v, %v", heads, err)
	}
}
