package chat

import (
	"context"
	"strings"
	"unicode/utf8"
)

// Group moderation: the owner and admins rename and describe a group, remove and ban
// members, and the owner appoints admins. The rules are policy.go's (mayUpdateRoom,
// mayRemoveMember, mayBan, mayUnban, maySetRole); this file gathers what they need and
// makes the change. Every change of membership publishes ROOM_UPDATED, which takes a
// removed user's sessions out of the room on every node (ws) and drops the membership
// cache's entry everywhere (members.go); the removed user is named in the event's
// userIds, so that their sessions hear that they left.

// MaxDescriptionRunes bounds a group's description.
const MaxDescriptionRunes = 1000

// RoomPatch is the input of UpdateRoom: the fields to change, nil where unchanged.
type RoomPatch struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
}

// moderationAccess is the caller's access to a room for a moderation rule, with the room,
// the caller's stored role and, when targetID is not "", the target's membership and
// whether they are banned. A stranger gets room_not_found before anything of the room is
// read, as for every rule.
func (s *Service) moderationAccess(ctx context.Context, callerID, roomID, targetID string) (Access, error) {
	a, me, err := s.access(ctx, roomID, callerID)
	if err != nil {
		return Access{}, err
	}
	if err := membersOnly(a); err != nil {
		return Access{}, err
	}
	r, err := s.rooms.Room(ctx, roomID)
	if IsNotFound(err) { // deleted since
		return Access{}, roomNotFound()
	}
	if err != nil {
		return Access{}, err
	}
	a.Room, a.Role, a.TargetID = &r, roleOf(&r, me), targetID
	if targetID == "" {
		return a, nil
	}
	t, err := s.members.Member(ctx, roomID, targetID)
	switch {
	case err == nil:
		a.Target = &t
	case !IsNotFound(err):
		return Access{}, err
	}
	return a, nil
}

// UpdateRoom renames a group or changes its description (owner or admins) and returns
// the room as the caller sees it.
func (s *Service) UpdateRoom(ctx context.Context, callerID, roomID string, in RoomPatch) (Room, error) {
	a, err := s.moderationAccess(ctx, callerID, roomID, "")
	if err != nil {
		return Room{}, err
	}
	if err := mayUpdateRoom(a); err != nil {
		return Room{}, err
	}
	if in.Name == nil && in.Description == nil {
		return Room{}, Errorf(Invalid, "bad_request", "name or description is required")
	}
	if in.Name != nil {
		name, err := checkName(*in.Name)
		if err != nil {
			return Room{}, err
		}
		in.Name = &name
	}
	if in.Description != nil {
		d, err := checkDescription(*in.Description)
		if err != nil {
			return Room{}, err
		}
		in.Description = &d
	}
	if err := s.mod.UpdateRoom(ctx, roomID, in.Name, in.Description); err != nil {
		return Room{}, err
	}
	if err := s.announce(ctx, roomID, nil); err != nil {
		return Room{}, err
	}
	return s.Room(ctx, callerID, roomID)
}

// checkDescription returns a description cleaned as message texts are (CRLF made LF,
// control characters refused) and trimmed, or why it is refused.
func checkDescription(d string) (string, error) {
	d, err := checkText(strings.TrimSpace(d))
	if err != nil {
		return "", Errorf(Invalid, "bad_request", "description: %s", ErrorMessage(err))
	}
	if utf8.RuneCountInString(d) > MaxDescriptionRunes {
		return "", Errorf(Invalid, "bad_request", "description is longer than %d characters", MaxDescriptionRunes)
	}
	return d, nil
}

// SetMemberRole makes a member of a group an admin or a member again (the owner only) and
// returns the room as the caller sees it.
func (s *Service) SetMemberRole(ctx context.Context, callerID, roomID, userID, role string) (Room, error) {
	a, err := s.moderationAccess(ctx, callerID, roomID, userID)
	if err != nil {
		return Room{}, err
	}
	if err := maySetRole(a); err != nil {
		return Room{}, err
	}
	if role != RoleAdmin && role != RoleMember {
		return Room{}, Errorf(Invalid, "bad_request", `role must be "admin" or "member"`)
	}
	if a.Target.Role != role {
		if err := s.mod.SetRole(ctx, roomID, userID, role); err != nil {
			if IsNotFound(err) { // left meanwhile
				return Room{}, memberNotFound()
			}
			return Room{}, err
		}
		if err := s.announce(ctx, roomID, nil); err != nil {
			return Room{}, err
		}
	}
	return s.Room(ctx, callerID, roomID)
}

// RemoveMember removes another member from a group (owner or admins; an admin only
// members). The removed user's sessions hear ROOM_UPDATED without them and stop
// receiving the room's events.
func (s *Service) RemoveMember(ctx context.Context, callerID, roomID, userID string) error {
	a, err := s.moderationAccess(ctx, callerID, roomID, userID)
	if err != nil {
		return err
	}
	if err := mayRemoveMember(a); err != nil {
		return err
	}
	if err := s.members.RemoveMember(ctx, roomID, userID); err != nil {
		if IsNotFound(err) { // left or removed concurrently
			return memberNotFound()
		}
		return err
	}
	return s.announce(ctx, roomID, []string{userID})
}

// Ban bans a user from a group (owner or admins; an admin only members): a member is
// removed as by RemoveMember, and nobody can add them again until Unban. It returns the
// room as the caller sees it, with bannedIds.
func (s *Service) Ban(ctx context.Context, callerID, roomID, userID string) (Room, error) {
	a, err := s.moderationAccess(ctx, callerID, roomID, userID)
	if err != nil {
		return Room{}, err
	}
	if err := mayBan(a); err != nil {
		return Room{}, err
	}
	if err := s.checkUsersExist(ctx, []string{userID}); err != nil {
		return Room{}, err
	}
	removed, err := s.mod.Ban(ctx, roomID, userID, callerID, s.cfg.Now())
	if err != nil {
		return Room{}, err
	}
	if removed {
		if err := s.announce(ctx, roomID, []string{userID}); err != nil {
			return Room{}, err
		}
	}
	return s.Room(ctx, callerID, roomID)
}

// Unban lifts a ban (owner or admins); the user can be added again.
func (s *Service) Unban(ctx context.Context, callerID, roomID, userID string) error {
	a, err := s.moderationAccess(ctx, callerID, roomID, userID)
	if err != nil {
		return err
	}
	if err := mayUnban(a); err != nil {
		return err
	}
	if err := s.mod.Unban(ctx, roomID, userID); err != nil {
		if IsNotFound(err) {
			return Errorf(NotFound, "ban_not_found", "the user is not banned from this room")
		}
		return err
	}
	return nil
}

// checkAddable asks mayAddMembers whether ids may be added to the room of a, with
// whether any of them is banned from it.
func (s *Service) checkAddable(ctx context.Context, a Access, roomID string, ids []string) error {
	banned, err := s.mod.Banned(ctx, roomID, ids)
	if err != nil {
		return err
	}
	a.TargetBanned = len(banned) > 0
	return mayAddMembers(a)
}

// fillBans sets r.BannedIDs when the caller, of membership m, moderates the group: the
// bans are shown to its owner and admins only.
func (s *Service) fillBans(ctx context.Context, r *Room, m Member) error {
	if !moderates(Access{Room: r, Role: roleOf(r, m)}) {
		return nil
	}
	ids, err := s.mod.Bans(ctx, r.ID)
	if err != nil {
		return err
	}
	r.BannedIDs = append([]string{}, ids...) // never nil: an owner sees "bannedIds": []
	return nil
}

// announce publishes ROOM_UPDATED with the room as stored now; alsoTo are removed users,
// whose sessions hear it too. When the room cannot be read, this node's membership cache
// at least forgets it.
func (s *Service) announce(ctx context.Context, roomID string, alsoTo []string) error {
	r, err := s.rooms.Room(ctx, roomID)
	if err != nil {
		s.membership.invalidate(roomID)
		return err
	}
	s.publishRoom(ctx, r, alsoTo)
	return nil
}
