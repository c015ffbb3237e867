package redis_test

import (
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/chattest"
	"github.com/chatchat/chatchat/internal/testenv"
	"github.com/chatchat/chatchat/redis"
)

func TestPushQueue(t *testing.T) {
	srv := testenv.Redis(t)
	chattest.TestPushQueue(t, func(t *testing.T, claimIdle time.Duration) (chat.PushQueue, func(string) chat.PushConsumer) {
		prefix := srv.Prefix(t)
		cfg := redis.QueueConfig{Prefix: prefix, ClaimIdle: claimIdle}
		q := redis.NewQueue(srv.Client(t), cfg)
		return q, func(name string) chat.PushConsumer {
			// A client of its own, as a separate notification process has.
			return redis.NewQueue(srv.Client(t), cfg).Consumer(name)
		}
	})
}

// TestPushQueueSurvivesFlush checks that a consumer whose stream and group vanished (a
// FLUSHALL, a failover to an empty replica) recreates them and goes on receiving.
func TestPushQueueSurvivesFlush(t *testing.T) {
	srv := testenv.Redis(t)
	prefix := srv.Prefix(t)
	client := srv.Client(t)
	q := redis.NewQueue(client, redis.QueueConfig{Prefix: prefix, ClaimIdle: time.Second})
	c := q.Consumer("a")
	job := chat.PushJob{Message: chat.Message{ID: "m1"}}
	if err := q.Enqueue(t.Context(), job); err != nil {
		t.Fatal(err)
	}
	ds, err := c.Receive(t.Context(), 1)
	if err != nil || len(ds) != 1 {
		t.Fatalf("Receive = %v, %v", ds, err)
	}
	if err := client.Del(t.Context(), prefix+"pushJobs").Err(); err != nil {
		t.Fatal(err)
	}
	job.Message.ID = "m2"
	if err := q.Enqueue(t.Context(), job); err != nil {
		t.Fatal(err)
	}
	ds, err = c.Receive(t.Context(), 1)
	if err != nil || len(ds) != 1 || ds[0].Job.Message.ID != "m2" {
		t.Fatalf("Receive after the stream was deleted = %+v, %v; want m2", ds, err)
	}
	if n, err := q.Len(t.Context()); err != nil || n != 1 {
		t.Errorf("Len = %d, %v; want 1", n, err)
	}
	if err := c.Ack(t.Context(), ds[0].ID); err != nil {
		t.Fatal(err)
	}
	if n, err := q.Len(t.Context()); err != nil || n != 0 {
		t.Errorf("Len after Ack = %d, %v; want 0: acknowledged jobs are deleted", n, err)
	}
}
