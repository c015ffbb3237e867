package ws

import (
	"slices"
	"sync"
	"sync/atomic"
)

// shardCount spreads the session maps over independent locks, as centrifuge's hub does, so
// that connects and disconnects in one room do not stall the fan-out in another.
const shardCount = 64

// shardOf returns key's shard: FNV-1a, written out because hash/fnv's New allocates.
func shardOf(key string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return h % shardCount
}

// Lock order, everywhere: a shard's mu, then a session's mu. Never the other way round.

// roomSessionManager maps a room id to the local sessions that receive its events, and
// remembers per room the highest message seq fanned out on this node (for HandleGap).
type roomSessionManager struct {
	shards [shardCount]roomShard
	// routes, when set, is told of each room that gains its first local session and of
	// each that loses its last.
	routes Routes
}

type roomShard struct {
	mu    sync.RWMutex
	rooms map[string]*roomEntry
}

type roomEntry struct {
	sessions map[*session]struct{}
	maxSeq   atomic.Int64
	// maxRev is the highest rev of the room fanned out here (created and changed
	// messages): where a re-sync of its changes starts. 0 until one went out.
	maxRev atomic.Int64
	// firstLive is the first seq fanned out live since the last bus gap (0: none yet).
	// From it on, the subscription delivers every message, so a re-sync stops below it
	// instead of sending those messages a second time.
	firstLive atomic.Int64
}

func newRoomSessionManager() *roomSessionManager {
	m := &roomSessionManager{}
	for i := range m.shards {
		m.shards[i].rooms = make(map[string]*roomEntry)
	}
	return m
}

// join adds s to the room. A closed session is not added: its clean-up may already have
// read its room list.
//
// seq is the room's last seq as the caller knows it: the entry's re-sync point starts
// there, so that a bus gap re-syncs rooms that have had no traffic on this node yet.
func (m *roomSessionManager) join(roomID string, s *session, seq int64) {
	sh := &m.shards[shardOf(roomID)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	e := sh.rooms[roomID]
	if e == nil {
		e = &roomEntry{sessions: make(map[*session]struct{}, 1)}
		sh.rooms[roomID] = e
		if m.routes != nil {
			m.routes.HoldRoom(roomID)
		}
	}
	e.noteSeq(seq)
	if _, ok := e.sessions[s]; ok {
		return
	}
	e.sessions[s] = struct{}{}
	s.rooms = append(s.rooms, roomID)
}

// leave removes s from the room.
func (m *roomSessionManager) leave(roomID string, s *session) {
	sh := &m.shards[shardOf(roomID)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	s.mu.Lock()
	if i := slices.Index(s.rooms, roomID); i >= 0 {
		s.rooms = slices.Delete(s.rooms, i, i+1)
	}
	s.mu.Unlock()
	m.removeLocked(sh, roomID, s)
}

// removeAll removes a closed session from the rooms it was in.
func (m *roomSessionManager) removeAll(s *session, rooms []string) {
	for _, roomID := range rooms {
		sh := &m.shards[shardOf(roomID)]
		sh.mu.Lock()
		m.removeLocked(sh, roomID, s)
		sh.mu.Unlock()
	}
}

// removeLocked removes s from the room; sh is the room's shard, locked.
func (m *roomSessionManager) removeLocked(sh *roomShard, roomID string, s *session) {
	e := sh.rooms[roomID]
	if e == nil {
		return
	}
	delete(e.sessions, s)
	if len(e.sessions) == 0 {
		// The room's seq goes with it: a room with no local session needs no re-sync.
		delete(sh.rooms, roomID)
		if m.routes != nil {
			m.routes.ReleaseRoom(roomID)
		}
	}
}

// sessions appends the room's sessions to dst.
func (m *roomSessionManager) sessions(roomID string, dst []*session) []*session {
	sh := &m.shards[shardOf(roomID)]
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	if e := sh.rooms[roomID]; e != nil {
		for s := range e.sessions {
			dst = append(dst, s)
		}
	}
	return dst
}

// deliver queues f to the room's sessions, except those of user exclude (when not empty)
// and those already stamped with stamp (when not zero). It returns how many took it.
func (m *roomSessionManager) deliver(roomID string, f *fanout, exclude string, stamp uint64) int {
	sh := &m.shards[shardOf(roomID)]
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	e := sh.rooms[roomID]
	if e == nil {
		return 0
	}
	n := 0
	for s := range e.sessions {
		if exclude == "" || s.userID != exclude {
			n += deliverOnce(s, f, stamp)
		}
	}
	return n
}

// deliverOnce queues f to s unless s is already stamped with stamp (when not zero), which
// it then is; it returns 1 when s took the frame. Stamps are written under the fan-out
// lock (Server.fanoutMu), so that one event reaches a session once however many of its
// rooms it is delivered through.
func deliverOnce(s *session, f *fanout, stamp uint64) int {
	if stamp != 0 {
		if s.stamp == stamp {
			return 0
		}
		s.stamp = stamp
	}
	if s.enqueue(f.frameFor(s)) {
		return 1
	}
	return 0
}

// noteSeq records that message seq of the room was fanned out here; live tells a message
// from the bus from one a re-sync fetched.
func (m *roomSessionManager) noteSeq(roomID string, seq int64, live bool) {
	sh := &m.shards[shardOf(roomID)]
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	if e := sh.rooms[roomID]; e != nil {
		e.noteSeq(seq)
		if live {
			e.firstLive.CompareAndSwap(0, seq)
		}
	}
}

// noteRev records that an event of the room with rev was fanned out here.
func (m *roomSessionManager) noteRev(roomID string, rev int64) {
	sh := &m.shards[shardOf(roomID)]
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	if e := sh.rooms[roomID]; e != nil {
		for {
			cur := e.maxRev.Load()
			if rev <= cur || e.maxRev.CompareAndSwap(cur, rev) {
				return
			}
		}
	}
}

// firstLive returns the first seq of the room fanned out live since the last gap, or 0.
func (m *roomSessionManager) firstLive(roomID string) int64 {
	sh := &m.shards[shardOf(roomID)]
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	if e := sh.rooms[roomID]; e != nil {
		return e.firstLive.Load()
	}
	return 0
}

// noteSeq raises the entry's highest known seq to seq.
func (e *roomEntry) noteSeq(seq int64) {
	for {
		cur := e.maxSeq.Load()
		if seq <= cur || e.maxSeq.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// roomSeq is a local room and the highest seq (and rev, 0 when unknown) fanned out in it.
type roomSeq struct {
	roomID string
	seq    int64
	rev    int64
}

// knownSeq returns a local room's last fanned-out seq (0: none since it was joined with
// an empty history) and rev, and starts a new gap for it; ok is false when the room has no
// local session.
func (m *roomSessionManager) knownSeq(roomID string) (rs roomSeq, ok bool) {
	sh := &m.shards[shardOf(roomID)]
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	e := sh.rooms[roomID]
	if e == nil {
		return roomSeq{}, false
	}
	e.firstLive.Store(0)
	return roomSeq{roomID: roomID, seq: e.maxSeq.Load(), rev: e.maxRev.Load()}, true
}

// knownSeqs returns the local rooms whose last fanned-out seq is known, and starts a new
// gap: each room's firstLive is reset. Rooms joined since their last message are left
// out: re-syncing them from seq 0 would replay their history.
func (m *roomSessionManager) knownSeqs() []roomSeq {
	var out []roomSeq
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.RLock()
		for id, e := range sh.rooms {
			e.firstLive.Store(0)
			if seq := e.maxSeq.Load(); seq > 0 {
				out = append(out, roomSeq{roomID: id, seq: seq, rev: e.maxRev.Load()})
			}
		}
		sh.mu.RUnlock()
	}
	return out
}

// userSessionManager maps a user id to the user's local sessions (one per device).
type userSessionManager struct {
	shards [shardCount]userShard
	// routes, when set, is told of each user who gains a first local session and of each
	// who loses the last.
	routes Routes
}

type userShard struct {
	mu    sync.RWMutex
	users map[string][]*session
}

func newUserSessionManager() *userSessionManager {
	m := &userSessionManager{}
	for i := range m.shards {
		m.shards[i].users = make(map[string][]*session)
	}
	return m
}

func (m *userSessionManager) add(s *session) {
	sh := &m.shards[shardOf(s.userID)]
	sh.mu.Lock()
	if len(sh.users[s.userID]) == 0 && m.routes != nil {
		m.routes.HoldUser(s.userID)
	}
	sh.users[s.userID] = append(sh.users[s.userID], s)
	sh.mu.Unlock()
}

func (m *userSessionManager) remove(s *session) {
	sh := &m.shards[shardOf(s.userID)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	list := sh.users[s.userID]
	i := slices.Index(list, s)
	if i < 0 {
		return
	}
	list = slices.Delete(list, i, i+1)
	if len(list) == 0 {
		delete(sh.users, s.userID)
		if m.routes != nil {
			m.routes.ReleaseUser(s.userID)
		}
		return
	}
	sh.users[s.userID] = list
}

// sessions appends the user's sessions to dst.
func (m *userSessionManager) sessions(userID string, dst []*session) []*session {
	sh := &m.shards[shardOf(userID)]
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	return append(dst, sh.users[userID]...)
}

// each calls fn for every session, holding one shard's read lock at a time: fn must not
// take a shard lock.
func (m *userSessionManager) each(fn func(*session)) {
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.RLock()
		for _, list := range sh.users {
			for _, s := range list {
				fn(s)
			}
		}
		sh.mu.RUnlock()
	}
}

// has reports whether the room has local sessions, so that events of rooms nobody here
// is in cost no encoding.
func (m *roomSessionManager) has(roomID string) bool {
	sh := &m.shards[shardOf(roomID)]
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	return sh.rooms[roomID] != nil
}

// deliver queues f to the user's sessions not yet stamped with stamp (when not zero). It
// returns how many took it.
func (m *userSessionManager) deliver(userID string, f *fanout, stamp uint64) int {
	sh := &m.shards[shardOf(userID)]
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	n := 0
	for _, s := range sh.users[userID] {
		n += deliverOnce(s, f, stamp)
	}
	return n
}
