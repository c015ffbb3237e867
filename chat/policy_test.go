package chat

import "testing"

// TestPolicy holds every rule of policy.go to its table: who may do what, and the error a
// refused caller sees.
func TestPolicy(t *testing.T) {
	group, direct := &Room{Type: RoomGroup}, &Room{Type: RoomDirect}
	member := func(r *Room) Access { return Access{Member: true, Room: r} }
	stranger := func(r *Room) Access { return Access{Room: r} }
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
		{"open media: member", mayOpenMedia, member(nil), ""},
		{"open media: stranger", mayOpenMedia, stranger(nil), "room_not_found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.rule(c.a)
			if got := ErrorCode(err); (c.want == "" && err != nil) || (c.want != "" && got != c.want) {
				t.Fatalf("got %v (code %q), want code %q", err, got, c.want)
			}
		})
	}
}
