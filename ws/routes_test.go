package ws

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/chatchat/chatchat/chat"
	"github.com/prometheus/client_golang/prometheus"
)

// routeLog records what the server tells its Routes.
type routeLog struct {
	mu    sync.Mutex
	calls []string
}

func (r *routeLog) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, s)
}

func (r *routeLog) HoldRoom(id string)    { r.add("+room " + id) }
func (r *routeLog) ReleaseRoom(id string) { r.add("-room " + id) }
func (r *routeLog) HoldUser(id string)    { r.add("+user " + id) }
func (r *routeLog) ReleaseUser(id string) { r.add("-user " + id) }

// take returns the calls so far, sorted, and forgets them.
func (r *routeLog) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Sorted(slices.Values(r.calls))
	r.calls = nil
	return out
}

// newRoutedTestEnv is newTestEnv with routes set before the server serves.
func newRoutedTestEnv(tb testing.TB, routes Routes) *testEnv {
	tb.Helper()
	c := newTestChat()
	reg := prometheus.NewRegistry()
	a := &testAuth{}
	srv := New(Config{}, c, a, slog.New(slog.DiscardHandler), reg)
	srv.SetRoutes(routes)
	c.publish = srv.HandleEvent
	hs := httptest.NewServer(srv)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			tb.Errorf("shutdown: %v", err)
		}
		hs.Close()
	})
	return &testEnv{srv: srv, http: hs, chat: c, auth: a, reg: reg}
}

// TestRoutesFollowSessions: the server holds a room from its first local session to its
// last, and a user likewise, however the sessions come and go (connect, ROOM_UPDATED,
// close).
func TestRoutesFollowSessions(t *testing.T) {
	log := &routeLog{}
	e := newRoutedTestEnv(t, log)
	e.chat.setRooms("alice", "r1", "r2")
	e.chat.setRooms("bob", "r1")
	alice := e.dial(t, "alice")
	if got, want := log.take(), []string{"+room r1", "+room r2", "+user alice"}; !slices.Equal(got, want) {
		t.Fatalf("after alice connected: %q, want %q", got, want)
	}
	alice2 := e.dial(t, "alice")
	bob := e.dial(t, "bob")
	if got, want := log.take(), []string{"+user bob"}; !slices.Equal(got, want) {
		t.Fatalf("after a second session of alice and bob's: %q, want %q", got, want)
	}

	// bob is added to r3, which nobody here was in, then removed from it.
	update := func(room string, members ...string) {
		data, _ := json.Marshal(chat.RoomUpdated{Room: chat.Room{ID: room, Type: chat.RoomGroup, MemberIDs: members}})
		e.srv.HandleEvent(chat.Event{Type: chat.EventRoomUpdated, RoomID: room, Data: data})
	}
	update("r3", "bob", "carol")
	bob.expect(chat.EventRoomUpdated)
	if got, want := log.take(), []string{"+room r3"}; !slices.Equal(got, want) {
		t.Fatalf("after bob was added to r3: %q, want %q", got, want)
	}
	update("r3", "carol")
	if got, want := log.take(), []string{"-room r3"}; !slices.Equal(got, want) {
		t.Fatalf("after bob was removed from r3: %q, want %q", got, want)
	}

	alice.conn.Close()
	bob.conn.Close()
	eventually(t, "the sessions to close", func() bool { return e.chat.closedCount() == 2 })
	if got, want := log.take(), []string{"-user bob"}; !slices.Equal(got, want) {
		t.Fatalf("after bob and one session of alice left: %q, want %q", got, want)
	}
	alice2.conn.Close()
	eventually(t, "the last session to close", func() bool { return e.chat.closedCount() == 3 })
	if got, want := log.take(), []string{"-room r1", "-room r2", "-user alice"}; !slices.Equal(got, want) {
		t.Fatalf("after the last session left: %q, want %q", got, want)
	}
}

// TestHandleRoomGapResyncs: a room's gap re-syncs that room alone, from the seq its
// sessions last got, an empty room's from the start.
func TestHandleRoomGapResyncs(t *testing.T) {
	e := newTestEnv(t, Config{})
	e.chat.setRooms("alice", "r1", "r2")
	alice := e.dial(t, "alice")

	// Published before the room's subscription took hold: never heard.
	e.chat.addMessage(message("r1", 1, "before the subscription"))
	e.chat.addMessage(message("r2", 1, "another room's"))
	e.srv.HandleRoomGap("r1")
	if m := decodeMessage(t, alice.expect(chat.EventMessageCreated)); m.RoomID != "r1" || m.Seq != 1 {
		t.Fatalf("got %s/%d, want r1/1", m.RoomID, m.Seq)
	}

	e.srv.HandleEvent(messageEvent(t, "r1", 2, "live"))
	e.chat.addMessage(message("r1", 2, "live"))
	alice.expect(chat.EventMessageCreated)
	e.chat.addMessage(message("r1", 3, "lost"))
	e.srv.HandleRoomGap("r1")
	if m := decodeMessage(t, alice.expect(chat.EventMessageCreated)); m.RoomID != "r1" || m.Seq != 3 {
		t.Fatalf("got %s/%d, want r1/3", m.RoomID, m.Seq)
	}
	e.srv.HandleRoomGap("elsewhere") // no session here: nothing to do
	eventually(t, "the re-sync goroutine to end", func() bool {
		e.srv.mu.Lock()
		defer e.srv.mu.Unlock()
		return !e.srv.resync.running
	})
	alice.expectNothingQueued()
	e.chat.mu.Lock()
	defer e.chat.mu.Unlock()
	if slices.Contains(e.chat.after, "r2") {
		t.Fatalf("re-synced r2, which had no gap: %q", e.chat.after)
	}
}
