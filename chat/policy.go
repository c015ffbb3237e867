package chat

import (
	"context"
	"slices"
)

// Who may do what, in one place. Each action has a rule: a function of what is known of
// the user's relation to the room (Access) that returns nil or the error the caller sees.
// The service gathers the Access (from the membership cache on hot paths, from the store
// where it needs the membership itself) and asks the rule; roles, bans and blocks add
// fields to Access and change the rules here, nowhere else.

// Access is what a rule knows of a user and a room.
type Access struct {
	// Member: the user is a member of the room now.
	Member bool
	// Room is the room, for rules that depend on its kind; nil when the caller did not
	// load it (a rule that needs it then refuses).
	Room *Room
	// UserID is who asks, and Message the message a rule about one is asked of (nil
	// otherwise: such a rule then refuses).
	UserID  string
	Message *Message
	// Role is the user's role in a group (RoleOwner, RoleAdmin, RoleMember) as stored;
	// "" where none is known.
	Role string
	// TargetID is the user a moderation rule is asked about (removed, banned, promoted,
	// added); Target their membership of the room, nil when they are not a member; and
	// TargetBanned whether they are banned from it.
	TargetID     string
	Target       *Member
	TargetBanned bool
}

// Roles of a group's members.
const (
	RoleOwner  = "owner"
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// roleOf is the user's stored role in the room, from m, their membership: "" outside a
// group (a direct room has no roles) or when m is no membership. A membership stored
// without a role reads as RoleMember.
func roleOf(r *Room, m Member) string {
	if r == nil || r.Type != RoomGroup || m.UserID == "" {
		return ""
	}
	if m.Role == "" {
		return RoleMember
	}
	return m.Role
}

// moderates reports whether a's role may moderate a group.
func moderates(a Access) bool {
	return a.Room != nil && a.Room.Type == RoomGroup && (a.Role == RoleOwner || a.Role == RoleAdmin)
}

// rule decides one action.
type rule func(Access) error

// A room the user is not in is reported exactly like a room that does not exist: a
// stranger must not learn which room ids are real.
func membersOnly(a Access) error {
	if !a.Member {
		return roomNotFound()
	}
	return nil
}

// mayRead: see a room, its members and its history, and resume it.
func mayRead(a Access) error { return membersOnly(a) }

// mayPost: send a message.
func mayPost(a Access) error { return membersOnly(a) }

// mayView: mark the room as viewed (ROOM_FOCUSED) or read (a read cursor).
func mayView(a Access) error { return membersOnly(a) }

// mayAcknowledgeDelivery: say that the room's messages reached one's device (DELIVERED).
func mayAcknowledgeDelivery(a Access) error { return membersOnly(a) }

// mayType: tell the room that one is typing.
func mayType(a Access) error { return membersOnly(a) }

// groupsOnly lets through members of a group: moderation has no meaning in a direct room.
func groupsOnly(a Access) error {
	if err := membersOnly(a); err != nil {
		return err
	}
	if a.Room == nil || a.Room.Type != RoomGroup {
		return Errorf(Invalid, "not_a_group", "this applies to group rooms only")
	}
	return nil
}

// forbidden is the refusal of an action the user's role does not allow.
func forbidden(why string) error { return Errorf(Forbidden, "forbidden", "%s", why) }

// mayAddMembers: add users to a group; any member may, but not a user banned from it
// (TargetBanned: any of those to add).
func mayAddMembers(a Access) error {
	if err := groupsOnly(a); err != nil {
		return err
	}
	if a.TargetBanned {
		return Errorf(Forbidden, "banned", "the user is banned from this room")
	}
	return nil
}

// mayUpdateRoom: rename a group or change its description; its owner or admins.
func mayUpdateRoom(a Access) error {
	if err := groupsOnly(a); err != nil {
		return err
	}
	if !moderates(a) {
		return forbidden("only a group's owner or admins may change it")
	}
	return nil
}

// outranks reports whether a's role is above the target's: the owner is above everyone,
// an admin above members only.
func outranks(a Access) bool {
	target := RoleMember
	if a.Target != nil && a.Target.Role != "" {
		target = a.Target.Role
	}
	return a.Role == RoleOwner || a.Role == RoleAdmin && target == RoleMember
}

// mayRemoveMember: remove another member from a group; its owner or admins, an admin
// neither the owner nor another admin. Oneself: that is leaving.
func mayRemoveMember(a Access) error {
	if err := groupsOnly(a); err != nil {
		return err
	}
	if !moderates(a) {
		return forbidden("only a group's owner or admins may remove members")
	}
	switch {
	case a.TargetID == a.UserID:
		return Errorf(Invalid, "bad_request", "to remove oneself, leave the room")
	case a.Target == nil:
		return memberNotFound()
	case !outranks(a):
		return forbidden("an admin may remove members only, not the owner or another admin")
	}
	return nil
}

// mayBan: ban a user from a group (a member, who is removed, or not); as mayRemoveMember.
func mayBan(a Access) error {
	if err := groupsOnly(a); err != nil {
		return err
	}
	if !moderates(a) {
		return forbidden("only a group's owner or admins may ban")
	}
	switch {
	case a.TargetID == "":
		return Errorf(Invalid, "bad_request", "userId is required")
	case a.TargetID == a.UserID:
		return Errorf(Invalid, "bad_request", "one cannot ban oneself")
	case !outranks(a):
		return forbidden("an admin may ban members only, not the owner or another admin")
	}
	return nil
}

// mayUnban: lift a ban; a group's owner or admins.
func mayUnban(a Access) error {
	if err := groupsOnly(a); err != nil {
		return err
	}
	if !moderates(a) {
		return forbidden("only a group's owner or admins may lift a ban")
	}
	return nil
}

// maySetRole: make a member an admin or a member again; the group's owner only, and not
// of themself (a group always has its owner).
func maySetRole(a Access) error {
	if err := groupsOnly(a); err != nil {
		return err
	}
	if a.Role != RoleOwner {
		return forbidden("only a group's owner may appoint or dismiss admins")
	}
	switch {
	case a.TargetID == a.UserID:
		return Errorf(Invalid, "bad_request", "the owner's own role cannot change")
	case a.Target == nil:
		return memberNotFound()
	}
	return nil
}

func memberNotFound() error {
	return Errorf(NotFound, "member_not_found", "the user is not a member of this room")
}

// mayLeave: leave a room.
func mayLeave(a Access) error { return membersOnly(a) }

// mayChangeOwnSettings: mute or unmute the room for oneself.
func mayChangeOwnSettings(a Access) error { return membersOnly(a) }

// mayEditMessage: change a message's text. The sender only, text messages only, not once
// deleted.
func mayEditMessage(a Access) error {
	if err := membersOnly(a); err != nil {
		return err
	}
	m := a.Message
	switch {
	case m == nil || m.SenderID != a.UserID:
		return Errorf(Forbidden, "not_sender", "only the sender may edit a message")
	case m.Type != MessageText:
		return Errorf(Invalid, "not_text", "only text messages can be edited")
	case m.Deleted():
		return ErrMessageDeleted
	}
	return nil
}

// mayDeleteMessage: delete a message. The sender, or a group's owner or admin.
func mayDeleteMessage(a Access) error {
	if err := membersOnly(a); err != nil {
		return err
	}
	if a.Message == nil || (a.Message.SenderID != a.UserID && !moderates(a)) {
		return Errorf(Forbidden, "not_sender", "only the sender may delete a message")
	}
	return nil
}

// mayReact: add or remove one's own reaction; any member.
func mayReact(a Access) error { return membersOnly(a) }

// mayPin: pin or unpin a message. Any member of a direct room; a group's owner or admin.
func mayPin(a Access) error {
	if err := membersOnly(a); err != nil {
		return err
	}
	if a.Room == nil {
		return Errorf(Forbidden, "forbidden", "pinning needs the room")
	}
	if a.Room.Type == RoomDirect || moderates(a) {
		return nil
	}
	return Errorf(Forbidden, "forbidden", "only a group's owner or admins may pin messages")
}

// Pushed reports whether a member is pushed a new message (when offline): not its sender,
// not one who read it as it arrived, and in a room they muted only when it mentions them.
func Pushed(mb Member, m *Message) bool {
	if mb.UserID == m.SenderID || mb.LastReadSeq >= m.Seq {
		return false
	}
	return !mb.Muted || slices.Contains(m.Mentions, mb.UserID)
}

// The media rules are exported: the media service, which serves and attaches files, asks
// them rather than keeping rules of its own. Both answer a refusal exactly like media that
// does not exist, so that nobody can probe which ids are real.

// MayOpenMedia: download an uploaded file. Before a message uses it (unattached) only its
// uploader may: an upload not sent is not the room's yet (a member could otherwise read
// what another uploaded and then decided not to send). Once sent it is the room's: its
// members may, and the uploader only while a member. a is userID's access to the media's
// room, asked only for attached media.
func MayOpenMedia(m Media, userID string, a func() (Access, error)) error {
	if !m.Attached {
		if m.UploaderID != userID {
			return mediaNotFound()
		}
		return nil
	}
	acc, err := a()
	if err != nil {
		return err
	}
	if !acc.Member {
		return mediaNotFound()
	}
	return nil
}

// MayAttachMedia: use an uploaded file in a message of roomID. It must have been uploaded
// to that room, and by the sender, unless a message of the room uses it already (then its
// members see it anyway): a member must not publish what another uploaded and did not send.
func MayAttachMedia(m Media, roomID, senderID string) error {
	if m.RoomID != roomID || !m.Attached && m.UploaderID != senderID {
		return Errorf(Invalid, "media_not_in_room", "no media %s in this room", m.ID)
	}
	return nil
}

// mayReach: open a direct room with, post in a direct room with, or put into a group
// (creating it or adding) the users named; blockers are those of them who block the
// actor. A block is one way: the blocker may still do all of this with the blocked user.
func mayReach(blockers []string) error {
	if len(blockers) > 0 {
		return Errorf(Forbidden, "blocked", "this user does not accept that from you")
	}
	return nil
}

// mayAdminister: act as a server administrator (the admin API). The user is read from the
// store for every call, so that a revoked grant takes effect at once.
func mayAdminister(u User) error {
	if !u.Admin || u.SuspendedAt != nil {
		return Errorf(Forbidden, "not_admin", "this needs a server administrator")
	}
	return nil
}

func mediaNotFound() error { return Errorf(NotFound, "media_not_found", "no such media") }

// may asks rule with the cached membership: the hot paths (send, history, focus, typing).
func (s *Service) may(ctx context.Context, roomID, userID string, r rule) error {
	if roomID == "" {
		return Errorf(Invalid, "bad_request", "roomId is required")
	}
	ok, err := s.membership.isMember(ctx, roomID, userID, s.loadMembers)
	if err != nil {
		return err
	}
	return r(Access{Member: ok})
}

// access reads the user's membership of the room from the store, for paths that need it
// (its cursor, its settings) and must not trust a cache (membership changes). The Member
// is the zero value when the user is not a member.
func (s *Service) access(ctx context.Context, roomID, userID string) (Access, Member, error) {
	if roomID == "" {
		return Access{}, Member{}, Errorf(Invalid, "bad_request", "roomId is required")
	}
	m, err := s.members.Member(ctx, roomID, userID)
	if IsNotFound(err) {
		return Access{}, Member{}, nil
	}
	if err != nil {
		return Access{}, Member{}, err
	}
	return Access{Member: true, UserID: userID, Role: m.Role}, m, nil
}

// allowed reads the user's membership from the store and asks rule.
func (s *Service) allowed(ctx context.Context, roomID, userID string, r rule) (Member, error) {
	a, m, err := s.access(ctx, roomID, userID)
	if err != nil {
		return Member{}, err
	}
	return m, r(a)
}
