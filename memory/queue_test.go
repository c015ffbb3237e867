package memory_test

import (
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/chattest"
	"github.com/chatchat/chatchat/memory"
)

func TestPushQueue(t *testing.T) {
	chattest.TestPushQueue(t, func(t *testing.T, claimIdle time.Duration) (chat.PushQueue, func(string) chat.PushConsumer) {
		q := memory.NewQueue(memory.QueueConfig{ClaimIdle: claimIdle})
		return q, func(name string) chat.PushConsumer { return q.Consumer(name) }
	})
}

func TestPushQueueFull(t *testing.T) {
	q := memory.NewQueue(memory.QueueConfig{MaxLen: 2})
	for i := range 3 {
		err := q.Enqueue(t.Context(), chat.PushJob{Message: chat.Message{ID: "m"}})
		if full := i == 2; full != (chat.ErrorKind(err) == chat.Unavailable) {
			t.Errorf("Enqueue %d of a queue of 2: %v", i+1, err)
		}
	}
}
