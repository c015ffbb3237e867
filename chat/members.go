package chat

import (
	"context"
	"sync"
	"time"
)

// memberCache remembers the member ids of recently used rooms, so that the membership check
// on every send, history read, focus and typing event is a map lookup instead of a query.
// An entry is dropped when a ROOM_UPDATED event for its room arrives from any node, when the
// bus reports a gap (events may have been lost), on a local membership change, and after the
// TTL in any case: a missed event costs at most TTL of staleness.
type memberCache struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu    sync.Mutex
	gen   uint64 // bumped by every invalidation, so a load that raced one is not kept
	rooms map[string]cachedRoom
}

type cachedRoom struct {
	members map[string]struct{}
	// direct: a direct room, whose other member a send asks about blocks.
	direct bool
	loaded time.Time
}

func newMemberCache(ttl time.Duration, maxRooms int, now func() time.Time) *memberCache {
	return &memberCache{ttl: ttl, max: maxRooms, now: now, rooms: make(map[string]cachedRoom)}
}

// memberLoader loads a room's member ids and whether it is a direct room.
type memberLoader func(context.Context, string) (ids []string, direct bool, err error)

// isMember answers from the cache, loading the room's members with load on a miss.
func (c *memberCache) isMember(ctx context.Context, roomID, userID string, load memberLoader) (bool, error) {
	r, err := c.room(ctx, roomID, load)
	if err != nil {
		return false, err
	}
	_, member := r.members[userID]
	return member, nil
}

// room returns the cached entry of the room, loading it with load on a miss.
func (c *memberCache) room(ctx context.Context, roomID string, load memberLoader) (cachedRoom, error) {
	c.mu.Lock()
	r, ok := c.rooms[roomID]
	gen := c.gen
	c.mu.Unlock()
	if ok && c.now().Sub(r.loaded) < c.ttl {
		return r, nil
	}
	ids, direct, err := load(ctx, roomID)
	if err != nil {
		return cachedRoom{}, err
	}
	r = cachedRoom{members: make(map[string]struct{}, len(ids)), direct: direct, loaded: c.now()}
	for _, id := range ids {
		r.members[id] = struct{}{}
	}
	c.mu.Lock()
	// Kept only if no invalidation raced the load, and only for rooms that exist: ids
	// made up by a client must not fill the cache and push out the real rooms.
	if c.gen == gen && len(ids) > 0 {
		if len(c.rooms) >= c.max {
			for id := range c.rooms { // drop any one: the cache only saves queries
				delete(c.rooms, id)
				break
			}
		}
		c.rooms[roomID] = r
	}
	c.mu.Unlock()
	return r, nil
}

func (c *memberCache) invalidate(roomID string) {
	c.mu.Lock()
	c.gen++
	delete(c.rooms, roomID)
	c.mu.Unlock()
}

func (c *memberCache) clear() {
	c.mu.Lock()
	c.gen++
	clear(c.rooms)
	c.mu.Unlock()
}

// HandleEvent keeps the membership cache current: a ROOM_UPDATED event, from this node or
// any other, drops the room's entry. Subscribe the Service to the bus in every process that
// serves the API.
func (s *Service) HandleEvent(ev Event) {
	if ev.Type == EventRoomUpdated && ev.RoomID != "" {
		s.membership.invalidate(ev.RoomID)
	}
}

// HandleGap drops the whole membership cache: events may have been lost.
func (s *Service) HandleGap() { s.membership.clear() }

var _ EventHandler = (*Service)(nil)

func (s *Service) loadMembers(ctx context.Context, roomID string) ([]string, bool, error) {
	r, err := s.rooms.Room(ctx, roomID)
	if IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return r.MemberIDs, r.Type == RoomDirect, nil
}

// directBlockers returns, for a direct room, the other member when they block userID: the
// room's kind and members from the cache, the block from the store (one look-up of its
// key). Groups have none: a block does not silence a group.
func (s *Service) directBlockers(ctx context.Context, roomID, userID string) ([]string, error) {
	r, err := s.membership.room(ctx, roomID, s.loadMembers)
	if err != nil || !r.direct {
		return nil, err
	}
	others := make([]string, 0, 1)
	for id := range r.members {
		if id != userID {
			others = append(others, id)
		}
	}
	return s.blocks.Blockers(ctx, userID, others)
}
