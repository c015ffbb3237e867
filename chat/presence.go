package chat

import (
	"context"
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
