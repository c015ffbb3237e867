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
	loaded  time.Time
}

func newMemberCache(ttl time.Duration, maxRooms int, now func() time.Time) *memberCache {
	return &memberCache{ttl: ttl, max: maxRooms, now: now, rooms: make(map[string]cachedRoom)}
}

// isMember answers from the cache, loading the room's members with load on a miss.
func (c *memberCache) isMember(ctx context.Context, roomID, userID string, load func(context.Context, string) ([]string, error)) (bool, error) {
	c.mu.Lock()
	r, ok := c.rooms[roomID]
	gen := c.gen
	c.mu.Unlock()
	if ok && c.now().Sub(r.loaded) < c.ttl {
		_, member := r.members[userID]
		return member, nil
	}
	ids, err := load(ctx, roomID)
	if err != nil {
		return false, err
	}
	r = cachedRoom{members: make(map[string]struct{}, len(ids)), loaded: c.now()}
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
	_, member := r.members[userID]
	return member, nil
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

func (s *Service) loadMembers(ctx context.Context, roomID string) ([]string, error) {
	r, err := s.rooms.Room(ctx, roomID)
	if IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return r.MemberIDs, nil
}
