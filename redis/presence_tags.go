package redis

import (
	"context"
	"fmt"

	goredis "github.com/redis/go-redis/v9"

	"github.com/chatchat/chatchat/chat"
)

// With hash tags (PresenceConfig.HashTags) a user's keys share a slot, each room's
// viewers have one of their own, and presence:last-active another: an operation is one
// script on the user's keys, then one step per other slot. Between the steps another node
// may see the user online before their viewer entries exist, or a viewer entry outlive
// its session by at most the TTL: what a cluster costs, bounded by the entries' expiry
// scores.

// touchUserScript is touchScript's part on the user's own keys.
// KEYS: status, last-active, sessions, session rooms. ARGV: ttl ms, sessionId, roomId...
// Returns {1 when the user was offline else 0, the server's now in unix ms}.
const touchUserScript = nowScript + latestScript + `
local ttl = tonumber(ARGV[1])
local exp = now + ttl
local was = redis.call('EXISTS', KEYS[1])
redis.call('SET', KEYS[2], now)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
redis.call('ZADD', KEYS[3], exp, ARGV[2])
local last = latest(KEYS[3])
redis.call('PEXPIREAT', KEYS[3], last)
redis.call('SET', KEYS[1], 'online')
redis.call('PEXPIREAT', KEYS[1], last)
for i = 3, #ARGV do
  redis.call('SADD', KEYS[4], ARGV[i])
end
local pttl = redis.call('PTTL', KEYS[4])
if pttl == -1 or (pttl >= 0 and pttl < ttl) then
  redis.call('PEXPIRE', KEYS[4], ttl)
end
local came = 1
if was == 1 then came = 0 end
return {came, now}
`

// viewerScript adds or refreshes one viewer entry.
// KEYS: viewers. ARGV: ttl ms, "userId|sessionId".
const viewerScript = nowScript + latestScript + `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[2])
redis.call('PEXPIREAT', KEYS[1], latest(KEYS[1]))
return 0
`

// sessionRoomScript records that a session views a room, as focusScript does.
// KEYS: session rooms. ARGV: ttl ms, roomId.
const sessionRoomScript = `
local ttl = tonumber(ARGV[1])
redis.call('SADD', KEYS[1], ARGV[2])
local pttl = redis.call('PTTL', KEYS[1])
if pttl == -1 or pttl < ttl then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return 0
`

func (p *Presence) touchTagged(ctx context.Context, hb chat.Heartbeat, rooms []string) (bool, error) {
	keys := []string{p.statusKey(hb.UserID), p.lastActiveKey(hb.UserID), p.sessionsKey(hb.UserID),
		p.sessionRoomsKey(hb.UserID, hb.SessionID)}
	args := make([]any, 0, 2+len(rooms))
	args = append(args, p.ttl.Milliseconds(), hb.SessionID)
	for _, r := range rooms {
		args = append(args, r)
	}
	res, err := p.touchUser.Run(ctx, p.client, keys, args...).Int64Slice()
	if err == nil && len(res) != 2 {
		err = fmt.Errorf("script answered %v", res)
	}
	if err != nil {
		return false, fmt.Errorf("redis: presence touch %s: %w", hb.UserID, err)
	}
	// The session's rooms are recorded first, so that a Leave racing this finds them.
	member := viewerMember(hb.UserID, hb.SessionID)
	_, err = p.client.Pipelined(ctx, func(pipe goredis.Pipeliner) error {
		pipe.ZAdd(ctx, p.prefix+"presence:last-active", goredis.Z{Score: float64(res[1]), Member: hb.UserID})
		for _, r := range rooms {
			p.viewer.Eval(ctx, pipe, []string{p.viewersKey(r)}, p.ttl.Milliseconds(), member)
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("redis: presence touch %s: %w", hb.UserID, err)
	}
	return res[0] == 1, nil
}

func (p *Presence) focusTagged(ctx context.Context, roomID, userID, sessionID string) error {
	err := p.sessionRoom.Run(ctx, p.client, []string{p.sessionRoomsKey(userID, sessionID)}, p.ttl.Milliseconds(), roomID).Err()
	if err == nil {
		err = p.viewer.Run(ctx, p.client, []string{p.viewersKey(roomID)}, p.ttl.Milliseconds(), viewerMember(userID, sessionID)).Err()
	}
	if err != nil {
		return fmt.Errorf("redis: presence focus %s on %s: %w", userID, roomID, err)
	}
	return nil
}

// removeViewer removes a session's viewer entry from each room, one slot at a time.
func (p *Presence) removeViewer(ctx context.Context, rooms []string, member string) error {
	_, err := p.client.Pipelined(ctx, func(pipe goredis.Pipeliner) error {
		for _, r := range rooms {
			pipe.ZRem(ctx, p.viewersKey(r), member)
		}
		return nil
	})
	return err
}
