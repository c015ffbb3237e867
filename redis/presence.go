package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/chatchat/chatchat/chat"
)

// PresenceConfig configures a Presence. Zero values take the defaults.
type PresenceConfig struct {
	// Prefix is put before every key, so that tests or deployments sharing one Redis do
	// not see each other. Default none: the seed's key names.
	Prefix string
	// TTL is how long a heartbeat keeps a session, its viewer entries and the user's
	// status alive. Default chat.PresenceTTL.
	TTL time.Duration
	// HashTags puts each user's keys, and each room's, in a hash slot of their own
	// (user:{userId}:status, room:{roomId}:viewers), and splits every operation that
	// touched several users' or rooms' keys at once into one step per slot, so that
	// presence works on a Redis Cluster. The key names are no longer the seed's. Default
	// off: the seed's layout, on one primary.
	HashTags bool
}

// Presence is a chat.PresenceService in Redis, shared by every node. The keys are the
// seed's:
//
//	user:{userId}:status        "online", expiring with the user's last live session
//	user:{userId}:last-active   unix ms of the last heartbeat, kept for "last seen"
//	presence:last-active        sorted set: userId scored by unix ms of the last heartbeat
//	user:{userId}:sessions      sorted set: sessionId scored by its expiry (unix ms)
//	room:{roomId}:viewers       sorted set: "userId|sessionId" scored by its expiry
//
// and one of its own, user:{userId}:session:{sessionId}:rooms, the set of rooms a session
// has viewer entries in, so that Leave can remove them. Scores carry expiries because Redis
// expires keys, not set members: a node that dies stops refreshing its sessions' scores and
// they fall out of every count after the TTL, while the others' live on. Expired members
// are ignored and trimmed by the scripts that touch a set. Every operation is one script or
// one MULTI, so nodes never see half of one, and all times come from the Redis server's
// clock so that nodes with drifting clocks agree.
type Presence struct {
	client goredis.UniversalClient
	prefix string
	ttl    time.Duration
	tags   bool // PresenceConfig.HashTags

	touch, focus, viewers, leave *goredis.Script
	// With hash tags: the user's part of touch, a viewer entry, a session's room.
	touchUser, viewer, sessionRoom *goredis.Script
}

var (
	_ chat.PresenceService = (*Presence)(nil)
	_ chat.Pinger          = (*Presence)(nil)
)

// NewPresence returns a presence service over client. The caller keeps ownership of
// client.
func NewPresence(client goredis.UniversalClient, cfg PresenceConfig) *Presence {
	if cfg.TTL <= 0 {
		cfg.TTL = chat.PresenceTTL
	}
	return &Presence{
		client:      client,
		prefix:      cfg.Prefix,
		ttl:         cfg.TTL,
		tags:        cfg.HashTags,
		touch:       goredis.NewScript(touchScript),
		focus:       goredis.NewScript(focusScript),
		viewers:     goredis.NewScript(viewersScript),
		leave:       goredis.NewScript(leaveScript),
		touchUser:   goredis.NewScript(touchUserScript),
		viewer:      goredis.NewScript(viewerScript),
		sessionRoom: goredis.NewScript(sessionRoomScript),
	}
}

// nowScript sets now (unix ms) from the server's clock. Redis 5 and later replicate a
// script's effects, not the script, so reading TIME before writing is allowed.
const nowScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

// latestScript defines latest(key): the highest score in a sorted set, or nil. A set's key
// expires with its latest member, so that sets of users and rooms gone quiet disappear.
const latestScript = `
local function latest(key)
  local top = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if #top == 0 then return nil end
  return tonumber(top[2])
end
`

// touchScript records a heartbeat.
// KEYS: status, last-active, presence:last-active, sessions, session rooms, viewers...
// ARGV: ttl ms, userId, sessionId, "userId|sessionId", roomId... (one per viewers key)
// Returns 1 when the user was offline.
const touchScript = nowScript + latestScript + `
local ttl = tonumber(ARGV[1])
local exp = now + ttl
local was = redis.call('EXISTS', KEYS[1])
redis.call('SET', KEYS[2], now)
redis.call('ZADD', KEYS[3], now, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
redis.call('ZADD', KEYS[4], exp, ARGV[3])
local last = latest(KEYS[4])
redis.call('PEXPIREAT', KEYS[4], last)
redis.call('SET', KEYS[1], 'online')
redis.call('PEXPIREAT', KEYS[1], last)
for i = 6, #KEYS do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  redis.call('ZADD', KEYS[i], exp, ARGV[4])
  redis.call('PEXPIREAT', KEYS[i], latest(KEYS[i]))
  redis.call('SADD', KEYS[5], ARGV[i - 1])
end
-- The session's list of rooms lives as long as its longest viewer entry may.
local pttl = redis.call('PTTL', KEYS[5])
if pttl == -1 or (pttl >= 0 and pttl < ttl) then
  redis.call('PEXPIRE', KEYS[5], ttl)
end
if was == 1 then return 0 end
return 1
`

// focusScript adds or refreshes a viewer entry.
// KEYS: viewers, session rooms. ARGV: ttl ms, "userId|sessionId", roomId.
const focusScript = nowScript + latestScript + `
local ttl = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + ttl, ARGV[2])
redis.call('PEXPIREAT', KEYS[1], latest(KEYS[1]))
redis.call('SADD', KEYS[2], ARGV[3])
local pttl = redis.call('PTTL', KEYS[2])
if pttl == -1 or pttl < ttl then
  redis.call('PEXPIRE', KEYS[2], ttl)
end
return 0
`

// viewersScript trims a room's expired viewer entries and returns the live ones.
// KEYS: viewers.
const viewersScript = nowScript + `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZRANGE', KEYS[1], 0, -1)
`

// leaveScript removes a session and its viewer entries.
// KEYS: status, sessions, session rooms, viewers... ARGV: sessionId, "userId|sessionId".
// Returns 1 when that took the user offline.
const leaveScript = nowScript + latestScript + `
local was = redis.call('EXISTS', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
for i = 4, #KEYS do
  redis.call('ZREM', KEYS[i], ARGV[2])
end
redis.call('DEL', KEYS[3])
local last = latest(KEYS[2])
if last == nil then
  redis.call('DEL', KEYS[1])
  return was
end
-- Another session lives on: the status now lasts as long as the latest of them.
redis.call('PEXPIREAT', KEYS[2], last)
if was == 1 then
  redis.call('PEXPIREAT', KEYS[1], last)
end
return 0
`

// Touch implements chat.PresenceService.
func (p *Presence) Touch(ctx context.Context, hb chat.Heartbeat) (bool, error) {
	rooms := slices.Compact(slices.Sorted(slices.Values(hb.Focused)))
	if p.tags {
		return p.touchTagged(ctx, hb, rooms)
	}
	keys := make([]string, 0, 5+len(rooms))
	keys = append(keys,
		p.statusKey(hb.UserID), p.lastActiveKey(hb.UserID), p.prefix+"presence:last-active",
		p.sessionsKey(hb.UserID), p.sessionRoomsKey(hb.UserID, hb.SessionID))
	args := make([]any, 0, 4+len(rooms))
	args = append(args, p.ttl.Milliseconds(), hb.UserID, hb.SessionID, viewerMember(hb.UserID, hb.SessionID))
	for _, r := range rooms {
		keys = append(keys, p.viewersKey(r))
		args = append(args, r)
	}
	came, err := p.touch.Run(ctx, p.client, keys, args...).Int()
	if err != nil {
		return false, fmt.Errorf("redis: presence touch %s: %w", hb.UserID, err)
	}
	return came == 1, nil
}

// Leave implements chat.PresenceService. The session's rooms are read first to name their
// keys to the script, under WATCH, so that a Focus in between makes it start over rather
// than leave a viewer entry behind.
func (p *Presence) Leave(ctx context.Context, userID, sessionID string) (bool, error) {
	roomsKey := p.sessionRoomsKey(userID, sessionID)
	var gone bool
	var rooms []string // with hash tags: the viewer entries to remove after the script
	leave := func(tx *goredis.Tx) error {
		var err error
		rooms, err = tx.SMembers(ctx, roomsKey).Result()
		if err != nil {
			return err
		}
		keys := make([]string, 0, 3+len(rooms))
		keys = append(keys, p.statusKey(userID), p.sessionsKey(userID), roomsKey)
		if !p.tags { // else the rooms' keys are in other slots: removed after
			for _, r := range rooms {
				keys = append(keys, p.viewersKey(r))
			}
		}
		var cmd *goredis.Cmd
		_, err = tx.TxPipelined(ctx, func(pipe goredis.Pipeliner) error {
			// EVAL, not EVALSHA: inside MULTI a missing script could not be retried.
			cmd = p.leave.Eval(ctx, pipe, keys, sessionID, viewerMember(userID, sessionID))
			return nil
		})
		if err != nil {
			return err
		}
		n, err := cmd.Int()
		gone = n == 1
		return err
	}
	const attempts = 10
	for range attempts {
		err := p.client.Watch(ctx, leave, roomsKey)
		if errors.Is(err, goredis.TxFailedErr) {
			continue // the session focused or unfocused a room meanwhile
		}
		if err != nil {
			return false, fmt.Errorf("redis: presence leave %s/%s: %w", userID, sessionID, err)
		}
		if p.tags && len(rooms) > 0 {
			if err := p.removeViewer(ctx, rooms, viewerMember(userID, sessionID)); err != nil {
				return gone, fmt.Errorf("redis: presence leave %s/%s: %w", userID, sessionID, err)
			}
		}
		return gone, nil
	}
	return false, fmt.Errorf("redis: presence leave %s/%s: %d attempts lost to concurrent focus changes", userID, sessionID, attempts)
}

// Statuses implements chat.PresenceService.
func (p *Presence) Statuses(ctx context.Context, userIDs []string) ([]chat.Presence, error) {
	if len(userIDs) == 0 {
		return []chat.Presence{}, nil
	}
	online := make([]*goredis.IntCmd, len(userIDs))
	last := make([]*goredis.StringCmd, len(userIDs))
	pipelined := p.client.TxPipelined
	if p.tags { // the users' keys are in several slots: no MULTI
		pipelined = p.client.Pipelined
	}
	_, err := pipelined(ctx, func(pipe goredis.Pipeliner) error {
		for i, id := range userIDs {
			online[i] = pipe.Exists(ctx, p.statusKey(id))
			last[i] = pipe.Get(ctx, p.lastActiveKey(id))
		}
		return nil
	})
	if err != nil && !errors.Is(err, goredis.Nil) {
		return nil, fmt.Errorf("redis: presence statuses: %w", err)
	}
	out := make([]chat.Presence, len(userIDs))
	for i, id := range userIDs {
		out[i] = chat.Presence{UserID: id, Status: chat.StatusOffline}
		if err := online[i].Err(); err != nil {
			return nil, fmt.Errorf("redis: presence status of %s: %w", id, err)
		}
		if online[i].Val() == 1 {
			out[i].Status = chat.StatusOnline
		}
		ms, err := last[i].Int64()
		switch {
		case errors.Is(err, goredis.Nil):
		case err != nil:
			return nil, fmt.Errorf("redis: presence last-active of %s: %w", id, err)
		default:
			out[i].LastActiveAt = chat.TimePtr(time.UnixMilli(ms))
		}
	}
	return out, nil
}

// Focus implements chat.PresenceService.
func (p *Presence) Focus(ctx context.Context, roomID, userID, sessionID string) error {
	if p.tags {
		return p.focusTagged(ctx, roomID, userID, sessionID)
	}
	keys := []string{p.viewersKey(roomID), p.sessionRoomsKey(userID, sessionID)}
	err := p.focus.Run(ctx, p.client, keys, p.ttl.Milliseconds(), viewerMember(userID, sessionID), roomID).Err()
	if err != nil {
		return fmt.Errorf("redis: presence focus %s on %s: %w", userID, roomID, err)
	}
	return nil
}

// Unfocus implements chat.PresenceService.
func (p *Presence) Unfocus(ctx context.Context, roomID, userID, sessionID string) error {
	pipelined := p.client.TxPipelined
	if p.tags { // the room's key and the session's are in two slots: no MULTI
		pipelined = p.client.Pipelined
	}
	_, err := pipelined(ctx, func(pipe goredis.Pipeliner) error {
		pipe.ZRem(ctx, p.viewersKey(roomID), viewerMember(userID, sessionID))
		pipe.SRem(ctx, p.sessionRoomsKey(userID, sessionID), roomID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis: presence unfocus %s on %s: %w", userID, roomID, err)
	}
	return nil
}

// Viewers implements chat.PresenceService. Users come out sorted.
func (p *Presence) Viewers(ctx context.Context, roomID string) ([]string, error) {
	members, err := p.viewers.Run(ctx, p.client, []string{p.viewersKey(roomID)}).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("redis: presence viewers of %s: %w", roomID, err)
	}
	ids := make([]string, 0, len(members))
	for _, m := range members {
		// User ids never hold "|"; session ids might, so the first one splits.
		userID, _, _ := strings.Cut(m, "|")
		ids = append(ids, userID)
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// Ping reports whether Redis answers, for readiness checks.
func (p *Presence) Ping(ctx context.Context) error {
	if err := p.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: ping: %w", err)
	}
	return nil
}

func (p *Presence) statusKey(userID string) string { return p.userKey(userID, "status") }

func (p *Presence) lastActiveKey(userID string) string { return p.userKey(userID, "last-active") }

func (p *Presence) sessionsKey(userID string) string { return p.userKey(userID, "sessions") }

func (p *Presence) sessionRoomsKey(userID, sessionID string) string {
	return p.userKey(userID, "session:"+sessionID+":rooms")
}

func (p *Presence) viewersKey(roomID string) string {
	if p.tags {
		return p.prefix + "room:{" + roomID + "}:viewers"
	}
	return p.prefix + "room:" + roomID + ":viewers"
}

// userKey is a user's key: user:<id>:<rest>, or user:{<id>}:<rest> with hash tags.
func (p *Presence) userKey(userID, rest string) string {
	if p.tags {
		return p.prefix + "user:{" + userID + "}:" + rest
	}
	return p.prefix + "user:" + userID + ":" + rest
}

func viewerMember(userID, sessionID string) string { return userID + "|" + sessionID }
