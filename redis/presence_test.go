package redis_test

import (
	"context"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/chattest"
	"github.com/chatchat/chatchat/internal/testenv"
	"github.com/chatchat/chatchat/redis"
)

func TestPresence(t *testing.T) {
	srv := testenv.Redis(t)
	chattest.TestPresence(t, func(t *testing.T, ttl time.Duration) (chat.PresenceService, chat.PresenceService) {
		cfg := redis.PresenceConfig{Prefix: srv.Prefix(t), TTL: ttl}
		// Two clients on one server with one prefix: two nodes of a cluster.
		return redis.NewPresence(srv.Client(t), cfg), redis.NewPresence(srv.Client(t), cfg)
	})
}

// TestPresenceKeyLayout checks the seed's key names and types, which operators and other
// tools read.
func TestPresenceKeyLayout(t *testing.T) {
	srv := testenv.Redis(t)
	prefix := srv.Prefix(t)
	rdb := srv.Client(t)
	p := redis.NewPresence(rdb, redis.PresenceConfig{Prefix: prefix})
	ctx := context.Background()
	before := time.Now().UnixMilli()
	if _, err := p.Touch(ctx, chat.Heartbeat{UserID: "u1", SessionID: "s1", Focused: []string{"r1"}}); err != nil {
		t.Fatal(err)
	}
	after := time.Now().UnixMilli()

	if v, err := rdb.Get(ctx, prefix+"user:u1:status").Result(); err != nil || v != "online" {
		t.Errorf("user:u1:status = %q, %v; want online", v, err)
	}
	if ttl := rdb.PTTL(ctx, prefix+"user:u1:status").Val(); ttl <= 0 || ttl > chat.PresenceTTL {
		t.Errorf("user:u1:status TTL = %v, want within the presence TTL", ttl)
	}
	ms, err := rdb.Get(ctx, prefix+"user:u1:last-active").Int64()
	if err != nil || ms < before-1000 || ms > after+1000 {
		t.Errorf("user:u1:last-active = %d, %v; want unix ms near now", ms, err)
	}
	if ttl := rdb.PTTL(ctx, prefix+"user:u1:last-active").Val(); ttl != -1 {
		t.Errorf("user:u1:last-active TTL = %v, want none", ttl)
	}
	if s, err := rdb.ZScore(ctx, prefix+"presence:last-active", "u1").Result(); err != nil || int64(s) != ms {
		t.Errorf("presence:last-active score of u1 = %v, %v; want %d", s, err, ms)
	}
	if s, err := rdb.ZScore(ctx, prefix+"user:u1:sessions", "s1").Result(); err != nil || int64(s) != ms+chat.PresenceTTL.Milliseconds() {
		t.Errorf("user:u1:sessions score of s1 = %v, %v; want expiry %d", s, err, ms+chat.PresenceTTL.Milliseconds())
	}
	if s, err := rdb.ZScore(ctx, prefix+"room:r1:viewers", "u1|s1").Result(); err != nil || int64(s) != ms+chat.PresenceTTL.Milliseconds() {
		t.Errorf("room:r1:viewers score of u1|s1 = %v, %v; want expiry %d", s, err, ms+chat.PresenceTTL.Milliseconds())
	}

	if _, err := p.Leave(ctx, "u1", "s1"); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"user:u1:status", "user:u1:sessions", "room:r1:viewers", "user:u1:session:s1:rooms"} {
		if n := rdb.Exists(ctx, prefix+k).Val(); n != 0 {
			t.Errorf("%s still exists after the last session left", k)
		}
	}
	if n := rdb.Exists(ctx, prefix+"user:u1:last-active").Val(); n != 1 {
		t.Errorf("user:u1:last-active gone after Leave, want kept")
	}
}

func TestPresencePing(t *testing.T) {
	srv := testenv.StartRedis(t)
	p := redis.NewPresence(srv.Client(t), redis.PresenceConfig{})
	if err := p.Ping(context.Background()); err != nil {
		t.Fatalf("Ping while up: %v", err)
	}
	srv.Stop()
	if err := p.Ping(context.Background()); err == nil {
		t.Fatalf("Ping with Redis down = nil, want an error")
	}
}
