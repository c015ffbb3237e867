package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// Session is a WebSocket connection that survives disconnects and hands the caller every
// message of the user's rooms exactly once, in seq order per room.
//
// The chat server delivers each message at most once per connection: Redis Pub/Sub may lose
// one, and a connection that drops loses whatever was in flight. docs/protocol.md makes that "at
// least once" by two means, and Session uses both:
//
//   - After every (re)connect it sends RESUME with, per room, the seq up to which it has
//     delivered every message; the server replays what came after.
//   - When a message's seq is more than one past that point, the messages in between were
//     lost in transit: it fetches them with History before delivering the new one.
//
// Both can deliver a message twice (a replay races a live event, a history page overlaps
// one). Session drops the duplicates: a message is identified by its id, which within a room
// is the same as its seq, so it remembers per room the seq below which everything has been
// delivered, and the ids of the messages delivered above a hole it could not fill.
//
// Changes to messages (MESSAGE_UPDATED: edits, deletes, reactions, pins) are tracked the
// same way by rev: per room, the rev up to which every change has been received (revs are
// the room's change counter, shared by creates and changes). RESUME names it, and the
// server replays the changes made after it; a replay cut short is paged with Changes.
// MESSAGE_UPDATED events are passed on as they come, possibly more than once and not
// necessarily in rev order: keep, per message, the state with the highest Rev.
//
// Other events are passed on as they come; they are not replayed after a reconnect
// (presence and read receipts are state: fetch it again when that matters).
//
// Messages handed over are acknowledged to the server with DELIVERED, per room up to the
// seq below which everything has been delivered, at most once per room every 100 ms
// (DeliveredDelay) and at most 8 frames a second (bursts of 16) in all: a burst of messages
// costs one frame, not one per message, and a catch-up of many rooms stays inside the
// server's frame rate. The room's
// other members see it as DELIVERY_RECEIPT_UPDATED. WithoutDelivered turns it off.
//
// The server closes a connection when its access token expires. Before that, the Session
// renews it: it refreshes the Client's tokens (unless another call has already) and sends
// AUTH with the new access token on the open connection.
type Session struct {
	c          *Client
	log        *slog.Logger
	minBackoff time.Duration
	maxBackoff time.Duration

	events chan Event
	cancel context.CancelFunc
	done   chan struct{}

	mu   sync.Mutex
	conn *Conn
	// live is the access token the connection lives on: the one it was opened with, or
	// the last one sent with AUTH.
	live    string
	rooms   map[string]*cursor
	revs    map[string]*cursor
	focused map[string]bool
	// resumeRest are the RESUME chunks still to send, each after the previous RESUME_OK.
	resumeRest []map[string]int64
	err        error

	// noDelivered: WithoutDelivered. acks: per room, the cursor to acknowledge with the
	// next DELIVERED; acked: the last one sent, so that a cursor is sent once. Both are
	// the pump goroutine's.
	noDelivered bool
	acks        map[string]int64
	acked       map[string]int64
	ackTokens   float64   // what the DELIVERED rate allows now (sendAcks)
	ackAt       time.Time // when ackTokens was last refilled
}

// cursor is how far a room's messages have been delivered (by seq), or its changes
// received (by rev).
type cursor struct {
	// last: every message with seq ≤ last has been delivered.
	last int64
	// ahead: messages delivered above a hole, seq → id.
	ahead map[int64]string
}

// maxRevsAhead bounds the revs a cursor keeps above a hole.
const maxRevsAhead = 1024

// see records that rev n was received, and moves last over what is now contiguous. Revs
// may have holes that never fill (a rev the server took for a change that did not happen):
// a hole only makes the next RESUME replay a little more.
func (c *cursor) see(n int64) {
	if n <= c.last {
		return
	}
	if n > c.last+1 {
		if c.ahead == nil {
			c.ahead = map[int64]string{}
		}
		if len(c.ahead) >= maxRevsAhead {
			// Coalesced reactions leave holes that never fill: forgetting what was seen
			// above one only makes the next RESUME replay a little more.
			clear(c.ahead)
		}
		c.ahead[n] = ""
		return
	}
	c.last = n
	for {
		if _, ok := c.ahead[c.last+1]; !ok {
			return
		}
		delete(c.ahead, c.last+1)
		c.last++
	}
}

// reach records that every rev up to n was received.
func (c *cursor) reach(n int64) {
	if n <= c.last {
		return
	}
	c.last = n - 1
	for k := range c.ahead {
		if k <= n {
			delete(c.ahead, k)
		}
	}
	c.see(n)
}

// SessionOption configures a Session.
type SessionOption func(*Session)

// WithResume starts the given rooms after the given seqs (a caller that stored its cursors
// from an earlier run) instead of at their current last message: the first RESUME replays
// what came after.
func WithResume(rooms map[string]int64) SessionOption {
	return func(s *Session) {
		for id, seq := range rooms {
			s.rooms[id] = &cursor{last: seq}
		}
	}
}

// WithResumeRevs starts the given rooms' changes after the given revs (stored from an
// earlier run's Revs) instead of at their current lastRev: the first RESUME replays the
// changes made after them.
func WithResumeRevs(revs map[string]int64) SessionOption {
	return func(s *Session) {
		for id, rev := range revs {
			s.revs[id] = &cursor{last: rev}
		}
	}
}

// WithBackoff sets the first and the longest wait between reconnect attempts (default 250 ms
// and 10 s); each failed attempt doubles the wait, with jitter.
func WithBackoff(minWait, maxWait time.Duration) SessionOption {
	return func(s *Session) { s.minBackoff, s.maxBackoff = minWait, maxWait }
}

// WithoutDelivered stops the Session from sending DELIVERED for the messages it hands over
// (a client that acknowledges them itself, or a load generator that wants none).
func WithoutDelivered() SessionOption { return func(s *Session) { s.noDelivered = true } }

// DeliveredDelay is how long a Session gathers the messages it hands over before it
// acknowledges them with one DELIVERED per room.
const DeliveredDelay = 100 * time.Millisecond

// WithLogger makes the Session log its disconnects and reconnects to l.
func WithLogger(l *slog.Logger) SessionOption { return func(s *Session) { s.log = l } }

// NewSession connects and starts a Session. Rooms start at their current last message
// unless WithResume says otherwise, so the Session delivers the messages created from now
// on. When the first connection fails, NewSession returns the error; later ones are retried
// until Close, or until the server refuses the user's credentials (Err then says so).
func (c *Client) NewSession(ctx context.Context, opts ...SessionOption) (*Session, error) {
	s := &Session{
		c:          c,
		log:        slog.New(slog.DiscardHandler),
		minBackoff: 250 * time.Millisecond,
		maxBackoff: 10 * time.Second,
		events:     make(chan Event, c.eventBuf),
		done:       make(chan struct{}),
		rooms:      map[string]*cursor{},
		revs:       map[string]*cursor{},
		focused:    map[string]bool{},
		acks:       map[string]int64{},
		acked:      map[string]int64{},
	}
	for _, o := range opts {
		o(s)
	}
	if s.minBackoff <= 0 {
		s.minBackoff = 250 * time.Millisecond
	}
	if s.maxBackoff < s.minBackoff {
		s.maxBackoff = s.minBackoff
	}
	conn, err := c.Connect(ctx)
	if err != nil {
		return nil, fmt.Errorf("client: session: %w", err)
	}
	if err := s.resync(ctx, conn); err != nil {
		conn.Close()
		return nil, fmt.Errorf("client: session: %w", err)
	}
	// The run loop outlives the caller's ctx, which only bounds the first connect; Close
	// ends it.
	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go s.run(runCtx, conn)
	return s, nil
}

// Events returns the session's events: every message once, and the other events as they
// come. It is closed after Close, or when the session gives up (see Err).
func (s *Session) Events() <-chan Event { return s.events }

// Err returns why the session ended by itself (the server refused the user's token), or nil.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Cursors returns, per room, the seq up to which every message has been delivered: what
// a caller stores to resume later with WithResume.
func (s *Session) Cursors() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int64, len(s.rooms))
	for id, c := range s.rooms {
		out[id] = c.last
	}
	return out
}

// Revs returns, per room, the rev up to which every change has been received: what a
// caller stores to resume later with WithResumeRevs.
func (s *Session) Revs() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int64, len(s.revs))
	for id, c := range s.revs {
		out[id] = c.last
	}
	return out
}

// Close ends the session: it closes the connection and waits for the session's goroutine.
func (s *Session) Close() error {
	s.cancel()
	<-s.done
	return nil
}

// Focus sends ROOM_FOCUSED and remembers the room, so that it is focused again after a
// reconnect. When disconnected it returns the send's error, and the room is focused on
// reconnect all the same.
func (s *Session) Focus(ctx context.Context, roomID string) error {
	s.mu.Lock()
	s.focused[roomID] = true
	conn := s.conn
	s.mu.Unlock()
	return conn.Focus(ctx, roomID)
}

// Unfocus sends ROOM_UNFOCUSED and forgets the room.
func (s *Session) Unfocus(ctx context.Context, roomID string) error {
	s.mu.Lock()
	delete(s.focused, roomID)
	conn := s.conn
	s.mu.Unlock()
	return conn.Unfocus(ctx, roomID)
}

// Delivered sends DELIVERED on the current connection: the room's messages up to seq reached
// this device. A Session sends it by itself for the messages it hands over, unless
// WithoutDelivered.
func (s *Session) Delivered(ctx context.Context, roomID string, seq int64) error {
	s.mu.Lock()
	conn := s.conn
	s.mu.Unlock()
	return conn.Delivered(ctx, roomID, seq)
}

// Typing sends TYPING on the current connection.
func (s *Session) Typing(ctx context.Context, roomID string) error {
	s.mu.Lock()
	conn := s.conn
	s.mu.Unlock()
	return conn.Typing(ctx, roomID)
}

// resync makes a new connection current: it learns the user's rooms (rooms joined while
// disconnected start at their last message, rooms left are forgotten), sends RESUME, and
// focuses the focused rooms again.
func (s *Session) resync(ctx context.Context, conn *Conn) error {
	rooms, err := s.c.Rooms(ctx)
	if err != nil {
		return fmt.Errorf("resync: %w", err)
	}
	s.mu.Lock()
	known := make(map[string]*cursor, len(rooms))
	knownRevs := make(map[string]*cursor, len(rooms))
	resume := make(map[string]int64, len(rooms))
	revs := make(map[string]int64, len(rooms))
	for _, r := range rooms {
		cur := s.rooms[r.ID]
		if cur == nil {
			cur = &cursor{last: r.LastSeq}
		}
		known[r.ID] = cur
		resume[r.ID] = cur.last
		rc := s.revs[r.ID]
		if rc == nil {
			rc = &cursor{last: r.LastRev}
		}
		knownRevs[r.ID] = rc
		revs[r.ID] = rc.last
	}
	s.rooms, s.revs = known, knownRevs
	s.conn = conn
	s.live = conn.token
	focused := make([]string, 0, len(s.focused))
	for id := range s.focused {
		focused = append(focused, id)
	}
	chunks := resumeChunks(resume)
	s.resumeRest = chunks[1:]
	s.mu.Unlock()
	if err := conn.ResumeRevs(ctx, chunks[0], revsOf(chunks[0], revs)); err != nil {
		return fmt.Errorf("resync: %w", err)
	}
	for _, id := range focused {
		if err := conn.Focus(ctx, id); err != nil {
			return fmt.Errorf("resync: %w", err)
		}
	}
	return nil
}

// revsOf returns the revs of the rooms of one RESUME chunk.
func revsOf(chunk, revs map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(chunk))
	for id := range chunk {
		if rev, ok := revs[id]; ok {
			out[id] = rev
		}
	}
	return out
}

// resumeChunk is how many rooms one RESUME frame names: well inside the server's 64 KiB
// frame limit.
const resumeChunk = 500

// resumeChunks splits a RESUME into frames of resumeChunk rooms; there is always one.
func resumeChunks(rooms map[string]int64) []map[string]int64 {
	out := []map[string]int64{{}}
	for id, seq := range rooms {
		if len(out[len(out)-1]) == resumeChunk {
			out = append(out, map[string]int64{})
		}
		out[len(out)-1][id] = seq
	}
	return out
}

func (s *Session) run(ctx context.Context, conn *Conn) {
	defer close(s.done)
	defer close(s.events)
	for {
		s.pump(ctx, conn)
		conn.Close()
		if ctx.Err() != nil {
			return
		}
		s.log.Info("chatchat session disconnected", "err", conn.Err())
		conn = s.reconnect(ctx)
		if conn == nil {
			return
		}
		s.log.Info("chatchat session reconnected")
	}
}

// pump handles the events of one connection until it ends or the session closes,
// renews the connection's access token when it is due, and acknowledges the messages it
// handed over (DELIVERED) DeliveredDelay after the first of a batch, within deliveredRate.
func (s *Session) pump(ctx context.Context, conn *Conn) {
	renew := time.NewTimer(s.renewIn())
	defer renew.Stop()
	ack := time.NewTimer(DeliveredDelay)
	ack.Stop()
	defer ack.Stop()
	var ackDue <-chan time.Time // nil while no acknowledgement is waiting
	for {
		select {
		case <-ctx.Done():
			return
		case <-renew.C:
			renew.Reset(s.renew(ctx, conn))
		case <-ackDue:
			ackDue = nil
			s.sendAcks(ctx, conn)
		case ev, ok := <-conn.Events():
			if !ok {
				return
			}
			s.handle(ctx, ev)
		}
		if ackDue == nil && len(s.acks) > 0 {
			ack.Reset(DeliveredDelay)
			ackDue = ack.C
		}
	}
}

// deliveredRate and deliveredBurst bound the DELIVERED frames a Session sends: well inside
// the server's frame rate (20 a second, bursts of 40 by default), so that acknowledging a
// RESUME that brought messages of hundreds of rooms spreads over a few seconds instead of
// being refused (rate_limited, then a close). The acknowledgements waiting keep only each
// room's latest cursor, so waiting costs nothing but time.
const (
	deliveredRate  = 8.0
	deliveredBurst = 16.0
)

// sendAcks sends one DELIVERED per room whose cursor moved since the last, as many as the
// rate allows; the others wait for the next round. A send that fails (the connection is
// going) is not retried: the room's next message acknowledges everything before it too.
func (s *Session) sendAcks(ctx context.Context, conn *Conn) {
	now := time.Now()
	if s.ackAt.IsZero() {
		s.ackTokens = deliveredBurst
	} else {
		s.ackTokens = min(deliveredBurst, s.ackTokens+now.Sub(s.ackAt).Seconds()*deliveredRate)
	}
	s.ackAt = now
	for roomID, seq := range s.acks {
		if seq <= s.acked[roomID] {
			delete(s.acks, roomID)
			continue
		}
		if s.ackTokens < 1 {
			return
		}
		s.ackTokens--
		delete(s.acks, roomID)
		if err := conn.Delivered(ctx, roomID, seq); err != nil {
			s.log.Info("chatchat session: DELIVERED not sent", "room", roomID, "err", err)
			continue
		}
		s.acked[roomID] = seq
	}
}

// renewRetry is the wait before another try when a renewal failed (the refresh did not get
// through); the token is not expired yet, and the server closes the connection if it
// expires before a try succeeds.
const renewRetry = 2 * time.Second

// renewTimeout bounds a renewal: the refresh's round trip and the AUTH frame's write.
const renewTimeout = 15 * time.Second

// noRenewal stands for "never": a token that is not a JWT with an expiry (a test's) is not
// renewed.
const noRenewal = 24 * time.Hour

// renewIn returns how long until the connection's access token is due for renewal.
func (s *Session) renewIn() time.Duration {
	s.mu.Lock()
	live := s.live
	s.mu.Unlock()
	at, ok := renewAt(live)
	if !ok {
		return noRenewal
	}
	return max(time.Until(at), 0)
}

// renew gives the connection a fresh access token (AUTH) and returns when to renew next.
// A token the Client holds that is newer than the connection's and not due itself is used
// as it is; otherwise the tokens are refreshed first.
func (s *Session) renew(ctx context.Context, conn *Conn) time.Duration {
	ctx, cancel := context.WithTimeout(ctx, renewTimeout)
	defer cancel()
	s.mu.Lock()
	live := s.live
	s.mu.Unlock()
	tok := s.c.accessToken()
	if at, ok := renewAt(tok); tok == live || !ok || !time.Now().Before(at) {
		if err := s.c.refreshAfter(ctx, tok); err != nil {
			s.log.Warn("chatchat session: renew the access token", "err", err)
			return renewRetry
		}
		tok = s.c.accessToken()
	}
	if err := conn.Auth(ctx, tok); err != nil {
		// The connection is gone; pump sees its events end and reconnects.
		return renewRetry
	}
	s.mu.Lock()
	s.live = tok
	s.mu.Unlock()
	return s.renewIn()
}

func (s *Session) handle(ctx context.Context, ev Event) {
	switch ev.Type {
	case chat.EventMessageCreated:
		m, err := ev.Message()
		if err != nil || m.RoomID == "" || m.Seq <= 0 {
			// Not a message this Session can order; pass it on as it is.
			s.emit(ctx, ev)
			return
		}
		s.message(ctx, m, ev)
	case chat.EventMessageUpdated:
		if m, err := ev.UpdatedMessage(); err == nil && m.RoomID != "" && m.Rev > 0 {
			s.seeRev(m.RoomID, m.Rev)
		}
		s.emit(ctx, ev)
	case chat.EventRoomUpdated:
		if r, err := ev.Room(); err == nil && r.ID != "" {
			s.mu.Lock()
			if s.rooms[r.ID] == nil {
				// A room the user just joined: its earlier messages are history, not news.
				s.rooms[r.ID] = &cursor{last: r.LastSeq}
			}
			if s.revs[r.ID] == nil {
				s.revs[r.ID] = &cursor{last: r.LastRev}
			}
			s.mu.Unlock()
		}
		s.emit(ctx, ev)
	case chat.EventResumeOK:
		var ok chat.ResumeOK
		if err := json.Unmarshal(ev.Data, &ok); err == nil && !ok.Complete {
			// The replay was cut at the server's bound: the rest is history, and the
			// changes feed.
			for roomID, seq := range ok.Rooms {
				if err := s.fill(ctx, roomID, seq, math.MaxInt64); err != nil {
					s.log.Warn("chatchat session: page the rest of a RESUME", "room", roomID, "after", seq, "err", err)
				}
			}
			for roomID, rev := range ok.Revs {
				if err := s.fillChanges(ctx, roomID, rev); err != nil {
					s.log.Warn("chatchat session: page the changes after a RESUME", "room", roomID, "after", rev, "err", err)
				}
			}
		} else if err == nil {
			// Every change up to these revs has been replayed.
			s.mu.Lock()
			for roomID, rev := range ok.Revs {
				if c := s.revs[roomID]; c != nil {
					c.reach(rev)
				}
			}
			s.mu.Unlock()
		}
		// The next chunk of a long RESUME: the server takes one at a time.
		s.mu.Lock()
		conn := s.conn
		var next map[string]int64
		if len(s.resumeRest) > 0 {
			next, s.resumeRest = s.resumeRest[0], s.resumeRest[1:]
		}
		s.mu.Unlock()
		revs := map[string]int64{}
		s.mu.Lock()
		for id := range next {
			if c := s.revs[id]; c != nil {
				revs[id] = c.last
			}
		}
		s.mu.Unlock()
		if next != nil && conn != nil {
			if err := conn.ResumeRevs(ctx, next, revs); err != nil {
				s.log.Warn("chatchat session: send the next RESUME", "err", err)
			}
		}
		s.emit(ctx, ev)
	default:
		s.emit(ctx, ev)
	}
}

// message delivers m unless it is a duplicate, after filling the gap before it.
func (s *Session) message(ctx context.Context, m chat.Message, ev Event) {
	s.mu.Lock()
	cur := s.rooms[m.RoomID]
	if cur == nil {
		// A room not heard of yet (its ROOM_UPDATED is late or lost): follow it from here.
		cur = &cursor{last: m.Seq - 1}
		s.rooms[m.RoomID] = cur
	}
	gapFrom := cur.last
	s.mu.Unlock()
	if m.Seq > gapFrom+1 {
		if err := s.fill(ctx, m.RoomID, gapFrom, m.Seq); err != nil {
			// The hole stays below cur.last: the next RESUME asks for it again.
			s.log.Warn("chatchat session: fill gap", "room", m.RoomID,
				"after", gapFrom, "before", m.Seq, "err", err)
		}
	}
	s.accept(ctx, m, ev)
}

// fill fetches and delivers the messages of a room with after < seq < before.
func (s *Session) fill(ctx context.Context, roomID string, after, before int64) error {
	for after < before-1 {
		msgs, more, err := s.c.History(ctx, roomID, chat.HistoryQuery{AfterSeq: after, Forward: true, Limit: 100})
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if m.Seq >= before {
				return nil
			}
			data, err := json.Marshal(chat.MessageCreated{Message: m})
			if err != nil {
				return fmt.Errorf("encode message: %w", err)
			}
			s.accept(ctx, m, Event{Type: chat.EventMessageCreated, Data: data})
		}
		if !more || len(msgs) == 0 {
			return nil
		}
		after = msgs[len(msgs)-1].Seq
	}
	return nil
}

// seeRev records that a change of the room at rev was received.
func (s *Session) seeRev(roomID string, rev int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.revs[roomID]
	if c == nil {
		c = &cursor{last: rev - 1}
		s.revs[roomID] = c
	}
	c.see(rev)
}

// fillChanges pages a room's changes after rev and delivers each as MESSAGE_UPDATED.
func (s *Session) fillChanges(ctx context.Context, roomID string, after int64) error {
	for {
		page, err := s.c.Changes(ctx, roomID, after, chat.MaxChangesPage)
		if err != nil {
			return err
		}
		for _, m := range page.Messages {
			data, err := json.Marshal(chat.MessageUpdated{Message: m})
			if err != nil {
				return fmt.Errorf("encode message: %w", err)
			}
			s.emit(ctx, Event{Type: chat.EventMessageUpdated, Data: data})
			after = max(after, m.Rev)
		}
		s.mu.Lock()
		if c := s.revs[roomID]; c != nil {
			c.reach(after)
		}
		s.mu.Unlock()
		if !page.HasMore || len(page.Messages) == 0 {
			return nil
		}
	}
}

// accept delivers m once.
func (s *Session) accept(ctx context.Context, m chat.Message, ev Event) {
	s.mu.Lock()
	cur := s.rooms[m.RoomID]
	if cur == nil {
		cur = &cursor{last: m.Seq - 1}
		s.rooms[m.RoomID] = cur
	}
	if m.Seq <= cur.last {
		s.mu.Unlock()
		return
	}
	if _, dup := cur.ahead[m.Seq]; dup {
		s.mu.Unlock()
		return
	}
	if m.Rev > 0 {
		rc := s.revs[m.RoomID]
		if rc == nil {
			rc = &cursor{last: m.Rev - 1}
			s.revs[m.RoomID] = rc
		}
		rc.see(m.Rev)
	}
	if m.Seq == cur.last+1 {
		cur.last = m.Seq
		// Close up to the messages already delivered above the hole just filled.
		for {
			if _, ok := cur.ahead[cur.last+1]; !ok {
				break
			}
			delete(cur.ahead, cur.last+1)
			cur.last++
		}
		if !s.noDelivered {
			s.acks[m.RoomID] = cur.last
		}
	} else {
		if cur.ahead == nil {
			cur.ahead = map[int64]string{}
		}
		cur.ahead[m.Seq] = m.ID
	}
	s.mu.Unlock()
	s.emit(ctx, ev)
}

func (s *Session) emit(ctx context.Context, ev Event) {
	select {
	case s.events <- ev:
	case <-ctx.Done():
	}
}

// reconnect dials until a connection is back and resynced. It returns nil when the session
// is closed, or when the server refuses the user (401 after a refresh, 403), which no
// retry would change.
func (s *Session) reconnect(ctx context.Context) *Conn {
	wait := s.minBackoff
	for {
		// Jitter spreads the reconnects of many clients that a restarting server
		// dropped at the same moment.
		d := wait/2 + rand.N(wait/2+1)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		conn, err := s.c.Connect(ctx)
		if err == nil {
			if err = s.resync(ctx, conn); err == nil {
				return conn
			}
			conn.Close()
		}
		if ctx.Err() != nil {
			return nil
		}
		if st := ErrorStatus(err); st == http.StatusUnauthorized || st == http.StatusForbidden {
			s.mu.Lock()
			s.err = fmt.Errorf("client: session: %w", err)
			s.mu.Unlock()
			return nil
		}
		s.log.Info("chatchat session: reconnect failed", "err", err, "wait", wait)
		wait = min(wait*2, s.maxBackoff)
		var apiErr *APIError
		if errors.As(err, &apiErr) && apiErr.RetryAfter > wait {
			wait = apiErr.RetryAfter
		}
	}
}
