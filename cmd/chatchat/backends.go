package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/memory"
	"github.com/chatchat/chatchat/redis"
	"github.com/chatchat/chatchat/sqlite"
	goredis "github.com/redis/go-redis/v9"
)

// backends are the adapters a process runs on: embedded (SQLite, in-process bus and
// presence) by default, Redis and MongoDB in a cluster.
type backends struct {
	store     chat.Store
	bus       chat.Bus
	presence  chat.PresenceService
	checks    map[string]chat.Pinger
	closers   []io.Closer
	storeName string
	// sweep, when set, drops expired in-process presence entries; run periodically.
	sweep   func()
	busName string
}

func openBackends(ctx context.Context, s *settings, log *slog.Logger) (_ *backends, err error) {
	b := &backends{checks: map[string]chat.Pinger{}}
	defer func() {
		if err != nil {
			b.close(log)
		}
	}()

	switch {
	case s.MongoURI != "":
		return nil, errors.New("--mongo-uri: MongoDB storage is not built yet")
	default:
		st, err := sqlite.Open(ctx, dbPath(s.DataDir), sqlite.WithLogger(log))
		if err != nil {
			return nil, fmt.Errorf("open embedded store: %w", err)
		}
		b.store, b.storeName = st, "sqlite"
		b.closers = append(b.closers, st)
		b.checks["store"] = st
	}

	switch {
	case s.RedisURL != "":
		opts, err := goredis.ParseURL(s.RedisURL)
		if err != nil {
			return nil, fmt.Errorf("--redis-url: %w", err)
		}
		// Fail fast when Redis is down: a request that publishes must not wait out the
		// client's default retries (seconds); the store already has the message.
		opts.DialTimeout = time.Second
		opts.DialerRetries = 1
		opts.MaxRetries = 1
		client := goredis.NewClient(opts)
		b.closers = append(b.closers, client)
		bus, err := redis.NewBus(ctx, client, redis.BusConfig{Prefix: s.RedisKeyPrefix, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("redis bus: %w", err)
		}
		b.bus, b.busName = bus, "redis"
		b.closers = append(b.closers, bus)
		pres := redis.NewPresence(client, redis.PresenceConfig{Prefix: s.RedisKeyPrefix, TTL: s.PresenceTTL})
		b.presence = pres
		b.checks["redis"] = bus
	default:
		bus := memory.NewBus()
		b.bus, b.busName = bus, "memory"
		b.closers = append(b.closers, bus)
		pres := memory.NewPresence(memory.PresenceConfig{TTL: s.PresenceTTL})
		b.presence = pres
		b.sweep = pres.Sweep
	}
	return b, nil
}

// close releases the backends in reverse order of opening.
func (b *backends) close(log *slog.Logger) {
	for i := len(b.closers) - 1; i >= 0; i-- {
		if err := b.closers[i].Close(); err != nil {
			log.Warn("close", "err", err)
		}
	}
	b.closers = nil
}
