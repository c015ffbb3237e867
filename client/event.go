package client

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// Event is one frame of the WebSocket protocol: {"type": "EVENT_NAME", "data": {...}}. Its
// decode helpers check the type and decode the data into the domain type.
type Event struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// Message decodes the message of a MESSAGE_CREATED event.
func (ev Event) Message() (chat.Message, error) {
	var d chat.MessageCreated
	err := ev.decode(chat.EventMessageCreated, &d)
	return d.Message, err
}

// UpdatedMessage decodes the message of a MESSAGE_UPDATED event: the whole message as it
// is at its Rev. Keep, per message, the state with the highest Rev.
func (ev Event) UpdatedMessage() (chat.Message, error) {
	var d chat.MessageUpdated
	err := ev.decode(chat.EventMessageUpdated, &d)
	return d.Message, err
}

// ResumeOK decodes RESUME_OK.
func (ev Event) ResumeOK() (chat.ResumeOK, error) {
	var d chat.ResumeOK
	err := ev.decode(chat.EventResumeOK, &d)
	return d, err
}

// ReadReceipt decodes a READ_RECEIPT_UPDATED event.
func (ev Event) ReadReceipt() (chat.ReadReceipt, error) {
	var d chat.ReadReceipt
	err := ev.decode(chat.EventReadReceiptUpdated, &d)
	return d, err
}

// DeliveryReceipt decodes a DELIVERY_RECEIPT_UPDATED event.
func (ev Event) DeliveryReceipt() (chat.DeliveryReceipt, error) {
	var d chat.DeliveryReceipt
	err := ev.decode(chat.EventDeliveryReceiptUpdated, &d)
	return d, err
}

// Presence decodes a PRESENCE_UPDATED event.
func (ev Event) Presence() (chat.Presence, error) {
	var d chat.Presence
	err := ev.decode(chat.EventPresenceUpdated, &d)
	return d, err
}

// Typing decodes a TYPING event.
func (ev Event) Typing() (chat.Typing, error) {
	var d chat.Typing
	err := ev.decode(chat.EventTyping, &d)
	return d, err
}

// Room decodes the room of a ROOM_UPDATED event.
func (ev Event) Room() (chat.Room, error) {
	var d chat.RoomUpdated
	err := ev.decode(chat.EventRoomUpdated, &d)
	return d.Room, err
}

// AuthOK decodes AUTH_OK: the connection's new expiry.
func (ev Event) AuthOK() (time.Time, error) {
	var d struct {
		ExpiresAt chat.Time `json:"expiresAt"`
	}
	err := ev.decode(chat.EventAuthOK, &d)
	return d.ExpiresAt.Time, err
}

// Error decodes an ERROR event. The result is itself an error, for callers that want to
// return it.
func (ev Event) Error() (*ProtocolError, error) {
	var d ProtocolError
	if err := ev.decode(chat.EventError, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

func (ev Event) decode(want string, v any) error {
	if ev.Type != want {
		return fmt.Errorf("client: event is %s, not %s", ev.Type, want)
	}
	if err := json.Unmarshal(ev.Data, v); err != nil {
		return fmt.Errorf("client: decode %s: %w", ev.Type, err)
	}
	return nil
}

// ProtocolError is the data of an ERROR event: the server refused something the client sent
// on the socket.
type ProtocolError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *ProtocolError) Error() string { return "chatchat: ws " + e.Code + ": " + e.Message }

// frame is what the client sends.
type frame struct {
	Type string `json:"type"`
	Data any    `json:"data"`
}

// roomData is the data of ROOM_FOCUSED, ROOM_UNFOCUSED and TYPING.
type roomData struct {
	RoomID string `json:"roomId"`
}

// deliveredData is the data of DELIVERED.
type deliveredData struct {
	RoomID string `json:"roomId"`
	Seq    int64  `json:"seq"`
}

// authData is the data of AUTH.
type authData struct {
	AccessToken string `json:"accessToken"`
}

// resumeData is the data of RESUME.
type resumeData struct {
	Rooms map[string]int64 `json:"rooms"`
	Revs  map[string]int64 `json:"revs,omitempty"`
}
