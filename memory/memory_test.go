package memory_test

import (
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/chattest"
	"github.com/chatchat/chatchat/memory"
)

func TestBus(t *testing.T) {
	chattest.TestBus(t, func(t *testing.T) (chat.Bus, chat.Bus) {
		b := memory.NewBus()
		t.Cleanup(func() { _ = b.Close() })
		return b, b
	})
}

func TestPresence(t *testing.T) {
	chattest.TestPresence(t, func(t *testing.T, ttl time.Duration) (chat.PresenceService, chat.PresenceService) {
		p := memory.NewPresence(memory.PresenceConfig{TTL: ttl})
		return p, p
	})
}
