package main

import (
	"context"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/fcm"
	"github.com/chatchat/chatchat/memory"
	"github.com/chatchat/chatchat/notify"
	"github.com/chatchat/chatchat/redis"
)

// pushStore is what push needs of the store: devices, their history, and the badge.
type pushStore interface {
	chat.PushStore
	chat.CursorStore
}

// wireNotify enables push notifications: the push queue that SendMessage fills (a Redis
// Stream with --redis-url, else in process), and the notification worker of the notify
// role. It returns the device store that the API server's device and notification-history
// endpoints use, or nil when push is off or there is no api role.
func (a *app) wireNotify(ctx context.Context, svc *chat.Service, reg prometheus.Registerer) (pushStore, error) {
	s, log := a.s, a.log
	devices, ok := a.b.store.(pushStore)
	if !ok {
		log.Warn("push notifications disabled: the store keeps no devices", "store", a.b.storeName)
		return nil, nil
	}
	roles, err := s.roles()
	if err != nil {
		return nil, err
	}

	var queue chat.PushQueue
	var consumer chat.PushConsumer
	switch {
	case s.RedisURL != "":
		// A client of its own: the worker's blocking reads hold a connection each. It
		// fails fast like the bus's: a hung Redis must not hold a send for the client's
		// default retries (go-redis adds a blocking read's own wait to its timeout).
		client, err := newRedisClient(s, false)
		if err != nil {
			return nil, err
		}
		a.cleanup = append(a.cleanup, func() { _ = client.Close() })
		q := redis.NewQueue(client, redis.QueueConfig{Prefix: s.RedisKeyPrefix, ClaimIdle: s.PushClaimTimeout, Logger: log})
		queue, consumer = q, q.Consumer(s.NodeID)
	case roles["notify"]:
		q := memory.NewQueue(memory.QueueConfig{ClaimIdle: s.PushClaimTimeout})
		queue, consumer = q, q.Consumer(s.NodeID)
	default:
		log.Warn("push notifications disabled: no notify role in this process and no --redis-url to reach one")
	}
	if queue != nil && roles["api"] {
		svc.SetPushQueue(queue)
	}

	if roles["notify"] && consumer != nil {
		var pusher chat.Pusher
		if s.FCMCredentials != "" || s.FCMCredentialsJSON != "" || s.FCMEndpoint != "" {
			sender, err := fcm.New(ctx, fcm.Config{
				CredentialsFile: s.FCMCredentials, CredentialsJSON: []byte(s.FCMCredentialsJSON),
				ProjectID: s.FCMProjectID, Endpoint: s.FCMEndpoint,
			})
			if err != nil {
				return nil, fmt.Errorf("--fcm-credentials / --fcm-credentials-json: %w", err)
			}
			pusher = sender
			log.Info("push notifications through FCM", "project", sender.Project())
		} else {
			log.Info("push notifications are logged and kept in the history: no --fcm-credentials or --fcm-credentials-json")
		}
		w := notify.NewWorker(notify.Config{
			Concurrency: s.NotifyConcurrency, Logger: log, Registerer: reg,
		}, consumer, a.b.store, devices, a.b.presence, pusher)
		wctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { _ = w.Run(wctx) })
		unsubscribe := a.b.bus.Subscribe(chat.TopicPush, w)
		a.cleanup = append(a.cleanup, func() { unsubscribe(); cancel(); wg.Wait() })
	}

	if !roles["api"] {
		return nil, nil
	}
	return devices, nil
}
