package chattest

import (
	"sync"
	"testing"

	"github.com/chatchat/chatchat/chat"
)

// TestModerationStore runs the contract of chat.ModerationStore, and the roles that
// RoomStore and MemberStore keep for it (a group's creator is its owner; an owner's
// leaving passes ownership on).
func TestModerationStore(t *testing.T, newStore func(t *testing.T) chat.Store) {
	runStoreCases(t, newStore, []storeCase{
		{"CreatorIsOwner", testCreatorIsOwner},
		{"SetRole", testSetRole},
		{"UpdateRoom", testUpdateRoom},
		{"OwnerLeavingPassesOwnership", testOwnerLeaving},
		{"Bans", testBans},
		{"BanRacingAdd", testBanRacingAdd},
	})
}

// roles returns the room's members' roles by user id.
func roles(tb testing.TB, s chat.Store, roomID string) map[string]string {
	tb.Helper()
	ms, err := s.Members(tb.Context(), roomID)
	if err != nil {
		tb.Fatalf("Members: %v", err)
	}
	out := map[string]string{}
	for _, m := range ms {
		out[m.UserID] = m.Role
	}
	return out
}

func wantRoles(tb testing.TB, what string, got, want map[string]string) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("%s: roles %v, want %v", what, got, want)
	}
	for id, r := range want {
		if got[id] != r {
			tb.Fatalf("%s: roles %v, want %v", what, got, want)
		}
	}
}

// ownedRoom creates a group of members created by the first, at storeAt(0).
func ownedRoom(tb testing.TB, s chat.Store, members ...chat.User) chat.Room {
	tb.Helper()
	r := chat.Room{ID: chat.NewID(), Type: chat.RoomGroup, Name: "room", MemberIDs: userIDs(members),
		CreatedAt: chat.At(storeAt(0)), CreatedBy: members[0].ID}
	if err := s.CreateRoom(tb.Context(), r, ""); err != nil {
		tb.Fatalf("CreateRoom: %v", err)
	}
	return r
}

func testCreatorIsOwner(t *testing.T, s chat.Store) {
	ctx := t.Context()
	u := storeUsers(t, s, 4)
	// The creator need not have the lowest id: the role follows CreatedBy.
	g := ownedRoom(t, s, u[2], u[0], u[1])
	got, err := s.Room(ctx, g.ID)
	if err != nil {
		t.Fatalf("Room: %v", err)
	}
	if got.CreatedBy != u[2].ID || got.Description != "" {
		t.Errorf("Room: createdBy %q, description %q; want %q and none", got.CreatedBy, got.Description, u[2].ID)
	}
	wantRoles(t, "new group", roles(t, s, g.ID), map[string]string{u[2].ID: chat.RoleOwner, u[0].ID: chat.RoleMember, u[1].ID: chat.RoleMember})
	if _, err := s.AddMembers(ctx, g.ID, []string{u[3].ID}, storeAt(1)); err != nil {
		t.Fatalf("AddMembers: %v", err)
	}
	m, err := s.Member(ctx, g.ID, u[3].ID)
	if err != nil || m.Role != chat.RoleMember {
		t.Fatalf("added member = %+v, %v; want role member", m, err)
	}

	d := chat.Room{ID: chat.NewID(), Type: chat.RoomDirect, MemberIDs: []string{u[0].ID, u[1].ID}, CreatedAt: chat.At(storeAt(0)), CreatedBy: u[0].ID}
	if err := s.CreateRoom(ctx, d, chat.DirectKey(u[0].ID, u[1].ID)); err != nil {
		t.Fatalf("CreateRoom(direct): %v", err)
	}
	wantRoles(t, "direct room", roles(t, s, d.ID), map[string]string{u[0].ID: chat.RoleMember, u[1].ID: chat.RoleMember})
}

func testSetRole(t *testing.T, s chat.Store) {
	ctx := t.Context()
	u := storeUsers(t, s, 3)
	g := ownedRoom(t, s, u[0], u[1])
	if err := s.SetRole(ctx, g.ID, u[1].ID, chat.RoleAdmin); err != nil {
		t.Fatalf("SetRole(admin): %v", err)
	}
	wantRoles(t, "promoted", roles(t, s, g.ID), map[string]string{u[0].ID: chat.RoleOwner, u[1].ID: chat.RoleAdmin})
	if m, err := s.Member(ctx, g.ID, u[1].ID); err != nil || m.Role != chat.RoleAdmin {
		t.Fatalf("Member after promotion = %+v, %v", m, err)
	}
	if err := s.SetRole(ctx, g.ID, u[1].ID, chat.RoleMember); err != nil {
		t.Fatalf("SetRole(member): %v", err)
	}
	wantRoles(t, "demoted", roles(t, s, g.ID), map[string]string{u[0].ID: chat.RoleOwner, u[1].ID: chat.RoleMember})
	wantNotFound(t, "SetRole(not a member)", s.SetRole(ctx, g.ID, u[2].ID, chat.RoleAdmin))
	wantNotFound(t, "SetRole(unknown room)", s.SetRole(ctx, chat.NewID(), u[1].ID, chat.RoleAdmin))
}

func testUpdateRoom(t *testing.T, s chat.Store) {
	ctx := t.Context()
	u := storeUsers(t, s, 1)
	g := ownedRoom(t, s, u[0])
	str := func(v string) *string { return &v }
	check := func(what, name, desc string) {
		t.Helper()
		r, err := s.Room(ctx, g.ID)
		if err != nil {
			t.Fatalf("%s: Room: %v", what, err)
		}
		if r.Name != name || r.Description != desc {
			t.Fatalf("%s: name %q, description %q; want %q, %q", what, r.Name, r.Description, name, desc)
		}
		urs, _, err := s.UserRooms(ctx, u[0].ID, chat.RoomPage{Limit: 10})
		if err != nil || len(urs) != 1 || urs[0].Name != name || urs[0].Description != desc {
			t.Fatalf("%s: UserRooms = %+v, %v", what, urs, err)
		}
	}
	if err := s.UpdateRoom(ctx, g.ID, nil, str("About us")); err != nil {
		t.Fatalf("UpdateRoom(description): %v", err)
	}
	check("description set", "room", "About us")
	if err := s.UpdateRoom(ctx, g.ID, str("서울 모임"), nil); err != nil {
		t.Fatalf("UpdateRoom(name): %v", err)
	}
	check("renamed", "서울 모임", "About us")
	if err := s.UpdateRoom(ctx, g.ID, str("both"), str("")); err != nil {
		t.Fatalf("UpdateRoom(both): %v", err)
	}
	check("both", "both", "")
	wantNotFound(t, "UpdateRoom(unknown room)", s.UpdateRoom(ctx, chat.NewID(), str("x"), nil))
}

func testOwnerLeaving(t *testing.T, s chat.Store) {
	ctx := t.Context()
	u := storeUsers(t, s, 5)
	// u[1] and u[2] join after the creation, u[3] before u[4]; the earliest admin wins
	// over earlier members, and without admins the earliest member does.
	g := ownedRoom(t, s, u[0], u[3])
	for i, id := range []string{u[4].ID, u[2].ID, u[1].ID} {
		if _, err := s.AddMembers(ctx, g.ID, []string{id}, storeAt(1+i)); err != nil {
			t.Fatalf("AddMembers: %v", err)
		}
	}
	for _, id := range []string{u[1].ID, u[2].ID} {
		if err := s.SetRole(ctx, g.ID, id, chat.RoleAdmin); err != nil {
			t.Fatalf("SetRole: %v", err)
		}
	}
	// u[2] was made admin after u[1] but joined before: join order decides.
	if err := s.RemoveMember(ctx, g.ID, u[0].ID); err != nil {
		t.Fatalf("RemoveMember(owner): %v", err)
	}
	wantRoles(t, "owner left", roles(t, s, g.ID), map[string]string{
		u[3].ID: chat.RoleMember, u[4].ID: chat.RoleMember, u[2].ID: chat.RoleOwner, u[1].ID: chat.RoleAdmin})
	if err := s.SetRole(ctx, g.ID, u[1].ID, chat.RoleMember); err != nil {
		t.Fatalf("SetRole: %v", err)
	}
	if err := s.RemoveMember(ctx, g.ID, u[2].ID); err != nil {
		t.Fatalf("RemoveMember(second owner): %v", err)
	}
	// No admin left: the earliest member, u[3] (a founding member).
	wantRoles(t, "second owner left", roles(t, s, g.ID), map[string]string{
		u[3].ID: chat.RoleOwner, u[4].ID: chat.RoleMember, u[1].ID: chat.RoleMember})
	// A member leaving changes nobody's role.
	if err := s.RemoveMember(ctx, g.ID, u[4].ID); err != nil {
		t.Fatalf("RemoveMember(member): %v", err)
	}
	wantRoles(t, "member left", roles(t, s, g.ID), map[string]string{u[3].ID: chat.RoleOwner, u[1].ID: chat.RoleMember})
	wantNotFound(t, "RemoveMember(again)", s.RemoveMember(ctx, g.ID, u[4].ID))
}

func testBans(t *testing.T, s chat.Store) {
	ctx := t.Context()
	u := storeUsers(t, s, 4)
	g := ownedRoom(t, s, u[0], u[1], u[2])
	bans := func(what string, want ...string) {
		t.Helper()
		got, err := s.Bans(ctx, g.ID)
		if err != nil {
			t.Fatalf("%s: Bans: %v", what, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: Bans = %v, want %v", what, got, want)
		}
		for i := range want { // earliest ban first
			if got[i] != want[i] {
				t.Fatalf("%s: Bans = %v, want %v", what, got, want)
			}
		}
	}
	bans("none yet")

	removed, err := s.Ban(ctx, g.ID, u[1].ID, u[0].ID, storeAt(1))
	if err != nil || !removed {
		t.Fatalf("Ban(member) = %v, %v; want removed", removed, err)
	}
	if _, err := s.Member(ctx, g.ID, u[1].ID); !chat.IsNotFound(err) {
		t.Fatalf("Member(banned) = %v, want not found", err)
	}
	r, err := s.Room(ctx, g.ID)
	if err != nil {
		t.Fatalf("Room: %v", err)
	}
	sameIDs(t, "members after ban", r.MemberIDs, []string{u[0].ID, u[2].ID})
	// Again: no error, nothing removed. A user who is not a member can be banned too.
	if removed, err := s.Ban(ctx, g.ID, u[1].ID, u[0].ID, storeAt(5)); err != nil || removed {
		t.Fatalf("Ban(again) = %v, %v", removed, err)
	}
	if removed, err := s.Ban(ctx, g.ID, u[3].ID, u[0].ID, storeAt(2)); err != nil || removed {
		t.Fatalf("Ban(non-member) = %v, %v", removed, err)
	}
	bans("two banned", u[1].ID, u[3].ID)
	got, err := s.Banned(ctx, g.ID, []string{u[0].ID, u[1].ID, u[2].ID, u[3].ID, u[1].ID})
	if err != nil {
		t.Fatalf("Banned: %v", err)
	}
	sameIDs(t, "Banned", got, []string{u[1].ID, u[3].ID})
	if got, err := s.Banned(ctx, g.ID, nil); err != nil || len(got) != 0 {
		t.Fatalf("Banned(none) = %v, %v", got, err)
	}
	// Bans are per room.
	other := ownedRoom(t, s, u[0])
	if got, err := s.Banned(ctx, other.ID, []string{u[1].ID}); err != nil || len(got) != 0 {
		t.Fatalf("Banned(other room) = %v, %v", got, err)
	}

	// The store itself never adds a banned user back.
	if added, err := s.AddMembers(ctx, g.ID, []string{u[1].ID, u[3].ID}, storeAt(5)); err != nil || len(added) != 0 {
		t.Fatalf("AddMembers(banned) = %v, %v; want no one added", added, err)
	}
	if r, err := s.Room(ctx, g.ID); err != nil || len(r.MemberIDs) != 2 {
		t.Fatalf("members after adding banned users: %v, %v", r.MemberIDs, err)
	}
	if err := s.Unban(ctx, g.ID, u[1].ID); err != nil {
		t.Fatalf("Unban: %v", err)
	}
	bans("one unbanned", u[3].ID)
	wantNotFound(t, "Unban(again)", s.Unban(ctx, g.ID, u[1].ID))
	if added, err := s.AddMembers(ctx, g.ID, []string{u[1].ID}, storeAt(6)); err != nil || len(added) != 1 {
		t.Fatalf("AddMembers(unbanned) = %v, %v", added, err)
	}

	// Banning the owner (the service never does; the store stays consistent) passes
	// ownership as leaving does.
	if removed, err := s.Ban(ctx, g.ID, u[0].ID, u[2].ID, storeAt(7)); err != nil || !removed {
		t.Fatalf("Ban(owner) = %v, %v", removed, err)
	}
	wantRoles(t, "owner banned", roles(t, s, g.ID), map[string]string{u[2].ID: chat.RoleOwner, u[1].ID: chat.RoleMember})
	_, err = s.Ban(ctx, chat.NewID(), u[1].ID, u[0].ID, storeAt(8))
	wantNotFound(t, "Ban(unknown room)", err)
}

// testBanRacingAdd: a ban and an add of the same user, at once, never leave a banned member,
// whichever wins.
func testBanRacingAdd(t *testing.T, s chat.Store) {
	ctx := t.Context()
	u := storeUsers(t, s, 21)
	g := ownedRoom(t, s, u[0])
	for i, victim := range u[1:] {
		var wg sync.WaitGroup
		var banErr, addErr error
		wg.Add(2)
		go func() { defer wg.Done(); _, banErr = s.Ban(ctx, g.ID, victim.ID, u[0].ID, storeAt(i)) }()
		go func() { defer wg.Done(); _, addErr = s.AddMembers(ctx, g.ID, []string{victim.ID}, storeAt(i)) }()
		wg.Wait()
		if banErr != nil || addErr != nil {
			t.Fatalf("Ban: %v; AddMembers: %v", banErr, addErr)
		}
		if _, err := s.Member(ctx, g.ID, victim.ID); !chat.IsNotFound(err) {
			t.Fatalf("round %d: the banned user is a member after racing an add (%v)", i, err)
		}
	}
}
