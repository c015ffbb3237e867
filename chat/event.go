package chat

import (
	"context"
	"encoding/json"
)

// Event types that travel between servers and, most of them, on to clients.
const (
	EventMessageCreated     = "MESSAGE_CREATED"
	EventReadReceiptUpdated = "READ_RECEIPT_UPDATED"
	EventFCMTokenMessage    = "FCM_TOKEN_MESSAGE"
	EventPresenceUpdated    = "PRESENCE_UPDATED"
	EventTyping             = "TYPING"
	EventRoomUpdated        = "ROOM_UPDATED"
)

// Client-to-server event types of the WebSocket protocol, and the server's own replies.
const (
	EventHeartBeat     = "HEART_BEAT"
	EventHeartBeatAck  = "HEART_BEAT_ACK"
	EventRoomFocused   = "ROOM_FOCUSED"
	EventRoomUnfocused = "ROOM_UNFOCUSED"
	EventResume        = "RESUME"
	EventError         = "ERROR"
)

// GlobalChannel is the Redis channel of PROTOCOL.md on which every event is published.
const GlobalChannel = "globalEvents"

// Event is the envelope of PROTOCOL.md's "Events between servers". Data is the payload that
// clients receive as the frame's data, encoded once by the publisher. RoomIDs, UserIDs and
// Exclude route events that are not for one room's members alone; they never reach clients.
type Event struct {
	Type   string          `json:"type"`
	RoomID string          `json:"roomId,omitempty"`
	Data   json.RawMessage `json:"data"`
	Origin string          `json:"origin"`
	At     int64           `json:"at"`

	// RoomIDs: deliver to the members of each of these rooms (PRESENCE_UPDATED).
	RoomIDs []string `json:"roomIds,omitempty"`
	// UserIDs: deliver to these users as well (ROOM_UPDATED to removed members).
	UserIDs []string `json:"userIds,omitempty"`
	// Exclude: do not deliver to this user's sessions (TYPING's author).
	Exclude string `json:"exclude,omitempty"`
}

// MessageCreated is the data of MESSAGE_CREATED.
type MessageCreated struct {
	Message Message `json:"message"`
}

// RoomUpdated is the data of ROOM_UPDATED.
type RoomUpdated struct {
	Room Room `json:"room"`
}

// Typing is the data of TYPING.
type Typing struct {
	RoomID string `json:"roomId"`
	UserID string `json:"userId"`
}

// Bus carries events between the servers of a deployment: in process in the single-node
// mode, over Redis Pub/Sub in a cluster. Delivery is at most once; subscribers learn of
// possible losses through HandleGap.
type Bus interface {
	// Publish sends ev to every subscriber of every node, this one included. It fails fast
	// when the transport is down.
	Publish(ctx context.Context, ev Event) error
	// Subscribe registers h until the returned function is called.
	Subscribe(h EventHandler) (unsubscribe func())
}

// EventHandler receives a bus's events. HandleEvent must not block: it runs on the bus's
// delivery path.
type EventHandler interface {
	HandleEvent(ev Event)
	// HandleGap is called when the subscription was interrupted and is back: events may
	// have been lost in between, so the subscriber re-syncs from storage.
	HandleGap()
}
