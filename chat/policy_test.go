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
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.rule(c.a)
			if got := ErrorCode(err); (c.want == "" && err != nil) || (c.want != "" && got != c.want) {
				t.Fatalf("got %v (code %q), want code %q", err, got, c.want)
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
