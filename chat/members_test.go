package chat_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/memory"
	"github.com/chatchat/chatchat/sqlite"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestMembershipCacheAcrossNodes: two API nodes share a store and a bus. A member removed
// through one node cannot post through the other as soon as its ROOM_UPDATED arrives; a
// node that misses the event trusts its cache for the TTL at most.
func TestMembershipCacheAcrossNodes(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "chat.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	bus := memory.NewBus()
	defer bus.Close()
	pres := memory.NewPresence(memory.PresenceConfig{})
	clk := &clock{t: time.Now()}
	cfg := chat.ServiceConfig{Now: clk.now, MembershipTTL: 10 * time.Second}
	node1 := chat.NewService(cfg, st, bus, pres)
	node2 := chat.NewService(cfg, st, bus, pres)
	deaf := chat.NewService(cfg, st, bus, pres) // never hears the bus
	defer bus.Subscribe(chat.TopicSessions, node1)()
	defer bus.Subscribe(chat.TopicSessions, node2)()

	var ids []string
	for _, name := range []string{"ann", "ben", "cy"} {
		u := chat.User{ID: chat.NewID(), Username: name, DisplayName: name, CreatedAt: chat.At(clk.now())}
		if err := st.CreateUser(ctx, u, "x"); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	ann, ben := ids[0], ids[1]
	room, _, err := node1.CreateRoom(ctx, ann, chat.NewRoom{Type: "group", MemberIDs: ids[1:]})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []*chat.Service{node1, deaf} { // both cache ben as a member
		if _, _, err := n.SendMessage(ctx, ben, room.ID, chat.NewMessage{Text: "hi"}); err != nil {
			t.Fatal(err)
		}
	}

	if err := node2.Leave(ctx, ben, room.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err = node1.SendMessage(ctx, ben, room.ID, chat.NewMessage{Text: "still here?"})
	if chat.ErrorCode(err) != "room_not_found" {
		t.Fatalf("node1 let a removed member post after the ROOM_UPDATED event: %v", err)
	}
	_, _, err = node2.SendMessage(ctx, ben, room.ID, chat.NewMessage{Text: "still here?"})
	if chat.ErrorCode(err) != "room_not_found" {
		t.Fatalf("the removing node let the member post: %v", err)
	}

	// The node that missed the event is stale until the TTL, and no longer.
	if _, _, err := deaf.SendMessage(ctx, ben, room.ID, chat.NewMessage{Text: "stale"}); err != nil {
		t.Fatalf("within the TTL the deaf node answers from its cache: %v", err)
	}
	clk.add(11 * time.Second)
	_, _, err = deaf.SendMessage(ctx, ben, room.ID, chat.NewMessage{Text: "after ttl"})
	if chat.ErrorCode(err) != "room_not_found" {
		t.Fatalf("past the TTL the deaf node still trusted its cache: %v", err)
	}

	// A member added through another node can post at once, and a bus gap clears the cache.
	if _, err := node2.AddMembers(ctx, ann, room.ID, []string{ben}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := node1.SendMessage(ctx, ben, room.ID, chat.NewMessage{Text: "back"}); err != nil {
		t.Fatalf("node1 refused a member added through node2: %v", err)
	}
	if err := st.RemoveMember(ctx, room.ID, ben); err != nil { // behind every node's back
		t.Fatal(err)
	}
	node1.HandleGap()
	_, _, err = node1.SendMessage(ctx, ben, room.ID, chat.NewMessage{Text: "after gap"})
	if chat.ErrorCode(err) != "room_not_found" {
		t.Fatalf("a bus gap did not clear the cache: %v", err)
	}
}
