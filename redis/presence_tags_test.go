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

// TestPresenceHashTags runs the presence contract with hash tags, on one server.
func TestPresenceHashTags(t *testing.T) { testPresenceHashTags(t, singleRedis(t)) }

// TestPresenceOnCluster runs it on a Redis Cluster, where it needs them.
func TestPresenceOnCluster(t *testing.T) { testPresenceHashTags(t, clusterRedis(t)) }

func testPresenceHashTags(t *testing.T, env roomEnv) {
	chattest.TestPresence(t, func(t *testing.T, ttl time.Duration) (chat.PresenceService, chat.PresenceService) {
		cfg := redis.PresenceConfig{Prefix: env.prefix(t), TTL: ttl, HashTags: true}
		return redis.NewPresence(env.client(t), cfg), redis.NewPresence(env.client(t), cfg)
	})
}

// TestPresenceHashTagsKeyLayout: with hash tags, each user's keys and each room's carry the
// id as their tag, and Leave removes them as without.
func TestPresenceHashTagsKeyLayout(t *testing.T) {
	srv := testenv.Redis(t)
	prefix := srv.Prefix(t)
	rdb := srv.Client(t)
	p := redis.NewPresence(rdb, redis.PresenceConfig{Prefix: prefix, HashTags: true})
	ctx := context.Background()
	if came, err := p.Touch(ctx, chat.Heartbeat{UserID: "u1", SessionID: "s1", Focused: []string{"r1"}}); err != nil || !came {
		t.Fatalf("Touch = %t, %v; want came online", came, err)
	}
	ms, err := rdb.Get(ctx, prefix+"user:{u1}:last-active").Int64()
	if err != nil {
		t.Fatalf("user:{u1}:last-active: %v", err)
	}
	checks := []struct {
		key  string
		want string
	}{{"user:{u1}:status", "string"}, {"user:{u1}:sessions", "zset"}, {"user:{u1}:session:s1:rooms", "set"}, {"room:{r1}:viewers", "zset"}}
	for _, c := range checks {
		if typ := rdb.Type(ctx, prefix+c.key).Val(); typ != c.want {
			t.Errorf("%s is a %q, want %s", c.key, typ, c.want)
		}
	}
	if s, err := rdb.ZScore(ctx, prefix+"presence:last-active", "u1").Result(); err != nil || int64(s) != ms {
		t.Errorf("presence:last-active score of u1 = %v, %v; want %d", s, err, ms)
	}
	if _, err := p.Leave(ctx, "u1", "s1"); err != nil {
		t.Fatal(err)
	}
	for _, c := range checks {
		if n := rdb.Exists(ctx, prefix+c.key).Val(); n != 0 {
			t.Errorf("%s still exists after the last session left", c.key)
		}
	}
}
