package chat

import (
	"testing"
	"time"
)

// TestPolicy holds every rule of policy.go to its table: who may do what, and the error a
// refused caller sees.
func TestPolicy(t *testing.T) {
	group, direct := &Room{Type: RoomGroup}, &Room{Type: RoomDirect}
	member := func(r *Room) Access { return Access{Member: true, Room: r} }
	stranger := func(r *Room) Access { return Access{Room: r} }
	text := &Message{SenderID: "ann", Type: MessageText}
	image := &Message{SenderID: "ann", Type: MessageImage}
	gone := &Message{SenderID: "ann", Type: MessageText, DeletedAt: &Time{}}
	on := func(user string, m *Message, r *Room, role string) Access {
		return Access{Member: true, UserID: user, Message: m, Room: r, Role: role}
	}
	// as: bob, of role in r, acting on target (their membership t, nil when not a member).
	as := func(r *Room, role, target string, t *Member) Access {
		if t != nil {
			t.UserID = target
		}
		return Access{Member: true, Room: r, UserID: "bob", Role: role, TargetID: target, Target: t}
	}
	memberAs := func(role string) *Member { return &Member{Role: role} }
	for _, c := range []struct {
		name string
		rule rule
		a    Access
		want string // error code; "" allowed
	}{
		{"read: member", mayRead, member(nil), ""},
		{"read: stranger", mayRead, stranger(nil), "room_not_found"},
		{"post: member", mayPost, member(nil), ""},
		{"post: stranger", mayPost, stranger(nil), "room_not_found"},
		{"view: member", mayView, member(nil), ""},
		{"view: stranger", mayView, stranger(nil), "room_not_found"},
		{"acknowledge delivery: member", mayAcknowledgeDelivery, member(nil), ""},
		{"acknowledge delivery: stranger", mayAcknowledgeDelivery, stranger(nil), "room_not_found"},
		{"type: member", mayType, member(nil), ""},
		{"type: stranger", mayType, stranger(nil), "room_not_found"},
		{"add members: member of a group", mayAddMembers, member(group), ""},
		{"add members: member of a direct room", mayAddMembers, member(direct), "not_a_group"},
		{"add members: room not loaded", mayAddMembers, member(nil), "not_a_group"},
		{"add members: stranger to a group", mayAddMembers, stranger(group), "room_not_found"},
		{"add members: stranger to a direct room", mayAddMembers, stranger(direct), "room_not_found"},
		{"leave: member", mayLeave, member(nil), ""},
		{"leave: stranger", mayLeave, stranger(nil), "room_not_found"},
		{"own settings: member", mayChangeOwnSettings, member(nil), ""},
		{"own settings: stranger", mayChangeOwnSettings, stranger(nil), "room_not_found"},
		{"edit: sender", mayEditMessage, on("ann", text, nil, ""), ""},
		{"edit: another member", mayEditMessage, on("bob", text, nil, ""), "not_sender"},
		{"edit: a group's owner, not the sender", mayEditMessage, on("bob", text, group, RoleOwner), "not_sender"},
		{"edit: an image", mayEditMessage, on("ann", image, nil, ""), "not_text"},
		{"edit: deleted", mayEditMessage, on("ann", gone, nil, ""), "deleted"},
		{"edit: stranger", mayEditMessage, Access{UserID: "ann", Message: text}, "room_not_found"},
		{"delete: sender", mayDeleteMessage, on("ann", text, nil, ""), ""},
		{"delete: sender, deleted already", mayDeleteMessage, on("ann", gone, nil, ""), ""},
		{"delete: another member", mayDeleteMessage, on("bob", text, group, RoleMember), "not_sender"},
		{"delete: a group's owner", mayDeleteMessage, on("bob", text, group, RoleOwner), ""},
		{"delete: a group's admin", mayDeleteMessage, on("bob", text, group, RoleAdmin), ""},
		{"delete: the other member of a direct room", mayDeleteMessage, on("bob", text, direct, ""), "not_sender"},
		{"delete: stranger", mayDeleteMessage, Access{UserID: "ann", Message: text}, "room_not_found"},
		{"react: member", mayReact, member(nil), ""},
		{"react: stranger", mayReact, stranger(nil), "room_not_found"},
		{"pin: member of a direct room", mayPin, on("bob", text, direct, ""), ""},
		{"pin: member of a group", mayPin, on("bob", text, group, RoleMember), "forbidden"},
		{"pin: owner of a group", mayPin, on("bob", text, group, RoleOwner), ""},
		{"pin: admin of a group", mayPin, on("bob", text, group, RoleAdmin), ""},
		{"pin: room not loaded", mayPin, on("bob", text, nil, ""), "forbidden"},
		{"pin: stranger", mayPin, stranger(direct), "room_not_found"},

		{"add members: banned user", mayAddMembers, Access{Member: true, Room: group, TargetBanned: true}, "banned"},
		{"update room: owner", mayUpdateRoom, as(group, RoleOwner, "", nil), ""},
		{"update room: admin", mayUpdateRoom, as(group, RoleAdmin, "", nil), ""},
		{"update room: member", mayUpdateRoom, as(group, RoleMember, "", nil), "forbidden"},
		{"update room: direct room", mayUpdateRoom, as(direct, "", "", nil), "not_a_group"},
		{"update room: stranger", mayUpdateRoom, stranger(group), "room_not_found"},
		{"remove: owner removes a member", mayRemoveMember, as(group, RoleOwner, "cy", memberAs(RoleMember)), ""},
		{"remove: owner removes an admin", mayRemoveMember, as(group, RoleOwner, "cy", memberAs(RoleAdmin)), ""},
		{"remove: admin removes a member", mayRemoveMember, as(group, RoleAdmin, "cy", memberAs(RoleMember)), ""},
		{"remove: admin removes another admin", mayRemoveMember, as(group, RoleAdmin, "cy", memberAs(RoleAdmin)), "forbidden"},
		{"remove: admin removes the owner", mayRemoveMember, as(group, RoleAdmin, "cy", memberAs(RoleOwner)), "forbidden"},
		{"remove: member removes a member", mayRemoveMember, as(group, RoleMember, "cy", memberAs(RoleMember)), "forbidden"},
		{"remove: oneself", mayRemoveMember, as(group, RoleOwner, "bob", memberAs(RoleOwner)), "bad_request"},
		{"remove: not a member", mayRemoveMember, as(group, RoleOwner, "cy", nil), "member_not_found"},
		{"remove: direct room", mayRemoveMember, as(direct, "", "cy", memberAs(RoleMember)), "not_a_group"},
		{"remove: stranger", mayRemoveMember, stranger(group), "room_not_found"},
		{"ban: owner bans a member", mayBan, as(group, RoleOwner, "cy", memberAs(RoleMember)), ""},
		{"ban: owner bans an admin", mayBan, as(group, RoleOwner, "cy", memberAs(RoleAdmin)), ""},
		{"ban: admin bans a member", mayBan, as(group, RoleAdmin, "cy", memberAs(RoleMember)), ""},
		{"ban: admin bans a non-member", mayBan, as(group, RoleAdmin, "cy", nil), ""},
		{"ban: admin bans another admin", mayBan, as(group, RoleAdmin, "cy", memberAs(RoleAdmin)), "forbidden"},
		{"ban: admin bans the owner", mayBan, as(group, RoleAdmin, "cy", memberAs(RoleOwner)), "forbidden"},
		{"ban: member bans a member", mayBan, as(group, RoleMember, "cy", memberAs(RoleMember)), "forbidden"},
		{"ban: oneself", mayBan, as(group, RoleOwner, "bob", memberAs(RoleOwner)), "bad_request"},
		{"ban: nobody named", mayBan, as(group, RoleOwner, "", nil), "bad_request"},
		{"ban: direct room", mayBan, as(direct, "", "cy", memberAs(RoleMember)), "not_a_group"},
		{"ban: stranger", mayBan, stranger(group), "room_not_found"},
		{"unban: owner", mayUnban, as(group, RoleOwner, "cy", nil), ""},
		{"unban: admin", mayUnban, as(group, RoleAdmin, "cy", nil), ""},
		{"unban: member", mayUnban, as(group, RoleMember, "cy", nil), "forbidden"},
		{"unban: direct room", mayUnban, as(direct, "", "cy", nil), "not_a_group"},
		{"unban: stranger", mayUnban, stranger(group), "room_not_found"},
		{"set role: owner promotes a member", maySetRole, as(group, RoleOwner, "cy", memberAs(RoleMember)), ""},
		{"set role: owner demotes an admin", maySetRole, as(group, RoleOwner, "cy", memberAs(RoleAdmin)), ""},
		{"set role: admin promotes a member", maySetRole, as(group, RoleAdmin, "cy", memberAs(RoleMember)), "forbidden"},
		{"set role: member", maySetRole, as(group, RoleMember, "cy", memberAs(RoleMember)), "forbidden"},
		{"set role: the owner's own", maySetRole, as(group, RoleOwner, "bob", memberAs(RoleOwner)), "bad_request"},
		{"set role: not a member", maySetRole, as(group, RoleOwner, "cy", nil), "member_not_found"},
		{"set role: direct room", maySetRole, as(direct, "", "cy", memberAs(RoleMember)), "not_a_group"},
		{"set role: stranger", maySetRole, stranger(group), "room_not_found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.rule(c.a)
			if got := ErrorCode(err); (c.want == "" && err != nil) || (c.want != "" && got != c.want) {
				t.Fatalf("got %v (code %q), want code %q", err, got, c.want)
			}
		})
	}
}

func TestRoleOf(t *testing.T) {
	group, direct := &Room{Type: RoomGroup}, &Room{Type: RoomDirect}
	for _, c := range []struct {
		name string
		r    *Room
		m    Member
		want string
	}{
		{"group owner", group, Member{UserID: "a", Role: RoleOwner}, RoleOwner},
		{"group admin", group, Member{UserID: "a", Role: RoleAdmin}, RoleAdmin},
		{"group member stored without a role", group, Member{UserID: "a"}, RoleMember},
		{"direct room", direct, Member{UserID: "a", Role: RoleMember}, ""},
		{"no membership", group, Member{}, ""},
		{"no room", nil, Member{UserID: "a", Role: RoleOwner}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := roleOf(c.r, c.m); got != c.want {
				t.Fatalf("roleOf = %q, want %q", got, c.want)
			}
		})
	}
}

func TestMediaRules(t *testing.T) {
	const room, other, uploader, mate = "r1", "r2", "u1", "u2"
	member := func() (Access, error) { return Access{Member: true}, nil }
	stranger := func() (Access, error) { return Access{}, nil }
	unsent := Media{ID: "m1", RoomID: room, UploaderID: uploader}
	sent := unsent
	sent.Attached = true
	for _, c := range []struct {
		name   string
		m      Media
		user   string
		access func() (Access, error)
		want   string
	}{
		{"open: uploader, not sent", unsent, uploader, stranger, ""},
		{"open: uploader, sent", sent, uploader, member, ""},
		{"open: uploader who left the room, sent", sent, uploader, stranger, "media_not_found"},
		{"open: another member, not sent", unsent, mate, member, "media_not_found"},
		{"open: another member, sent", sent, mate, member, ""},
		{"open: stranger, sent", sent, mate, stranger, "media_not_found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := MayOpenMedia(c.m, c.user, c.access)
			if got := ErrorCode(err); (c.want == "" && err != nil) || (c.want != "" && got != c.want) {
				t.Fatalf("got %v (code %q), want code %q", err, got, c.want)
			}
		})
	}
	for _, c := range []struct {
		name         string
		m            Media
		room, sender string
		want         string
	}{
		{"attach: own upload", unsent, room, uploader, ""},
		{"attach: another member's unsent upload", unsent, room, mate, "media_not_in_room"},
		{"attach: another member's sent upload", sent, room, mate, ""},
		{"attach: own upload to another room", unsent, other, uploader, "media_not_in_room"},
		{"attach: sent upload to another room", sent, other, mate, "media_not_in_room"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := MayAttachMedia(c.m, c.room, c.sender)
			if got := ErrorCode(err); (c.want == "" && err != nil) || (c.want != "" && got != c.want) {
				t.Fatalf("got %v (code %q), want code %q", err, got, c.want)
			}
		})
	}
}

func TestAdministerRule(t *testing.T) {
	at := At(time.Now())
	for _, c := range []struct {
		name string
		u    User
		want string
	}{
		{"administrator", User{Admin: true}, ""},
		{"user", User{}, "not_admin"},
		{"suspended administrator", User{Admin: true, SuspendedAt: &at}, "not_admin"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := mayAdminister(c.u)
			if got := ErrorCode(err); (c.want == "" && err != nil) || (c.want != "" && got != c.want) {
				t.Fatalf("got %v (code %q), want code %q", err, got, c.want)
			}
		})
	}
}

func TestPushed(t *testing.T) {
	m := &Message{SenderID: "ann", Seq: 5, Mentions: []string{"cid"}}
	for _, c := range []struct {
		name string
		mb   Member
		want bool
	}{
		{"a member who has not read it", Member{UserID: "bob", LastReadSeq: 4}, true},
		{"the sender", Member{UserID: "ann", LastReadSeq: 4}, false},
		{"a member who read it as it came", Member{UserID: "bob", LastReadSeq: 5}, false},
		{"a member who muted the room", Member{UserID: "bob", LastReadSeq: 4, Muted: true}, false},
		{"a mentioned member who muted the room", Member{UserID: "cid", LastReadSeq: 4, Muted: true}, true},
		{"a mentioned member who read it", Member{UserID: "cid", LastReadSeq: 5, Muted: true}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Pushed(c.mb, m); got != c.want {
				t.Fatalf("Pushed = %v, want %v", got, c.want)
			}
		})
	}
}

func TestReachRule(t *testing.T) {
	if err := mayReach(nil); err != nil {
		t.Errorf("no blockers: %v", err)
	}
	if got := ErrorCode(mayReach([]string{"ann"})); got != "blocked" {
		t.Errorf("a blocker: code %q, want blocked", got)
	}
}
