package ws

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/chatchat/chatchat/chat"
)

// HandleEvent routes a bus event to the local sessions it concerns, from the envelope's
// routing fields alone. It never blocks: each event is encoded once into a WebSocket frame,
// and the same bytes are queued to every target session. Only ROOM_UPDATED (it changes who
// is in a room) and SESSIONS_REVOKED (it closes sessions, and is for servers only) have
// work of their own; every other type, a newer server's included, goes to the sessions its
// envelope names.
func (s *Server) HandleEvent(ev chat.Event) {
	if ev.Topic() != chat.TopicSessions { // not for clients, should a bus pass it on
		return
	}
	switch {
	case ev.Type == chat.EventSessionsRevoked:
		s.sessionsRevoked(ev)
	case ev.Type == chat.EventRoomUpdated:
		s.roomUpdated(ev)
	case len(ev.RoomIDs) > 0 || len(ev.UserIDs) > 0:
		s.deliverMany(ev, ev.RoomID)
	case ev.RoomID != "":
		// Most nodes have no session in most rooms: nothing is encoded for them.
		if !s.rooms.has(ev.RoomID) {
			return
		}
		f := s.fanout(outFrame{b: eventFrame(ev.Type, ev.Data), at: ev.At})
		n := s.rooms.deliver(ev.RoomID, &f, ev.Exclude, 0)
		if ev.Seq > 0 {
			s.rooms.noteSeq(ev.RoomID, ev.Seq, true)
		}
		if ev.Rev > 0 {
			s.rooms.noteRev(ev.RoomID, ev.Rev)
		}
		s.metrics.delivered.Add(float64(n))
	}
}

// deliverMany delivers to the sessions of roomID (if any), of every room in ev.RoomIDs
// and of every user in ev.UserIDs, each session once however many of them it is in
// (PRESENCE_UPDATED goes to every room the user shares; ROOM_UPDATED to removed members).
func (s *Server) deliverMany(ev chat.Event, roomID string) {
	var f fanout
	frame := func() *fanout {
		if f.plain.b == nil {
			f = s.fanout(outFrame{b: eventFrame(ev.Type, ev.Data), at: ev.At})
		}
		return &f
	}
	s.fanoutMu.Lock()
	defer s.fanoutMu.Unlock()
	stamp := s.nextStampLocked()
	n := 0
	if roomID != "" && s.rooms.has(roomID) {
		n += s.rooms.deliver(roomID, frame(), ev.Exclude, stamp)
	}
	for _, id := range ev.RoomIDs {
		if s.rooms.has(id) {
			n += s.rooms.deliver(id, frame(), ev.Exclude, stamp)
		}
	}
	for _, id := range ev.UserIDs {
		if id != ev.Exclude {
			n += s.users.deliver(id, frame(), stamp)
		}
	}
	s.metrics.delivered.Add(float64(n))
}

// sessionsRevoked closes, with 4001 (4003 for a suspension), the local sockets of the sessions that ended: those
// living on an access token of a listed session, or every socket of the user. The envelope
// names the user, so a node with no socket of theirs decodes nothing.
func (s *Server) sessionsRevoked(ev chat.Event) {
	var local []*session
	for _, id := range ev.UserIDs {
		local = s.users.sessions(id, local)
	}
	if len(local) == 0 {
		return
	}
	var d chat.SessionsRevoked
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		s.log.Warn("SESSIONS_REVOKED with undecodable data", "err", err)
		return
	}
	for _, ss := range local {
		if ss.userID == d.UserID && (d.All || slices.Contains(d.SessionIDs, ss.grant.Load().sessionID)) {
			ss.logger().Debug("closing session: it was revoked", "code", d.CloseCode)
			code := CloseUnauthorized
			if d.CloseCode == chat.CloseSuspended {
				code = CloseForbidden
			}
			ss.closeWith(code)
		}
	}
}

// roomUpdated first brings the room's local membership in line with data.room.memberIds,
// so that a removed member stops receiving at once and a new one starts, then delivers
// the event to the room's sessions and to those of ev.UserIDs (removed members).
func (s *Server) roomUpdated(ev chat.Event) {
	// Counted before the maps are walked: a session registered after this walk but whose
	// rooms were loaded before the change sees the count move and reloads.
	s.roomEpoch.Add(1)
	var d chat.RoomUpdated
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		s.log.Warn("ROOM_UPDATED with undecodable data", "room", ev.RoomID, "err", err)
		return
	}
	roomID := d.Room.ID
	if roomID == "" {
		roomID = ev.RoomID
	}
	if roomID != "" {
		members := make(map[string]struct{}, len(d.Room.MemberIDs))
		for _, id := range d.Room.MemberIDs {
			members[id] = struct{}{}
		}
		for _, ss := range s.rooms.sessions(roomID, nil) {
			if _, ok := members[ss.userID]; !ok {
				s.rooms.leave(roomID, ss)
			}
		}
		var buf []*session
		for id := range members {
			buf = s.users.sessions(id, buf[:0])
			for _, ss := range buf {
				s.rooms.join(roomID, ss, d.Room.LastSeq)
			}
		}
	}

	s.deliverMany(ev, roomID)
}

func (s *Server) nextStampLocked() uint64 {
	s.stamp++
	return s.stamp
}

// resyncState tracks the one re-sync goroutine. Guarded by Server.mu.
type resyncState struct {
	running bool
	// pending holds, per room, the seq (and rev) to re-sync after for gaps reported while
	// a pass runs; they fold into one more pass.
	pending map[string]roomSeq
	cancel  context.CancelFunc // stops the running re-sync (Shutdown)
}

// HandleGap re-syncs after the bus reports possible losses: for every local room whose
// last fanned-out seq is known, the messages after it are fetched and fanned out (clients
// drop duplicates by id). The seqs are taken here, on the bus's goroutine, before any
// event that follows the gap can raise them: a live message arriving after the
// resubscription must not hide the ones lost before it. The fetching runs on one
// goroutine of its own, never on the bus's.
func (s *Server) HandleGap() { s.resyncAfter(s.rooms.knownSeqs()) }

// HandleRoomGap re-syncs one room, as HandleGap does every room: a bus that routes by room
// calls it when it has (re)subscribed to the room's events, so that what was published
// before the subscription took hold reaches the room's sessions. The seq is taken here,
// before any event that follows.
func (s *Server) HandleRoomGap(roomID string) {
	if rs, ok := s.rooms.knownSeq(roomID); ok {
		s.resyncAfter([]roomSeq{rs})
	}
}

// resyncAfter starts, or adds to, the re-sync of the rooms from the given seqs.
func (s *Server) resyncAfter(snap []roomSeq) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shuttingDown {
		return
	}
	if s.resync.running {
		if s.resync.pending == nil {
			s.resync.pending = make(map[string]roomSeq, len(snap))
		}
		for _, rs := range snap {
			cur, ok := s.resync.pending[rs.roomID]
			if !ok {
				s.resync.pending[rs.roomID] = rs
				continue
			}
			cur.seq = min(cur.seq, rs.seq)
			if rs.rev > 0 && (cur.rev == 0 || rs.rev < cur.rev) {
				cur.rev = rs.rev
			}
			s.resync.pending[rs.roomID] = cur
		}
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.resync = resyncState{running: true, cancel: cancel}
	s.wg.Add(1)
	go s.resyncLoop(ctx, snap)
}

func (s *Server) resyncLoop(ctx context.Context, snap []roomSeq) {
	defer s.wg.Done()
	for {
		s.resyncOnce(ctx, snap)
		s.mu.Lock()
		if s.resync.pending == nil || ctx.Err() != nil {
			s.resync.cancel()
			s.resync = resyncState{}
			s.mu.Unlock()
			return
		}
		snap = snap[:0]
		for _, rs := range s.resync.pending {
			snap = append(snap, rs)
		}
		s.resync.pending = nil
		s.mu.Unlock()
	}
}

func (s *Server) resyncOnce(ctx context.Context, snap []roomSeq) {
	for _, rs := range snap {
		if ctx.Err() != nil {
			return
		}
		s.resyncCreated(ctx, rs)
		if rs.rev > 0 {
			s.resyncChanges(ctx, rs)
		}
	}
}

// resyncCreated fans out the room's messages after rs.seq.
func (s *Server) resyncCreated(ctx context.Context, rs roomSeq) {
	cctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	msgs, err := s.chat.MessagesAfter(cctx, rs.roomID, rs.seq)
	cancel()
	if err != nil {
		s.log.Warn("re-sync failed", "room", rs.roomID, "after", rs.seq, "err", err)
		return
	}
	// What the subscription has delivered since the gap it delivers in full from its
	// first message on: the re-sync sends only what came before that.
	if fl := s.rooms.firstLive(rs.roomID); fl > 0 {
		msgs = slices.DeleteFunc(msgs, func(m chat.Message) bool { return m.Seq >= fl })
	}
	if len(msgs) == 0 {
		return
	}
	b, err := messageFrames(nil, chat.EventMessageCreated, msgs)
	if err != nil {
		s.log.Error("re-sync encode failed", "room", rs.roomID, "err", err)
		return
	}
	// One queue entry per room and session, however many messages were missed. The
	// frames go uncompressed to every session: several frames in one entry would
	// need compressing one by one, for a rare event.
	f := fanout{srv: s, plain: outFrame{b: b, catchUp: true}, deflated: outFrame{b: b, catchUp: true}}
	n := s.rooms.deliver(rs.roomID, &f, "", 0)
	s.rooms.noteSeq(rs.roomID, msgs[len(msgs)-1].Seq, false)
	s.metrics.delivered.Add(float64(n * len(msgs)))
	s.log.Info("re-synced room after bus gap", "room", rs.roomID, "messages", len(msgs), "sessions", n)
}

// resyncChanges fans out MESSAGE_UPDATED for the room's older messages changed after
// rs.rev: the changes the bus may have lost. Messages above rs.seq went out whole with
// resyncCreated (or live); clients keep the highest rev, so a change sent twice costs
// nothing.
func (s *Server) resyncChanges(ctx context.Context, rs roomSeq) {
	cctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	msgs, err := s.chat.ChangesAfter(cctx, rs.roomID, rs.rev)
	cancel()
	if err != nil {
		s.log.Warn("re-sync of changes failed", "room", rs.roomID, "after", rs.rev, "err", err)
		return
	}
	if len(msgs) == 0 {
		return
	}
	last := msgs[len(msgs)-1].Rev
	msgs = slices.DeleteFunc(msgs, func(m chat.Message) bool { return m.Seq > rs.seq })
	if len(msgs) > 0 {
		b, err := messageFrames(nil, chat.EventMessageUpdated, msgs)
		if err != nil {
			s.log.Error("re-sync encode failed", "room", rs.roomID, "err", err)
			return
		}
		f := fanout{srv: s, plain: outFrame{b: b, catchUp: true}, deflated: outFrame{b: b, catchUp: true}}
		n := s.rooms.deliver(rs.roomID, &f, "", 0)
		s.metrics.delivered.Add(float64(n * len(msgs)))
		s.log.Info("re-synced changes after bus gap", "room", rs.roomID, "messages", len(msgs), "sessions", n)
	}
	s.rooms.noteRev(rs.roomID, last)
}

// messageFrames appends a frame of type typ (MESSAGE_CREATED or MESSAGE_UPDATED) per message to b.
func messageFrames(b []byte, typ string, msgs []chat.Message) ([]byte, error) {
	for i := range msgs {
		// MessageCreated and MessageUpdated have the same shape: {message}.
		data, err := chat.MarshalJSON(chat.MessageCreated{Message: msgs[i]})
		if err != nil {
			return nil, fmt.Errorf("ws: encode message %s: %w", msgs[i].ID, err)
		}
		b = appendEventFrame(b, typ, data)
	}
	return b, nil
}

// eventFrame returns the complete WebSocket text frame of the client frame
// {"type":typ,"data":data}, in one allocation.
func eventFrame(typ string, data []byte) []byte {
	return appendEventFrame(nil, typ, data)
}

func appendEventFrame(b []byte, typ string, data []byte) []byte {
	const (
		pre = `{"type":"`
		mid = `","data":`
	)
	if len(data) == 0 {
		data = []byte("{}")
	}
	n := len(pre) + len(typ) + len(mid) + len(data) + 1
	if b == nil {
		b = make([]byte, 0, frameHeaderSize(n)+n)
	}
	b = appendFrameHeader(b, n)
	b = append(b, pre...)
	b = append(b, typ...) // event types are upper-case ASCII: nothing to escape
	b = append(b, mid...)
	b = append(b, data...)
	return append(b, '}')
}

// frameHeaderSize is the size of an unmasked server frame header for n payload bytes.
func frameHeaderSize(n int) int {
	switch {
	case n < 126:
		return 2
	case n <= 0xffff:
		return 4
	default:
		return 10
	}
}

// appendFrameHeader appends the header of a final, unmasked text frame of n bytes.
func appendFrameHeader(b []byte, n int) []byte {
	const finText = 0x80 | 0x1
	switch {
	case n < 126:
		return append(b, finText, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(b, finText, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, finText, 127), uint64(n))
	}
}
