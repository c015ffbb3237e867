package chat_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/chatchat/chatchat/chat"
)

// roleMap returns the roles of r.Members by user id.
func roleMap(r chat.Room) map[string]string {
	out := map[string]string{}
	for _, m := range r.Members {
		out[m.UserID] = m.Role
	}
	return out
}

func TestModerationRoles(t *testing.T) {
	f := newFixture(t, 5)
	ctx := context.Background()
	owner, admin, member, other, stranger := f.users[0], f.users[1], f.users[2], f.users[3], f.users[4]
	g, _, err := f.svc.CreateRoom(ctx, owner, chat.NewRoom{Type: chat.RoomGroup, Name: "g", MemberIDs: []string{admin, member, other}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.svc.Room(ctx, member, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := roleMap(r); got[owner] != chat.RoleOwner || got[admin] != chat.RoleMember || got[member] != chat.RoleMember {
		t.Fatalf("roles of a new group: %v", got)
	}

	// Only the owner appoints admins.
	_, err = f.svc.SetMemberRole(ctx, member, g.ID, admin, chat.RoleAdmin)
	wantCode(t, err, "forbidden")
	_, err = f.svc.SetMemberRole(ctx, stranger, g.ID, admin, chat.RoleAdmin)
	wantCode(t, err, "room_not_found")
	_, err = f.svc.SetMemberRole(ctx, owner, g.ID, admin, "owner")
	wantCode(t, err, "bad_request")
	_, err = f.svc.SetMemberRole(ctx, owner, g.ID, stranger, chat.RoleAdmin)
	wantCode(t, err, "member_not_found")
	_, err = f.svc.SetMemberRole(ctx, owner, g.ID, owner, chat.RoleMember)
	wantCode(t, err, "bad_request")
	before := len(f.eventsOf(chat.EventRoomUpdated))
	r, err = f.svc.SetMemberRole(ctx, owner, g.ID, admin, chat.RoleAdmin)
	if err != nil || roleMap(r)[admin] != chat.RoleAdmin {
		t.Fatalf("promote: %v, %v", roleMap(r), err)
	}
	if n := len(f.eventsOf(chat.EventRoomUpdated)); n != before+1 {
		t.Fatalf("ROOM_UPDATED after a promotion: %d, want %d", n, before+1)
	}
	_, err = f.svc.SetMemberRole(ctx, admin, g.ID, member, chat.RoleAdmin)
	wantCode(t, err, "forbidden")

	// The admin pins (members of a group may not) and deletes another's message.
	m, _, err := f.svc.SendMessage(ctx, member, g.ID, chat.NewMessage{Type: chat.MessageText, Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Pin(ctx, other, g.ID, m.ID)
	wantCode(t, err, "forbidden")
	wantCode(t, f.svc.DeleteMessage(ctx, other, g.ID, m.ID), "not_sender")
	m2, _, err := f.svc.SendMessage(ctx, member, g.ID, chat.NewMessage{Type: chat.MessageText, Text: "spam"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteMessage(ctx, admin, g.ID, m2.ID); err != nil {
		t.Fatalf("the admin deletes another's message: %v", err)
	}
	if _, err := f.svc.Pin(ctx, admin, g.ID, m.ID); err != nil {
		t.Fatalf("admin pins: %v", err)
	}
	// Demoted, the same user may not: the rule reads the stored role.
	if _, err := f.svc.SetMemberRole(ctx, owner, g.ID, admin, chat.RoleMember); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Pin(ctx, admin, g.ID, m.ID)
	wantCode(t, err, "forbidden")
	if _, err := f.svc.SetMemberRole(ctx, owner, g.ID, admin, chat.RoleAdmin); err != nil {
		t.Fatal(err)
	}

	// The owner leaves: the admin is the owner now.
	if err := f.svc.Leave(ctx, owner, g.ID); err != nil {
		t.Fatal(err)
	}
	r, err = f.svc.Room(ctx, member, g.ID)
	if err != nil || roleMap(r)[admin] != chat.RoleOwner {
		t.Fatalf("after the owner left: %v, %v", roleMap(r), err)
	}
}

func TestUpdateRoom(t *testing.T) {
	f := newFixture(t, 4)
	ctx := context.Background()
	owner, admin, member, stranger := f.users[0], f.users[1], f.users[2], f.users[3]
	g, _, err := f.svc.CreateRoom(ctx, owner, chat.NewRoom{Type: chat.RoomGroup, Name: "g", MemberIDs: []string{admin, member}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SetMemberRole(ctx, owner, g.ID, admin, chat.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	str := func(s string) *string { return &s }
	before := len(f.eventsOf(chat.EventRoomUpdated))
	r, err := f.svc.UpdateRoom(ctx, admin, g.ID, chat.RoomPatch{Name: str(" 서울 모임 "), Description: str("Fridays\r\nat eight  ")})
	if err != nil || r.Name != "서울 모임" || r.Description != "Fridays\nat eight" {
		t.Fatalf("UpdateRoom = %q, %q, %v", r.Name, r.Description, err)
	}
	evs := f.eventsOf(chat.EventRoomUpdated)
	if len(evs) != before+1 {
		t.Fatalf("ROOM_UPDATED: %d, want %d", len(evs), before+1)
	}
	var d chat.RoomUpdated
	if err := json.Unmarshal(evs[len(evs)-1].Data, &d); err != nil || d.Room.Description != "Fridays\nat eight" {
		t.Fatalf("ROOM_UPDATED's room: %+v, %v", d.Room, err)
	}
	if strings.Contains(string(evs[len(evs)-1].Data), "bannedIds") {
		t.Fatalf("ROOM_UPDATED, which every member gets, carries bannedIds: %s", evs[len(evs)-1].Data)
	}
	if r, err := f.svc.UpdateRoom(ctx, owner, g.ID, chat.RoomPatch{Description: str("")}); err != nil || r.Name != "서울 모임" || r.Description != "" {
		t.Fatalf("clear description = %q, %q, %v", r.Name, r.Description, err)
	}
	_, err = f.svc.UpdateRoom(ctx, member, g.ID, chat.RoomPatch{Name: str("mine")})
	wantCode(t, err, "forbidden")
	_, err = f.svc.UpdateRoom(ctx, stranger, g.ID, chat.RoomPatch{Name: str("mine")})
	wantCode(t, err, "room_not_found")
	_, err = f.svc.UpdateRoom(ctx, owner, g.ID, chat.RoomPatch{})
	wantCode(t, err, "bad_request")
	_, err = f.svc.UpdateRoom(ctx, owner, g.ID, chat.RoomPatch{Name: str(strings.Repeat("n", 101))})
	wantCode(t, err, "bad_request")
	// The description's limit, at and past it.
	if _, err := f.svc.UpdateRoom(ctx, owner, g.ID, chat.RoomPatch{Description: str(strings.Repeat("설", chat.MaxDescriptionRunes))}); err != nil {
		t.Fatalf("description of %d characters: %v", chat.MaxDescriptionRunes, err)
	}
	_, err = f.svc.UpdateRoom(ctx, owner, g.ID, chat.RoomPatch{Description: str(strings.Repeat("설", chat.MaxDescriptionRunes+1))})
	wantCode(t, err, "bad_request")
	_, err = f.svc.UpdateRoom(ctx, owner, g.ID, chat.RoomPatch{Description: str("bell\x07")})
	wantCode(t, err, "bad_request")

	d1, _, err := f.svc.CreateRoom(ctx, owner, chat.NewRoom{Type: chat.RoomDirect, MemberIDs: []string{member}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.UpdateRoom(ctx, owner, d1.ID, chat.RoomPatch{Name: str("x")})
	wantCode(t, err, "not_a_group")
}

func TestRemoveMember(t *testing.T) {
	f := newFixture(t, 5)
	ctx := context.Background()
	owner, admin, admin2, member, stranger := f.users[0], f.users[1], f.users[2], f.users[3], f.users[4]
	g, _, err := f.svc.CreateRoom(ctx, owner, chat.NewRoom{Type: chat.RoomGroup, Name: "g", MemberIDs: []string{admin, admin2, member}})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{admin, admin2} {
		if _, err := f.svc.SetMemberRole(ctx, owner, g.ID, id, chat.RoleAdmin); err != nil {
			t.Fatal(err)
		}
	}
	// History is read once, so that the membership cache holds the room.
	if _, _, err := f.svc.History(ctx, member, g.ID, chat.HistoryQuery{}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, f.svc.RemoveMember(ctx, member, g.ID, admin), "forbidden")
	wantCode(t, f.svc.RemoveMember(ctx, admin, g.ID, owner), "forbidden")
	wantCode(t, f.svc.RemoveMember(ctx, admin, g.ID, admin2), "forbidden")
	wantCode(t, f.svc.RemoveMember(ctx, admin, g.ID, admin), "bad_request")
	wantCode(t, f.svc.RemoveMember(ctx, admin, g.ID, stranger), "member_not_found")
	wantCode(t, f.svc.RemoveMember(ctx, stranger, g.ID, member), "room_not_found")

	before := len(f.eventsOf(chat.EventRoomUpdated))
	if err := f.svc.RemoveMember(ctx, admin, g.ID, member); err != nil {
		t.Fatalf("admin removes a member: %v", err)
	}
	evs := f.eventsOf(chat.EventRoomUpdated)
	if len(evs) != before+1 || !slices.Equal(evs[len(evs)-1].UserIDs, []string{member}) {
		t.Fatalf("ROOM_UPDATED after a removal: %d events, last to %v; want one naming the removed user", len(evs)-before, evs[len(evs)-1].UserIDs)
	}
	var d chat.RoomUpdated
	if err := json.Unmarshal(evs[len(evs)-1].Data, &d); err != nil || slices.Contains(d.Room.MemberIDs, member) {
		t.Fatalf("ROOM_UPDATED's members %v, %v: want the removed user gone", d.Room.MemberIDs, err)
	}
	_, _, err = f.svc.History(ctx, member, g.ID, chat.HistoryQuery{})
	wantCode(t, err, "room_not_found")
	_, _, err = f.svc.SendMessage(ctx, member, g.ID, chat.NewMessage{Type: chat.MessageText, Text: "still?"})
	wantCode(t, err, "room_not_found")

	// The owner removes an admin.
	if err := f.svc.RemoveMember(ctx, owner, g.ID, admin2); err != nil {
		t.Fatalf("owner removes an admin: %v", err)
	}
	r, err := f.svc.Room(ctx, owner, g.ID)
	if err != nil || !slices.Equal(r.MemberIDs, []string{owner, admin}) {
		t.Fatalf("members = %v, %v", r.MemberIDs, err)
	}
}

func TestBans(t *testing.T) {
	f := newFixture(t, 4)
	ctx := context.Background()
	owner, admin, member, outsider := f.users[0], f.users[1], f.users[2], f.users[3]
	g, _, err := f.svc.CreateRoom(ctx, owner, chat.NewRoom{Type: chat.RoomGroup, Name: "g", MemberIDs: []string{admin, member}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SetMemberRole(ctx, owner, g.ID, admin, chat.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	bannedJSON := func(caller string) string {
		t.Helper()
		r, err := f.svc.Room(ctx, caller, g.ID)
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]json.RawMessage
		b, _ := json.Marshal(r)
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		return string(v["bannedIds"])
	}
	// Owners and admins see the list, empty or not; members never.
	if got := bannedJSON(admin); got != "[]" {
		t.Fatalf("an admin's bannedIds with no ban = %s, want []", got)
	}
	if got := bannedJSON(member); got != "" {
		t.Fatalf("a member sees bannedIds %s", got)
	}

	_, err = f.svc.Ban(ctx, member, g.ID, admin)
	wantCode(t, err, "forbidden")
	_, err = f.svc.Ban(ctx, admin, g.ID, owner)
	wantCode(t, err, "forbidden")
	_, err = f.svc.Ban(ctx, admin, g.ID, "nobody")
	wantCode(t, err, "unknown_user")
	before := len(f.eventsOf(chat.EventRoomUpdated))
	r, err := f.svc.Ban(ctx, admin, g.ID, member)
	if err != nil || !slices.Equal(r.BannedIDs, []string{member}) || slices.Contains(r.MemberIDs, member) {
		t.Fatalf("Ban = members %v, banned %v, %v", r.MemberIDs, r.BannedIDs, err)
	}
	evs := f.eventsOf(chat.EventRoomUpdated)
	if len(evs) != before+1 || !slices.Equal(evs[len(evs)-1].UserIDs, []string{member}) {
		t.Fatalf("ROOM_UPDATED after a ban: %d, to %v", len(evs)-before, evs[len(evs)-1].UserIDs)
	}
	_, _, err = f.svc.History(ctx, member, g.ID, chat.HistoryQuery{})
	wantCode(t, err, "room_not_found")
	// A user not in the room can be banned ahead.
	if _, err := f.svc.Ban(ctx, owner, g.ID, outsider); err != nil {
		t.Fatalf("ban a non-member: %v", err)
	}
	if got := bannedJSON(owner); got != `["`+member+`","`+outsider+`"]` {
		t.Fatalf("bannedIds = %s", got)
	}
	// Nobody adds a banned user back, not even with others.
	_, err = f.svc.AddMembers(ctx, owner, g.ID, []string{member})
	wantCode(t, err, "banned")
	_, err = f.svc.AddMembers(ctx, admin, g.ID, []string{outsider})
	wantCode(t, err, "banned")

	wantCode(t, f.svc.Unban(ctx, member, g.ID, outsider), "room_not_found") // no longer a member
	wantCode(t, f.svc.Unban(ctx, admin, g.ID, admin), "ban_not_found")
	if err := f.svc.Unban(ctx, admin, g.ID, member); err != nil {
		t.Fatalf("Unban: %v", err)
	}
	if r, err := f.svc.AddMembers(ctx, admin, g.ID, []string{member}); err != nil || !slices.Contains(r.MemberIDs, member) {
		t.Fatalf("add after unban: %v, %v", r.MemberIDs, err)
	}
	wantCode(t, f.svc.Unban(ctx, member, g.ID, outsider), "forbidden")
}
