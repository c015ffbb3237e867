package main

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/client"
)

// TestModeration runs a group's moderation through the real binary on one node.
func TestModeration(t *testing.T) {
	n := startNode(t, "", nil)
	moderate(t, n, n, n)
}

// TestClusterModeration runs it on a cluster: the API on one process, the owner's socket
// on one chat node and the removed and banned users' on the other, so that a removal
// reaches another node's sessions at once.
func TestClusterModeration(t *testing.T) {
	c := startCluster(t)
	moderate(t, c.api, c.ws1, c.ws2)
}

// moderate: the owner promotes an admin, who renames the group, pins a message, removes a
// member (whose open socket stops receiving the room's events and who gets 404 on its
// history) and bans one (who cannot be added again until unbanned); a plain member gets
// 403 forbidden on every moderation call.
func moderate(t *testing.T, api, wsA, wsB *node) {
	ctx := context.Background()
	owner, _ := newUser(t, api, "owner")
	adm, admA := newUser(t, api, "adm")
	mem, memA := newUser(t, api, "mem")
	victim, victimA := newUser(t, api, "victim")
	_, bannedA := newUser(t, api, "banned")
	g, _, err := owner.CreateRoom(ctx, client.NewRoom{Type: chat.RoomGroup, Name: "club",
		MemberIDs: []string{admA.User.ID, memA.User.ID, victimA.User.ID, bannedA.User.ID}})
	if err != nil {
		t.Fatal(err)
	}
	oc := connect(t, wsClient(wsA, owner))
	vc := connect(t, wsClient(wsB, victim))

	// A member who is not an admin may do none of it.
	str := func(s string) *string { return &s }
	forbidden := map[string]error{}
	_, forbidden["rename"] = mem.UpdateRoom(ctx, g.ID, client.RoomPatch{Name: str("mine")})
	_, forbidden["promote"] = mem.SetMemberRole(ctx, g.ID, admA.User.ID, chat.RoleAdmin)
	forbidden["remove"] = mem.RemoveMember(ctx, g.ID, victimA.User.ID)
	_, forbidden["ban"] = mem.Ban(ctx, g.ID, victimA.User.ID)
	forbidden["unban"] = mem.Unban(ctx, g.ID, victimA.User.ID)
	for what, err := range forbidden {
		if client.ErrorStatus(err) != http.StatusForbidden || client.ErrorCode(err) != "forbidden" {
			t.Errorf("a member's %s: %v, want 403 forbidden", what, err)
		}
	}

	r, err := owner.SetMemberRole(ctx, g.ID, admA.User.ID, chat.RoleAdmin)
	if err != nil {
		t.Fatalf("promote: %v", err)
	}
	roles := map[string]string{}
	for _, m := range r.Members {
		roles[m.UserID] = m.Role
	}
	if roles[admA.User.ID] != chat.RoleAdmin || roles[memA.User.ID] != chat.RoleMember || len(roles) != 5 {
		t.Fatalf("roles after the promotion: %v", roles)
	}
	expect(t, oc, "ROOM_UPDATED", nil)
	if _, err := owner.SetMemberRole(ctx, g.ID, admA.User.ID, "owner"); client.ErrorCode(err) != "bad_request" {
		t.Fatalf("role owner: %v, want 400 bad_request", err)
	}

	r, err = adm.UpdateRoom(ctx, g.ID, client.RoomPatch{Name: str("Club 서울"), Description: str("Fridays")})
	if err != nil || r.Name != "Club 서울" || r.Description != "Fridays" || r.BannedIDs == nil {
		t.Fatalf("the admin renames: %q %q bannedIds %v, %v", r.Name, r.Description, r.BannedIDs, err)
	}
	if mr, err := mem.Room(ctx, g.ID); err != nil || mr.Description != "Fridays" || mr.BannedIDs != nil {
		t.Fatalf("a member's view: %q bannedIds %v, %v; want the description and no bannedIds", mr.Description, mr.BannedIDs, err)
	}

	// Pins in a group: the admin may, a member may not.
	m, _, err := mem.SendMessage(ctx, g.ID, client.NewMessage{Text: "rules"})
	if err != nil {
		t.Fatal(err)
	}
	expect(t, vc, "MESSAGE_CREATED", isMessage(m.Seq)) // the victim is routed the room's events
	if _, err := mem.Pin(ctx, g.ID, m.ID); client.ErrorCode(err) != "forbidden" {
		t.Fatalf("a member pins: %v, want 403 forbidden", err)
	}
	if p, err := adm.Pin(ctx, g.ID, m.ID); err != nil || p.PinnedAt == nil {
		t.Fatalf("the admin pins: %+v, %v", p, err)
	}
	expect(t, vc, "MESSAGE_UPDATED", nil)
	drain(t, vc) // what came before the removal

	// Removal: the victim's socket on the other node hears that they left, then nothing.
	if err := adm.RemoveMember(ctx, g.ID, victimA.User.ID); err != nil {
		t.Fatalf("the admin removes: %v", err)
	}
	expect(t, vc, "ROOM_UPDATED", func(ev client.Event) bool {
		rr, err := ev.Room()
		return err == nil && rr.ID == g.ID && !slices.Contains(rr.MemberIDs, victimA.User.ID)
	})
	after, _, err := mem.SendMessage(ctx, g.ID, client.NewMessage{Text: "after"})
	if err != nil {
		t.Fatal(err)
	}
	expect(t, oc, "MESSAGE_CREATED", isMessage(after.Seq))
	for _, ev := range drain(t, vc) {
		if ev.Type == "MESSAGE_CREATED" || ev.Type == "MESSAGE_UPDATED" {
			t.Fatalf("the removed user's socket got %s", ev.Type)
		}
	}
	if _, _, err := victim.History(ctx, g.ID, chat.HistoryQuery{}); client.ErrorStatus(err) != http.StatusNotFound {
		t.Fatalf("the removed user's history: %v, want 404", err)
	}
	if err := adm.RemoveMember(ctx, g.ID, victimA.User.ID); client.ErrorCode(err) != "member_not_found" {
		t.Fatalf("removing twice: %v", err)
	}

	// Ban, no way back in, unban.
	r, err = adm.Ban(ctx, g.ID, bannedA.User.ID)
	if err != nil || !slices.Equal(r.BannedIDs, []string{bannedA.User.ID}) || slices.Contains(r.MemberIDs, bannedA.User.ID) {
		t.Fatalf("ban: members %v banned %v, %v", r.MemberIDs, r.BannedIDs, err)
	}
	if _, err := owner.AddMembers(ctx, g.ID, bannedA.User.ID); client.ErrorStatus(err) != http.StatusForbidden || client.ErrorCode(err) != "banned" {
		t.Fatalf("adding a banned user: %v, want 403 banned", err)
	}
	if err := adm.Unban(ctx, g.ID, bannedA.User.ID); err != nil {
		t.Fatalf("unban: %v", err)
	}
	if r, err := owner.AddMembers(ctx, g.ID, bannedA.User.ID); err != nil || !slices.Contains(r.MemberIDs, bannedA.User.ID) {
		t.Fatalf("adding after the unban: %v, %v", r.MemberIDs, err)
	}
	if err := adm.Unban(ctx, g.ID, bannedA.User.ID); client.ErrorCode(err) != "ban_not_found" {
		t.Fatalf("unban twice: %v", err)
	}

	// A direct room has no moderation.
	d, _, err := owner.CreateRoom(ctx, client.NewRoom{Type: chat.RoomDirect, MemberIDs: []string{memA.User.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := owner.UpdateRoom(ctx, d.ID, client.RoomPatch{Name: str("x")}); client.ErrorStatus(err) != http.StatusBadRequest || client.ErrorCode(err) != "not_a_group" {
		t.Fatalf("renaming a direct room: %v, want 400 not_a_group", err)
	}
}
