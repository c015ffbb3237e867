package memory

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// PresenceConfig configures a Presence. Zero values take the defaults.
type PresenceConfig struct {
	// TTL is how long a heartbeat keeps a session, and its viewer entries, alive.
	// Default chat.PresenceTTL.
	TTL time.Duration
	// Now is the clock; tests inject one to move time by hand. Default time.Now.
	Now func() time.Time
}

// Presence is an in-process chat.PresenceService with the same rules as the Redis one:
// sessions and viewer entries live for the TTL after their last heartbeat, a user is online
// while any session lives, and last activity is kept after the user goes offline. Expired
// entries are dropped lazily when read, and all at once by Sweep. It is safe for concurrent
// use and owns no goroutine.
type Presence struct {
	ttl time.Duration
	now func() time.Time

	mu    sync.Mutex
	users map[string]*userPresence
	rooms map[string]map[viewer]time.Time // room id → viewer → expiry
}

// userPresence is what is known of one user. It stays after the user goes offline, as the
// Redis adapter's last-active key does, so that "last seen" survives.
type userPresence struct {
	lastActive time.Time
	sessions   map[string]time.Time           // session id → expiry
	focused    map[string]map[string]struct{} // session id → rooms it has viewer entries in
}

type viewer struct{ userID, sessionID string }

var _ chat.PresenceService = (*Presence)(nil)

// NewPresence returns an empty presence service.
func NewPresence(cfg PresenceConfig) *Presence {
	if cfg.TTL <= 0 {
		cfg.TTL = chat.PresenceTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Presence{
		ttl:   cfg.TTL,
		now:   cfg.Now,
		users: make(map[string]*userPresence),
		rooms: make(map[string]map[viewer]time.Time),
	}
}

// Touch implements chat.PresenceService.
func (p *Presence) Touch(ctx context.Context, hb chat.Heartbeat) (bool, error) {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	u := p.user(hb.UserID)
	wasOnline := u.online(now)
	u.lastActive = now
	u.sessions[hb.SessionID] = now.Add(p.ttl)
	for _, roomID := range hb.Focused {
		p.focus(u, roomID, viewer{hb.UserID, hb.SessionID}, now)
	}
	return !wasOnline, nil
}

// Leave implements chat.PresenceService.
func (p *Presence) Leave(ctx context.Context, userID, sessionID string) (bool, error) {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	u, ok := p.users[userID]
	if !ok {
		return false, nil
	}
	wasOnline := u.online(now)
	delete(u.sessions, sessionID)
	v := viewer{userID, sessionID}
	for roomID := range u.focused[sessionID] {
		p.unview(roomID, v)
	}
	delete(u.focused, sessionID)
	return wasOnline && !u.online(now), nil
}

// Statuses implements chat.PresenceService.
func (p *Presence) Statuses(ctx context.Context, userIDs []string) ([]chat.Presence, error) {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]chat.Presence, len(userIDs))
	for i, id := range userIDs {
		out[i] = chat.Presence{UserID: id, Status: chat.StatusOffline}
		u, ok := p.users[id]
		if !ok {
			continue
		}
		if u.online(now) {
			out[i].Status = chat.StatusOnline
		}
		out[i].LastActiveAt = chat.TimePtr(u.lastActive)
	}
	return out, nil
}

// Focus implements chat.PresenceService.
func (p *Presence) Focus(ctx context.Context, roomID, userID, sessionID string) error {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.focus(p.user(userID), roomID, viewer{userID, sessionID}, now)
	return nil
}

// Unfocus implements chat.PresenceService.
func (p *Presence) Unfocus(ctx context.Context, roomID, userID, sessionID string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.unview(roomID, viewer{userID, sessionID})
	if u, ok := p.users[userID]; ok {
		delete(u.focused[sessionID], roomID)
		if len(u.focused[sessionID]) == 0 {
			delete(u.focused, sessionID)
		}
	}
	return nil
}

// Viewers implements chat.PresenceService. Users come out sorted.
func (p *Presence) Viewers(ctx context.Context, roomID string) ([]string, error) {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	var ids []string
	for v, exp := range p.rooms[roomID] {
		if !exp.After(now) {
			p.unview(roomID, v)
			continue
		}
		ids = append(ids, v.userID)
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// Sweep drops every expired session and viewer entry. Reads ignore expired entries anyway;
// sweeping keeps memory bounded by the live sessions when users and rooms come and go, so
// the owner calls it now and then (the chat server's periodic clean-up does).
func (p *Presence) Sweep() {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	for roomID, vs := range p.rooms {
		for v, exp := range vs {
			if !exp.After(now) {
				p.unview(roomID, v)
			}
		}
	}
	for _, u := range p.users {
		for sid, exp := range u.sessions {
			if !exp.After(now) {
				delete(u.sessions, sid)
			}
		}
		// A session's list of rooms is needed only while it has a viewer entry to remove.
		for sid, rooms := range u.focused {
			for roomID := range rooms {
				if _, ok := p.rooms[roomID]; !ok {
					delete(rooms, roomID)
				}
			}
			if len(rooms) == 0 {
				delete(u.focused, sid)
			}
		}
	}
}

// user returns userID's state, creating it. p.mu must be held.
func (p *Presence) user(userID string) *userPresence {
	u, ok := p.users[userID]
	if !ok {
		u = &userPresence{
			sessions: make(map[string]time.Time),
			focused:  make(map[string]map[string]struct{}),
		}
		p.users[userID] = u
	}
	return u
}

// focus gives v a viewer entry in roomID that lives for the TTL. p.mu must be held.
func (p *Presence) focus(u *userPresence, roomID string, v viewer, now time.Time) {
	vs, ok := p.rooms[roomID]
	if !ok {
		vs = make(map[viewer]time.Time)
		p.rooms[roomID] = vs
	}
	vs[v] = now.Add(p.ttl)
	rooms, ok := u.focused[v.sessionID]
	if !ok {
		rooms = make(map[string]struct{})
		u.focused[v.sessionID] = rooms
	}
	rooms[roomID] = struct{}{}
}

// unview removes v's entry in roomID, and the room when it has no viewer left. p.mu must be
// held.
func (p *Presence) unview(roomID string, v viewer) {
	vs, ok := p.rooms[roomID]
	if !ok {
		return
	}
	delete(vs, v)
	if len(vs) == 0 {
		delete(p.rooms, roomID)
	}
}

// online reports whether any session lives at now, dropping the expired ones on the way.
func (u *userPresence) online(now time.Time) bool {
	live := false
	for sid, exp := range u.sessions {
		if exp.After(now) {
			live = true
		} else {
			delete(u.sessions, sid)
		}
	}
	return live
}
