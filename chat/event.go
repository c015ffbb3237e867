package chat

import (
	"context"
	"encoding/json"
)

// Event types that travel between servers and, most of them, on to clients.
const (
	EventMessageCreated     = "MESSAGE_CREATED"
	EventMessageUpdated     = "MESSAGE_UPDATED"
	EventReadReceiptUpdated = "READ_RECEIPT_UPDATED"
	EventFCMTokenMessage    = "FCM_TOKEN_MESSAGE"
	EventPresenceUpdated    = "PRESENCE_UPDATED"
	EventTyping             = "TYPING"
	EventRoomUpdated        = "ROOM_UPDATED"
	// EventSessionsRevoked travels between servers only (SessionsRevoked): chat servers
	// close the sockets it names, and never pass it on.
	EventSessionsRevoked = "SESSIONS_REVOKED"
)

// Client-to-server event types of the WebSocket protocol, and the server's own replies.
const (
	EventHeartBeat     = "HEART_BEAT"
	EventHeartBeatAck  = "HEART_BEAT_ACK"
	EventRoomFocused   = "ROOM_FOCUSED"
	EventRoomUnfocused = "ROOM_UNFOCUSED"
	EventResume        = "RESUME"
	EventError         = "ERROR"
	// EventAuth renews a WebSocket session with a fresh access token; EventAuthOK answers.
	EventAuth   = "AUTH"
	EventAuthOK = "AUTH_OK"
	// EventResumeOK follows a RESUME's catch-up: where the replay of each room stopped,
	// and whether it is complete (else the client pages the rest with history).
	EventResumeOK = "RESUME_OK"
)

// Delivery receipts (delivery.go): the client's DELIVERED {roomId, seq} says that messages
// up to seq reached the device; DELIVERY_RECEIPT_UPDATED carries a DeliveryReceipt to the
// room, coalesced per member.
const (
	EventDelivered              = "DELIVERED"
	EventDeliveryReceiptUpdated = "DELIVERY_RECEIPT_UPDATED"
)

// Topic is the audience of a bus event. Each topic travels apart (a Redis channel of its
// own), so that a server hears only the events it acts on.
type Topic uint8

const (
	// TopicSessions carries the events for the sessions of chat servers, and for the
	// membership caches of API servers: the seed's globalEvents.
	TopicSessions Topic = iota
	// TopicPush carries the seed's FCM_TOKEN_MESSAGE, for notification servers only:
	// chat servers would receive, decode and drop it, doubling the bus's traffic.
	TopicPush
)

// Topic returns the event's audience.
func (ev Event) Topic() Topic {
	if ev.Type == EventFCMTokenMessage {
		return TopicPush
	}
	return TopicSessions
}

// Event is the envelope of PROTOCOL.md's "Events between servers". Data is the payload that
// clients receive as the frame's data, encoded once by the publisher. The other fields
// carry the event's routing, so that a chat server delivers it and detects gaps without
// decoding Data, and a new event type needs no code of its own there: RoomID (and Seq)
// for one room's members, RoomIDs, UserIDs and Exclude for events that are not for one
// room's members alone. They never reach clients.
type Event struct {
	Type   string          `json:"type"`
	RoomID string          `json:"roomId,omitempty"`
	Data   json.RawMessage `json:"data"`
	Origin string          `json:"origin"`
	At     int64           `json:"at"`
	// Seq is the seq of the message that MESSAGE_CREATED carries: the room's position that
	// chat servers track to re-sync after a gap.
	Seq int64 `json:"seq,omitempty"`
	// Rev is the rev of the message that MESSAGE_UPDATED carries.
	Rev int64 `json:"rev,omitempty"`

	// RoomIDs: deliver to the members of each of these rooms (PRESENCE_UPDATED).
	RoomIDs []string `json:"roomIds,omitempty"`
	// UserIDs: deliver to these users as well (ROOM_UPDATED to removed members).
	UserIDs []string `json:"userIds,omitempty"`
	// Exclude: do not deliver to this user's sessions (TYPING's author).
	Exclude string `json:"exclude,omitempty"`
}

// ResumeOK is the data of RESUME_OK. Rooms holds, for each room of the RESUME that the
// user is in, the seq up to which the replay went (the asked seq when nothing came);
// Complete is false when the replay's limits cut it, and the client fetches the rest with
// GET /rooms/{roomId}/messages?afterSeq=<rooms[id]>.
// Revs holds, for each room of the RESUME's revs, the rev up to which changes were
// replayed; when Complete is false the client fetches the rest with
// GET /rooms/{roomId}/changes?afterRev=<revs[id]>.
type ResumeOK struct {
	Rooms    map[string]int64 `json:"rooms"`
	Revs     map[string]int64 `json:"revs,omitempty"`
	Complete bool             `json:"complete"`
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
// possible losses through HandleGap. Events of one room arrive in publish order; events of
// different rooms may not (a bus may carry rooms apart).
type Bus interface {
	// Publish sends ev to every subscriber of its topic (ev.Topic()) on every node, this
	// one included. It fails fast when the transport is down.
	Publish(ctx context.Context, ev Event) error
	// Subscribe registers h for the events of topic until the returned function is called.
	Subscribe(topic Topic, h EventHandler) (unsubscribe func())
}

// BatchPublisher is an optional ability of a Bus, found by type assertion: publishing a
// new message's events and queueing its push job in one round trip.
type BatchPublisher interface {
	// PublishBatch publishes evs in order and, when job is not nil, adds it to queue, all
	// in one round trip. It reports sent false, having sent nothing, when queue is not one
	// it reaches that way; the caller then publishes and enqueues one by one. The error
	// covers the whole batch.
	PublishBatch(ctx context.Context, evs []Event, queue PushQueue, job *PushJob) (sent bool, err error)
}

// EventHandler receives a bus's events. HandleEvent must not block: it runs on the bus's
// delivery path.
type EventHandler interface {
	HandleEvent(ev Event)
	// HandleGap is called when the subscription was interrupted and is back: events may
	// have been lost in between, so the subscriber re-syncs from storage.
	HandleGap()
}
