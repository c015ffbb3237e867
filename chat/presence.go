package chat

import (
	"context"
	"fmt"
	"time"
)

// PresenceTTL is how long a heartbeat keeps a user online: the seed's 60 seconds.
const PresenceTTL = 60 * time.Second

// Heartbeat is one live session's sign of life.
type Heartbeat struct {
	UserID    string
	SessionID string
	// Focused lists the rooms the session is viewing; their viewer entries are refreshed
	// with the same TTL, so that a dead node's viewers expire.
	Focused []string
}

// PresenceService tracks who is online, their last activity, and who views which room.
// Sessions are counted across every node so that the last one to close, wherever it was,
// takes the user offline.
type PresenceService interface {
	// Touch records a heartbeat: the user is online for the TTL and last active now.
	// cameOnline reports that the user was offline before.
	Touch(ctx context.Context, hb Heartbeat) (cameOnline bool, err error)
	// Leave removes a closed session and its viewer entries. wentOffline reports that it
	// was the user's last live session, and the user is now offline.
	Leave(ctx context.Context, userID, sessionID string) (wentOffline bool, err error)
	// Statuses returns the presence of each of userIDs, in that order.
	Statuses(ctx context.Context, userIDs []string) ([]Presence, error)
	// Focus records that the session views the room; Unfocus that it no longer does.
	Focus(ctx context.Context, roomID, userID, sessionID string) error
	Unfocus(ctx context.Context, roomID, userID, sessionID string) error
	// Viewers returns the users with a live session viewing the room.
	Viewers(ctx context.Context, roomID string) ([]string, error)
}

// Presence returns the presence of up to 100 users.
func (s *Service) Presence(ctx context.Context, userIDs []string) ([]Presence, error) {
	if len(userIDs) == 0 {
		return nil, Errorf(Invalid, "bad_request", "userIds is required")
	}
	if len(userIDs) > 100 {
		return nil, Errorf(Invalid, "bad_request", "at most 100 userIds")
	}
	return s.presence.Statuses(ctx, userIDs)
}

// Heartbeat records a live session's activity and announces the user coming online.
func (s *Service) Heartbeat(ctx context.Context, hb Heartbeat) error {
	came, err := s.presence.Touch(ctx, hb)
	if err != nil {
		// Redis is away (restarting, failing over): the session goes on, and its next
		// heartbeat tries again.
		s.log.Warn("presence: touch failed", "user", hb.UserID, "err", err)
		return Errorf(Unavailable, "unavailable", "presence is unavailable; the next heartbeat tries again")
	}
	if came {
		s.publishPresence(ctx, hb.UserID)
	}
	return nil
}

// SessionClosed records a closed session and announces the user going offline when it was
// their last.
func (s *Service) SessionClosed(ctx context.Context, userID, sessionID string) error {
	gone, err := s.presence.Leave(ctx, userID, sessionID)
	if err != nil {
		return fmt.Errorf("presence: leave: %w", err)
	}
	if gone {
		s.publishPresence(ctx, userID)
	}
	return nil
}

func (s *Service) publishPresence(ctx context.Context, userID string) {
	ps, err := s.presence.Statuses(ctx, []string{userID})
	if err != nil {
		s.log.Warn("presence lookup failed", "user", userID, "err", err)
		return
	}
	rooms, err := s.rooms.UserRoomIDs(ctx, userID)
	if err != nil {
		s.log.Warn("rooms lookup failed", "user", userID, "err", err)
		return
	}
	if len(rooms) == 0 {
		return
	}
	s.publish(ctx, Event{Type: EventPresenceUpdated, RoomIDs: rooms}, ps[0])
}

// Focus records that a session views a room: messages created while it does are read by
// the user at once.
func (s *Service) Focus(ctx context.Context, userID, sessionID, roomID string) error {
	if err := s.may(ctx, roomID, userID, mayView); err != nil {
		return err
	}
	return s.presence.Focus(ctx, roomID, userID, sessionID)
}

// Unfocus records that a session no longer views a room.
func (s *Service) Unfocus(ctx context.Context, userID, sessionID, roomID string) error {
	if roomID == "" {
		return Errorf(Invalid, "bad_request", "roomId is required")
	}
	return s.presence.Unfocus(ctx, roomID, userID, sessionID)
}

// Typing tells a room's other members that the user is typing.
func (s *Service) Typing(ctx context.Context, userID, roomID string) error {
	if err := s.may(ctx, roomID, userID, mayType); err != nil {
		return err
	}
	return s.publish(ctx, Event{Type: EventTyping, RoomID: roomID, Exclude: userID}, Typing{RoomID: roomID, UserID: userID})
}
