package ws

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/chatchat/chatchat/chat"
	"github.com/gobwas/ws"
)

// clientFrame is the shape of every client frame.
type clientFrame struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// roomData is the data of ROOM_FOCUSED, ROOM_UNFOCUSED and TYPING.
type roomData struct {
	RoomID string `json:"roomId"`
}

// resumeData is the data of RESUME.
type resumeData struct {
	Rooms map[string]int64 `json:"rooms"`
}

// errorData is the data of an ERROR frame.
type errorData struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

var errBadFrame = chat.Errorf(chat.Invalid, "bad_request", `a frame is a JSON object {"type": ..., "data": {...}}`)

// message handles one complete client text message. Whatever the client sent, the answer
// is at worst an ERROR frame: only protocol-level faults return a close code.
func (s *session) message(ctx context.Context, p []byte) ws.StatusCode {
	if !validText(p) {
		return CloseInvalidPayload
	}
	var f clientFrame
	if err := json.Unmarshal(p, &f); err != nil || f.Type == "" {
		s.srv.metrics.frameReceived(frameInvalid)
		s.sendError(errBadFrame)
		return 0
	}
	s.srv.metrics.frameReceived(f.Type)

	ctx, cancel := context.WithTimeout(ctx, s.srv.cfg.CallTimeout)
	defer cancel()
	var err error
	switch f.Type {
	case chat.EventHeartBeat:
		if err = s.heartbeat(ctx); err == nil {
			s.enqueue(outFrame{b: s.srv.frames.heartBeatAck})
		}
	case chat.EventRoomFocused:
		var roomID string
		if roomID, err = decodeRoomID(f.Data); err == nil {
			if err = s.srv.chat.Focus(ctx, s.userID, s.id, roomID); err == nil && !slices.Contains(s.focused, roomID) {
				s.focused = append(s.focused, roomID)
			}
		}
	case chat.EventRoomUnfocused:
		var roomID string
		if roomID, err = decodeRoomID(f.Data); err == nil {
			if err = s.srv.chat.Unfocus(ctx, s.userID, s.id, roomID); err == nil {
				if i := slices.Index(s.focused, roomID); i >= 0 {
					s.focused = slices.Delete(s.focused, i, i+1)
				}
			}
		}
	case chat.EventTyping:
		var roomID string
		if roomID, err = decodeRoomID(f.Data); err == nil {
			err = s.srv.chat.Typing(ctx, s.userID, roomID)
		}
	case chat.EventResume:
		err = s.resume(ctx, f.Data)
	default:
		err = chat.Errorf(chat.Invalid, "unknown_type", "unknown frame type %q", f.Type)
	}
	if err != nil {
		s.sendError(err)
	}
	return 0
}

func decodeRoomID(data json.RawMessage) (string, error) {
	var d roomData
	if len(data) == 0 || json.Unmarshal(data, &d) != nil || d.RoomID == "" {
		return "", chat.Errorf(chat.Invalid, "bad_request", "data.roomId is required")
	}
	return d.RoomID, nil
}

func (s *session) heartbeat(ctx context.Context) error {
	// A room the user left (ROOM_UPDATED took the session out of it) is no longer viewed:
	// drop it here, on the reader's goroutine that owns focused, so that heartbeats stop
	// renewing a viewer entry for it.
	if len(s.focused) > 0 {
		s.mu.Lock()
		s.focused = slices.DeleteFunc(s.focused, func(id string) bool { return !slices.Contains(s.rooms, id) })
		s.mu.Unlock()
	}
	return s.srv.chat.Heartbeat(ctx, chat.Heartbeat{
		UserID:    s.userID,
		SessionID: s.id,
		Focused:   slices.Clone(s.focused),
	})
}

// resume sends the messages the client missed, as MESSAGE_CREATED frames packed into one
// catch-up queue entry: a long catch-up must not look like a slow consumer.
func (s *session) resume(ctx context.Context, data json.RawMessage) error {
	var d resumeData
	if len(data) == 0 || json.Unmarshal(data, &d) != nil || d.Rooms == nil {
		return chat.Errorf(chat.Invalid, "bad_request", "data.rooms is required: {roomId: lastSeq}")
	}
	msgs, err := s.srv.chat.Resume(ctx, s.userID, d.Rooms)
	if err != nil {
		return err
	}
	b, err := messageFrames(nil, msgs)
	if err != nil {
		return err
	}
	if len(b) > 0 {
		s.enqueue(outFrame{b: b, catchUp: true})
	}
	return nil
}

// sendError queues an ERROR frame for err. Internal errors are logged here, once, and the
// client sees only that something failed.
func (s *session) sendError(err error) {
	if chat.ErrorKind(err) == chat.Internal || chat.ErrorKind(err) == chat.Unavailable {
		s.logError("client frame", err)
	}
	b, mErr := chat.MarshalJSON(errorData{Code: chat.ErrorCode(err), Message: chat.ErrorMessage(err)})
	if mErr != nil {
		return
	}
	s.enqueue(outFrame{b: eventFrame(chat.EventError, b)})
}

func (s *session) logError(what string, err error) {
	s.logger().Error(what+" failed", "err", err)
}
