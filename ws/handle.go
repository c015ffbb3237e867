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

// deliveredData is the data of DELIVERED. Seq is a pointer so that a missing seq is an
// error rather than 0.
type deliveredData struct {
	RoomID string `json:"roomId"`
	Seq    *int64 `json:"seq"`
}

// authData is the data of AUTH.
type authData struct {
	AccessToken string `json:"accessToken"`
}

// authOKData is the data of AUTH_OK.
type authOKData struct {
	ExpiresAt chat.Time `json:"expiresAt"`
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
	case chat.EventDelivered:
		var d deliveredData
		if len(f.Data) == 0 || json.Unmarshal(f.Data, &d) != nil || d.RoomID == "" || d.Seq == nil {
			err = chat.Errorf(chat.Invalid, "bad_request", "data is {roomId, seq}")
		} else {
			// No answer on success: the room hears of it as DELIVERY_RECEIPT_UPDATED.
			_, err = s.srv.chat.MarkDelivered(ctx, s.userID, d.RoomID, *d.Seq)
		}
	case chat.EventResume:
		err = s.resume(ctx, f.Data)
	case chat.EventAuth:
		return s.renew(f.Data)
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

// resumeSlack is how many more rooms than the session is in a RESUME may name: a client
// may still list a room it left moments ago. More is not a client's honest state.
const resumeSlack = 64

// resume sends the messages the client missed, as MESSAGE_CREATED frames, then the older
// messages changed since the given revs as MESSAGE_UPDATED frames, packed into one
// catch-up queue entry (a long catch-up must not look like a slow consumer), then
// RESUME_OK. Only rooms the session is in are looked up, so made-up ids cost nothing; one
// RESUME's catch-up is in flight at a time, and each is bounded in bytes by the service.
func (s *session) resume(ctx context.Context, data json.RawMessage) error {
	var d chat.ResumeRequest
	if len(data) == 0 || json.Unmarshal(data, &d) != nil || d.Rooms == nil {
		return chat.Errorf(chat.Invalid, "bad_request", "data.rooms is required: {roomId: lastSeq}")
	}
	s.mu.Lock()
	busy, mine := s.resumes > 0, make(map[string]bool, len(s.rooms))
	for _, id := range s.rooms {
		mine[id] = true
	}
	s.mu.Unlock()
	if busy {
		return chat.Errorf(chat.Conflict, "resume_in_progress", "the catch-up of the previous RESUME is still being sent; RESUME again after its RESUME_OK")
	}
	if len(d.Rooms) > len(mine)+resumeSlack {
		return chat.Errorf(chat.Invalid, "bad_request", "RESUME names %d rooms; the user is in %d", len(d.Rooms), len(mine))
	}
	rooms := make(map[string]int64, len(d.Rooms))
	for id, seq := range d.Rooms {
		if mine[id] {
			rooms[id] = max(seq, 0)
		}
	}
	var revs map[string]int64
	if d.Revs != nil {
		revs = make(map[string]int64, len(d.Revs))
		for id, rev := range d.Revs {
			if _, ok := rooms[id]; ok {
				revs[id] = max(rev, 0)
			}
		}
	}
	rp, err := s.srv.chat.Replay(ctx, s.userID, chat.ResumeRequest{Rooms: rooms, Revs: revs})
	if err != nil {
		return err
	}
	b, err := messageFrames(nil, chat.EventMessageCreated, rp.Created)
	if err != nil {
		return err
	}
	if b, err = messageFrames(b, chat.EventMessageUpdated, rp.Updated); err != nil {
		return err
	}
	for _, m := range rp.Created {
		rooms[m.RoomID] = max(rooms[m.RoomID], m.Seq)
	}
	ok, err := chat.MarshalJSON(chat.ResumeOK{Rooms: rooms, Revs: rp.Revs, Complete: rp.Complete})
	if err != nil {
		return err
	}
	s.enqueue(outFrame{b: appendEventFrame(b, chat.EventResumeOK, ok), catchUp: true, resume: true})
	return nil
}

// renew handles AUTH: a valid access token of the session's user, of any of their
// sessions, extends the connection to the token's expiry (and moves it to the token's
// session, whose revocation closes it from now on). Any other token, missing, bad, expired,
// revoked or another user's, ends the connection: ERROR unauthorized, then 4001.
func (s *session) renew(data json.RawMessage) ws.StatusCode {
	var d authData
	if len(data) == 0 || json.Unmarshal(data, &d) != nil {
		s.sendError(chat.Errorf(chat.Invalid, "bad_request", "data.accessToken is required"))
		return 0
	}
	id, err := s.srv.auth.Authenticate(d.AccessToken)
	switch {
	case err != nil:
		s.sendError(chat.Errorf(chat.Unauthorized, "unauthorized", "%s", chat.ErrorMessage(err)))
		return CloseUnauthorized
	case id.UserID != s.userID || id.ExpiresAt.IsZero():
		s.sendError(chat.Errorf(chat.Unauthorized, "unauthorized", "the token is not of this connection's user"))
		return CloseUnauthorized
	}
	s.setGrant(id)
	b, err := json.Marshal(authOKData{ExpiresAt: chat.At(id.ExpiresAt)})
	if err != nil {
		s.sendError(err)
		return 0
	}
	s.enqueue(outFrame{b: eventFrame(chat.EventAuthOK, b)})
	return 0
}

// sendError queues an ERROR frame for err. Internal errors are logged here, once, and the
// client sees only that something failed.
func (s *session) sendError(err error) {
	// Unavailable (a dependency away, Redis failing over) is logged where it is known,
	// with its cause: here it would be one more line per session.
	if chat.ErrorKind(err) == chat.Internal {
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
