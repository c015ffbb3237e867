package memory_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/memory"
)

// clock is a hand-moved clock for the injectable Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestPresenceInjectedClock(t *testing.T) {
	ctx := context.Background()
	clk := &clock{now: time.Date(2026, 11, 24, 10, 0, 0, 123456789, time.UTC)}
	p := memory.NewPresence(memory.PresenceConfig{Now: clk.Now}) // default TTL: the seed's 60 s

	if came, err := p.Touch(ctx, chat.Heartbeat{UserID: "u1", SessionID: "s1", Focused: []string{"r1"}}); err != nil || !came {
		t.Fatalf("Touch = %v, %v; want true, nil", came, err)
	}
	ps, _ := p.Statuses(ctx, []string{"u1"})
	if ps[0].Status != chat.StatusOnline || !ps[0].LastActiveAt.Equal(time.Date(2026, 11, 24, 10, 0, 0, 123000000, time.UTC)) {
		t.Fatalf("Statuses = %+v %v, want online at the heartbeat's millisecond", ps[0], ps[0].LastActiveAt)
	}

	clk.Advance(chat.PresenceTTL - time.Millisecond)
	ps, _ = p.Statuses(ctx, []string{"u1"})
	if ps[0].Status != chat.StatusOnline {
		t.Fatalf("just before the TTL: %s, want online", ps[0].Status)
	}
	clk.Advance(time.Millisecond)
	ps, _ = p.Statuses(ctx, []string{"u1"})
	if ps[0].Status != chat.StatusOffline {
		t.Fatalf("at the TTL: %s, want offline", ps[0].Status)
	}
	if v, _ := p.Viewers(ctx, "r1"); len(v) != 0 {
		t.Fatalf("viewers at the TTL = %v, want none", v)
	}
}

func TestPresenceSweep(t *testing.T) {
	ctx := context.Background()
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	p := memory.NewPresence(memory.PresenceConfig{TTL: time.Minute, Now: clk.Now})
	for _, id := range []string{"u1", "u2", "u3"} {
		if _, err := p.Touch(ctx, chat.Heartbeat{UserID: id, SessionID: "s-" + id, Focused: []string{"r-" + id}}); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(30 * time.Second)
	if _, err := p.Touch(ctx, chat.Heartbeat{UserID: "u3", SessionID: "s-u3", Focused: []string{"r-u3"}}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(45 * time.Second) // u1 and u2 expired, u3 has 15 s left
	p.Sweep()

	ps, _ := p.Statuses(ctx, []string{"u1", "u2", "u3"})
	for i, want := range []string{chat.StatusOffline, chat.StatusOffline, chat.StatusOnline} {
		if ps[i].Status != want {
			t.Errorf("%s: %s, want %s", ps[i].UserID, ps[i].Status, want)
		}
		if ps[i].LastActiveAt == nil {
			t.Errorf("%s: last activity lost by Sweep", ps[i].UserID)
		}
	}
	if v, _ := p.Viewers(ctx, "r-u1"); len(v) != 0 {
		t.Errorf("r-u1 viewers after Sweep = %v, want none", v)
	}
	if v, _ := p.Viewers(ctx, "r-u3"); len(v) != 1 {
		t.Errorf("r-u3 viewers after Sweep = %v, want [u3]", v)
	}
	// A swept user coming back is a user coming online.
	if came, _ := p.Touch(ctx, chat.Heartbeat{UserID: "u1", SessionID: "s-new"}); !came {
		t.Errorf("Touch after Sweep: cameOnline false, want true")
	}
}
