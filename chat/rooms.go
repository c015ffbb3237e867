package chat

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// NewRoom is the input of CreateRoom.
type NewRoom struct {
	Type      string   `json:"type"`
	Name      string   `json:"name"`
	MemberIDs []string `json:"memberIds"`
}

// CreateRoom creates a group, or returns the direct room between the caller and the other
// member (created false) when one exists.
func (s *Service) CreateRoom(ctx context.Context, callerID string, in NewRoom) (Room, bool, error) {
	name, err := checkName(in.Name)
	if err != nil {
		return Room{}, false, err
	}
	others := uniqueWithout(in.MemberIDs, callerID)
	switch in.Type {
	case RoomDirect:
		if len(others) != 1 {
			return Room{}, false, Errorf(Invalid, "bad_request", "a direct room has exactly one other member")
		}
	case RoomGroup:
		if len(others)+1 > s.cfg.MaxRoomMembers {
			return Room{}, false, Errorf(Invalid, "too_many_members", "a room has at most %d members", s.cfg.MaxRoomMembers)
		}
	default:
		return Room{}, false, Errorf(Invalid, "bad_request", `type must be "direct" or "group"`)
	}
	if err := s.checkUsersExist(ctx, others); err != nil {
		return Room{}, false, err
	}
	if blockers, err := s.blocks.Blockers(ctx, callerID, others); err != nil {
		return Room{}, false, err
	} else if err := mayReach(blockers); err != nil {
		return Room{}, false, err
	}
	members := append([]string{callerID}, others...)
	now := s.cfg.Now()
	if in.Type == RoomDirect {
		key := DirectKey(callerID, others[0])
		if r, err := s.rooms.DirectRoom(ctx, key); err == nil {
			r, err = s.rejoinDirect(ctx, r, members, now)
			return r, false, err
		} else if !IsNotFound(err) {
			return Room{}, false, err
		}
		r := Room{ID: NewID(), Type: RoomDirect, Name: name, MemberIDs: members, CreatedAt: At(now)}
		err := s.rooms.CreateRoom(ctx, r, key)
		if IsConflict(err) { // created concurrently: return the winner
			r, err = s.rooms.DirectRoom(ctx, key)
			if err != nil {
				return Room{}, false, err
			}
			r, err = s.rejoinDirect(ctx, r, members, now)
			return r, false, err
		}
		if err != nil {
			return Room{}, false, err
		}
		s.publishRoom(ctx, r, nil)
		return r, true, nil
	}
	r := Room{ID: NewID(), Type: RoomGroup, Name: name, MemberIDs: members, CreatedAt: At(now), CreatedBy: callerID}
	if err := s.rooms.CreateRoom(ctx, r, ""); err != nil {
		return Room{}, false, err
	}
	s.publishRoom(ctx, r, nil)
	return r, true, nil
}

// rejoinDirect puts back a member who had left a direct room that is asked for again.
func (s *Service) rejoinDirect(ctx context.Context, r Room, members []string, now time.Time) (Room, error) {
	var missing []string
	for _, id := range members {
		if !r.HasMember(id) {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return r, nil
	}
	if _, err := s.members.AddMembers(ctx, r.ID, missing, now); err != nil {
		return Room{}, err
	}
	r, err := s.rooms.Room(ctx, r.ID)
	if err != nil {
		return Room{}, err
	}
	s.publishRoom(ctx, r, nil)
	return r, nil
}

// Room list paging: a page holds at most MaxRoomsPage rooms (the default when the caller
// names no limit, so that a version-1 client that never pages sees every room of a user in
// up to that many) and ends early once its rooms hold RoomsPageMembers members together.
const (
	MaxRoomsPage     = 500
	RoomsPageMembers = 20000
)

// RoomList is one page of a user's rooms. NextCursor asks for the next page; nil when this
// is the last.
type RoomList struct {
	Rooms      []Room  `json:"rooms"`
	NextCursor *string `json:"nextCursor"`
}

// Rooms returns a page of the caller's rooms, most recently active first, each with the
// caller's unread count and the last message. limit 0 or above MaxRoomsPage is taken as
// MaxRoomsPage; cursor is a previous page's NextCursor, or "" for the first page. A room
// that becomes active while a client pages moves to the front, which the client has read
// already: it learns of it from the room's live events.
func (s *Service) Rooms(ctx context.Context, callerID string, limit int, cursor string) (RoomList, error) {
	if limit < 0 {
		return RoomList{}, Errorf(Invalid, "bad_request", "limit must not be negative")
	}
	if limit == 0 || limit > MaxRoomsPage {
		limit = MaxRoomsPage
	}
	after, err := parseRoomCursor(cursor)
	if err != nil {
		return RoomList{}, err
	}
	urs, more, err := s.rooms.UserRooms(ctx, callerID, RoomPage{Limit: limit, MaxMembers: RoomsPageMembers, After: after})
	if err != nil {
		return RoomList{}, err
	}
	// Mentions are counted only where something is unread: one store call for them all.
	unreadFrom := map[string]int64{}
	for _, ur := range urs {
		if ur.LastSeq > ur.LastReadSeq {
			unreadFrom[ur.ID] = ur.LastReadSeq
		}
	}
	mentions, err := s.mentions.MentionCounts(ctx, callerID, unreadFrom)
	if err != nil {
		return RoomList{}, err
	}
	rooms := make([]Room, 0, len(urs))
	for _, ur := range urs {
		r := ur.Room
		unread := max(r.LastSeq-ur.LastReadSeq, 0)
		muted := ur.MutedByUser
		mc := mentions[r.ID]
		r.UnreadCount, r.Muted, r.MentionCount = &unread, &muted, &mc
		if r.LastMessage != nil {
			last := *r.LastMessage
			if err := s.setUnreadOne(ctx, &last); err != nil {
				return RoomList{}, err
			}
			s.describe(ctx, &last)
			r.LastMessage = &last
		}
		rooms = append(rooms, r)
	}
	list := RoomList{Rooms: rooms}
	if more && len(urs) > 0 {
		last := urs[len(urs)-1]
		next := roomCursor(RoomKey{ActiveAt: last.ActiveAt, ID: last.ID})
		list.NextCursor = &next
	}
	return list, nil
}

// roomCursor encodes a room list position as an opaque token: clients pass it back and
// never read it.
func roomCursor(k RoomKey) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(k.ActiveAt.UnixMilli(), 10) + "." + k.ID))
}

func parseRoomCursor(c string) (RoomKey, error) {
	if c == "" {
		return RoomKey{}, nil
	}
	bad := Errorf(Invalid, "bad_cursor", "cursor is not one this server gave")
	if len(c) > 128 {
		return RoomKey{}, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return RoomKey{}, bad
	}
	ms, id, ok := strings.Cut(string(raw), ".")
	at, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil || id == "" || len(id) > 64 {
		return RoomKey{}, bad
	}
	return RoomKey{ActiveAt: time.UnixMilli(at), ID: id}, nil
}

// Room returns a room the caller is a member of, with every member's cursor.
func (s *Service) Room(ctx context.Context, callerID, roomID string) (Room, error) {
	if _, err := s.allowed(ctx, roomID, callerID, mayRead); err != nil {
		return Room{}, err
	}
	r, err := s.rooms.Room(ctx, roomID)
	if err != nil {
		return Room{}, err
	}
	members, err := s.members.Members(ctx, roomID)
	if err != nil {
		return Room{}, err
	}
	r.Members = members
	for _, m := range members {
		if m.UserID == callerID {
			unread, muted := max(r.LastSeq-m.LastReadSeq, 0), m.Muted
			r.UnreadCount, r.Muted = &unread, &muted
			var mc int64
			if unread > 0 {
				counts, err := s.mentions.MentionCounts(ctx, callerID, map[string]int64{roomID: m.LastReadSeq})
				if err != nil {
					return Room{}, err
				}
				mc = counts[roomID]
			}
			r.MentionCount = &mc
			if err := s.fillBans(ctx, &r, m); err != nil {
				return Room{}, err
			}
		}
	}
	return r, nil
}

// AddMembers adds users to a group the caller is a member of.
func (s *Service) AddMembers(ctx context.Context, callerID, roomID string, userIDs []string) (Room, error) {
	a, _, err := s.access(ctx, roomID, callerID)
	if err != nil {
		return Room{}, err
	}
	if err := membersOnly(a); err != nil { // a stranger learns nothing of the room's kind
		return Room{}, err
	}
	r, err := s.rooms.Room(ctx, roomID)
	if err != nil {
		return Room{}, err
	}
	a.Room = &r
	if err := mayAddMembers(a); err != nil {
		return Room{}, err
	}
	ids := uniqueWithout(userIDs, "")
	if len(ids) == 0 {
		return Room{}, Errorf(Invalid, "bad_request", "userIds is required")
	}
	if len(r.MemberIDs)+len(ids) > s.cfg.MaxRoomMembers {
		return Room{}, Errorf(Invalid, "too_many_members", "a room has at most %d members", s.cfg.MaxRoomMembers)
	}
	if err := s.checkUsersExist(ctx, ids); err != nil {
		return Room{}, err
	}
	if blockers, err := s.blocks.Blockers(ctx, callerID, ids); err != nil {
		return Room{}, err
	} else if err := mayReach(blockers); err != nil {
		return Room{}, err
	}
	if err := s.checkAddable(ctx, a, roomID, ids); err != nil {
		return Room{}, err
	}
	added, err := s.members.AddMembers(ctx, roomID, ids, s.cfg.Now())
	if err != nil {
		return Room{}, err
	}
	if r, err = s.rooms.Room(ctx, roomID); err != nil {
		s.membership.invalidate(roomID)
		return Room{}, err
	}
	if len(added) > 0 {
		s.publishRoom(ctx, r, nil)
	}
	return r, nil
}

// Leave removes the caller from a room.
func (s *Service) Leave(ctx context.Context, callerID, roomID string) error {
	if _, err := s.allowed(ctx, roomID, callerID, mayLeave); err != nil {
		return err
	}
	if err := s.members.RemoveMember(ctx, roomID, callerID); err != nil {
		if IsNotFound(err) { // left concurrently
			return roomNotFound()
		}
		return err
	}
	r, err := s.rooms.Room(ctx, roomID)
	if err != nil {
		// The membership changed but cannot be announced: at least this node's cache
		// must not keep the caller as a member.
		s.membership.invalidate(roomID)
		return err
	}
	s.publishRoom(ctx, r, []string{callerID})
	return nil
}

// SetMuted sets whether the caller gets push notifications for a room.
func (s *Service) SetMuted(ctx context.Context, callerID, roomID string, muted bool) (Room, error) {
	if _, err := s.allowed(ctx, roomID, callerID, mayChangeOwnSettings); err != nil {
		return Room{}, err
	}
	if err := s.members.SetMuted(ctx, roomID, callerID, muted); err != nil {
		return Room{}, err
	}
	return s.Room(ctx, callerID, roomID)
}

// UserRoomIDs returns the ids of the rooms a user is a member of.
func (s *Service) UserRoomIDs(ctx context.Context, userID string) ([]string, error) {
	return s.rooms.UserRoomIDs(ctx, userID)
}

// UserRoomSeqs returns the rooms a user is a member of with each room's last seq: where a
// chat server's re-sync of that room would start.
func (s *Service) UserRoomSeqs(ctx context.Context, userID string) (map[string]int64, error) {
	return s.rooms.UserRoomSeqs(ctx, userID)
}

func roomNotFound() error { return Errorf(NotFound, "room_not_found", "no such room") }

// checkName returns a room name cleaned (CleanName), or why it is refused.
func checkName(name string) (string, error) {
	name, why := CleanName(name)
	if why != "" {
		return "", Errorf(Invalid, "bad_request", "name %s", why)
	}
	if utf8.RuneCountInString(name) > 100 {
		return "", Errorf(Invalid, "bad_request", "name is longer than 100 characters")
	}
	return name, nil
}
