package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/memory"
	"github.com/chatchat/chatchat/mongo"
	"github.com/chatchat/chatchat/redis"
	"github.com/chatchat/chatchat/secretsmanager"
	"github.com/chatchat/chatchat/sqlite"
	"github.com/prometheus/client_golang/prometheus"
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

// openBackends opens the adapters; the bus's metrics are registered on reg (nil: not
// registered).
func openBackends(ctx context.Context, s *settings, log *slog.Logger, reg prometheus.Registerer) (_ *backends, err error) {
	b := &backends{checks: map[string]chat.Pinger{}}
	defer func() {
		if err != nil {
			b.close(log)
		}
	}()

	switch {
	case s.MongoURI != "":
		opts := []mongo.Option{mongo.WithLogger(log)}
		username, password := s.MongoUsername, s.MongoPassword
		if s.MongoSecretARN != "" {
			secret, err := secretsmanager.New(ctx, secretsmanager.Config{SecretID: s.MongoSecretARN})
			if err != nil {
				return nil, fmt.Errorf("--mongo-secret-arn: %w", err)
			}
			opts = append(opts, mongo.WithCredentials(secret.Credentials))
			if username == "" && password == "" {
				if username, password, err = secret.Credentials(ctx); err != nil {
					return nil, fmt.Errorf("--mongo-secret-arn: %w", err)
				}
			}
		}
		uri, err := mongoURI(s.MongoURI, username, password)
		if err != nil {
			return nil, err
		}
		st, err := mongo.Open(ctx, uri, s.MongoDatabase, opts...)
		if err != nil {
			return nil, fmt.Errorf("open MongoDB store: %w", err)
		}
		b.store, b.storeName = st, "mongo"
		b.closers = append(b.closers, st)
		b.checks["store"] = st
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
		client, err := newRedisClient(s, true)
		if err != nil {
			return nil, err
		}
		b.closers = append(b.closers, client)
		topics, err := busTopics(s)
		if err != nil {
			return nil, err
		}
		mode, err := s.busMode()
		if err != nil {
			return nil, err
		}
		var bus interface {
			chat.Bus
			chat.Pinger
			io.Closer
		}
		if mode == busRoom {
			bus, err = redis.NewRoomBus(ctx, client, redis.RoomBusConfig{Prefix: s.RedisKeyPrefix, Topics: topics,
				PublishTimeout: time.Second, SubscribeTimeout: time.Second, ReleaseDelay: s.BusReleaseDelay,
				Logger: log, Metrics: redis.NewMetrics(reg)})
		} else {
			bus, err = redis.NewBus(ctx, client, redis.BusConfig{Prefix: s.RedisKeyPrefix, Topics: topics,
				PublishTimeout: time.Second, Logger: log, Metrics: redis.NewMetrics(reg)})
		}
		if err != nil {
			return nil, fmt.Errorf("redis bus: %w", err)
		}
		b.bus, b.busName = bus, "redis"
		if mode == busRoom {
			b.busName = "redis, per room"
		}
		b.closers = append(b.closers, bus)
		pres := redis.NewPresence(client, redis.PresenceConfig{Prefix: s.RedisKeyPrefix, TTL: s.PresenceTTL, HashTags: s.RedisCluster})
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

// busTopics returns the bus topics a process hears, by its roles: the chat server and the
// API's membership cache hear the sessions' events, the notification worker the push
// topic; a notify-only process hears no session traffic at all.
func busTopics(s *settings) ([]chat.Topic, error) {
	roles, err := s.roles()
	if err != nil {
		return nil, err
	}
	var topics []chat.Topic
	if roles["api"] || roles["ws"] {
		topics = append(topics, chat.TopicSessions)
	}
	if roles["notify"] {
		topics = append(topics, chat.TopicPush)
	}
	return topics, nil
}

// newRedisClient opens a client of --redis-url: one server, or with --redis-cluster a Redis
// Cluster (the URL names a node, more with addr= parameters). It fails fast when Redis is
// down: a request that publishes must not wait out the client's default retries (seconds);
// the store already has the message. With commandTimeout a hung Redis (connections open,
// nothing answered) is bounded the same way: every command waits a second at most, and so
// does a free connection; without, for blocking reads, which add their own wait.
func newRedisClient(s *settings, commandTimeout bool) (goredis.UniversalClient, error) {
	const limit = time.Second
	if !s.RedisCluster {
		opts, err := redisOptions(s)
		if err != nil {
			return nil, err
		}
		opts.DialTimeout, opts.DialerRetries, opts.MaxRetries = limit, 1, 1
		if commandTimeout {
			opts.ReadTimeout, opts.WriteTimeout, opts.PoolTimeout = limit, limit, limit
			opts.ContextTimeoutEnabled = true // and a caller's shorter deadline wins
		}
		return goredis.NewClient(opts), nil
	}
	opts, err := goredis.ParseClusterURL(s.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("--redis-url (a cluster's): %w", err)
	}
	if s.RedisPassword != "" {
		if opts.Password != "" {
			return nil, errors.New("--redis-url has a password and --redis-password is set too: use one")
		}
		opts.Password = s.RedisPassword
	}
	opts.DialTimeout, opts.DialerRetries, opts.MaxRetries = limit, 1, 1
	if commandTimeout {
		opts.ReadTimeout, opts.WriteTimeout, opts.PoolTimeout = limit, limit, limit
		opts.ContextTimeoutEnabled = true
	}
	return goredis.NewClusterClient(opts), nil
}

// redisOptions parses --redis-url (rediss:// turns TLS on, verified against the host
// name) and adds --redis-password: on AWS the ElastiCache auth token comes from Secrets
// Manager as a variable of its own, and the URL carries only the host.
func redisOptions(s *settings) (*goredis.Options, error) {
	opts, err := goredis.ParseURL(s.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("--redis-url: %w", err)
	}
	if s.RedisPassword != "" {
		if opts.Password != "" {
			return nil, errors.New("--redis-url has a password and --redis-password is set too: use one")
		}
		opts.Password = s.RedisPassword
	}
	return opts, nil
}

// mongoURI adds the user name and password to the URI: on AWS they come from the Secrets
// Manager secret as separate variables, and the URI carries only the host and options.
func mongoURI(uri, username, password string) (string, error) {
	if username == "" && password == "" {
		return uri, nil
	}
	u, err := url.Parse(uri)
	if err != nil {
		return "", fmt.Errorf("--mongo-uri: %w", err)
	}
	if u.User != nil {
		return "", errors.New("--mongo-uri has credentials and --mongo-username/--mongo-password (or --mongo-secret-arn) are set too: use one")
	}
	u.User = url.UserPassword(username, password)
	return u.String(), nil
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
