package chattest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// SuitePresenceTTL is the TTL the presence suite asks for: short, so that expiry is checked
// for real without a slow suite, and long enough that heartbeats on a loaded machine keep up.
const SuitePresenceTTL = time.Second

// PresenceFactory makes two nodes of one presence service for TestPresence: see there.
type PresenceFactory = func(t *testing.T, ttl time.Duration) (a, b chat.PresenceService)

// TestPresence runs the contract every chat.PresenceService implementation must meet.
// newPresence returns two nodes, a and b, that share state with the given TTL: for Redis two
// clients on one server with one key prefix, in process the same instance twice. Each call
// must return state that no other call sees. Expiry is checked with real time, so the
// implementation must use the wall clock.
func TestPresence(t *testing.T, newPresence PresenceFactory) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, newPresence PresenceFactory)
	}{
		{"TouchMakesOnline", testPresenceTouchMakesOnline},
		{"LeaveLastSessionGoesOffline", testPresenceLeaveLastSessionGoesOffline},
		{"LeaveUnknownSessionKeepsOthers", testPresenceLeaveUnknownSessionKeepsOthers},
		{"StatusExpiresWithoutHeartbeats", testPresenceStatusExpiresWithoutHeartbeats},
		{"LeaveKeepsOnlineUntilOtherSessionExpires", testPresenceLeaveKeepsOnlineUntilOtherSessionExpires},
		{"StatusesOrderAndUnknown", testPresenceStatusesOrderAndUnknown},
		{"FocusUnfocusViewers", testPresenceFocusUnfocusViewers},
		{"TouchWithFocusedAddsViewers", testPresenceTouchWithFocusedAddsViewers},
		{"ViewersExpireWithoutHeartbeats", testPresenceViewersExpireWithoutHeartbeats},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newPresence)
		})
	}
}

func testPresenceTouchMakesOnline(t *testing.T, newPresence PresenceFactory) {
	ttl := SuitePresenceTTL
	a, b := newPresence(t, ttl)
	before := time.Now()
	came := touch(t, a, chat.Heartbeat{UserID: "u1", SessionID: "s1"})
	after := time.Now()
	if !came {
		t.Errorf("first Touch: cameOnline = false, want true")
	}
	ps := statuses(t, b, "u1")
	if ps[0].UserID != "u1" || ps[0].Status != chat.StatusOnline {
		t.Fatalf("Statuses = %+v, want u1 online", ps[0])
	}
	assertLastActive(t, ps[0], before, after)

	if touch(t, a, chat.Heartbeat{UserID: "u1", SessionID: "s1"}) {
		t.Errorf("second Touch of the same session: cameOnline = true, want false")
	}
	if touch(t, b, chat.Heartbeat{UserID: "u1", SessionID: "s2"}) {
		t.Errorf("Touch of a second session on another node: cameOnline = true, want false")
	}
}

func testPresenceLeaveLastSessionGoesOffline(t *testing.T, newPresence PresenceFactory) {
	ttl := SuitePresenceTTL
	a, b := newPresence(t, ttl)
	touch(t, a, chat.Heartbeat{UserID: "u1", SessionID: "s1"})
	touch(t, b, chat.Heartbeat{UserID: "u1", SessionID: "s2"})

	if leave(t, a, "u1", "s1") {
		t.Errorf("Leave of one of two sessions: wentOffline = true, want false")
	}
	if got := statuses(t, a, "u1")[0].Status; got != chat.StatusOnline {
		t.Fatalf("after Leave of one of two sessions: status %q, want online", got)
	}
	// The last session lives on the other node: it is counted all the same.
	if !leave(t, a, "u1", "s2") {
		t.Errorf("Leave of the last session: wentOffline = false, want true")
	}
	ps := statuses(t, b, "u1")[0]
	if ps.Status != chat.StatusOffline {
		t.Fatalf("after Leave of the last session: status %q, want offline at once", ps.Status)
	}
	if ps.LastActiveAt == nil {
		t.Errorf("after Leave: lastActiveAt = nil, want the last heartbeat's time kept")
	}
	if leave(t, b, "u1", "s2") {
		t.Errorf("Leave of a session already gone: wentOffline = true, want false")
	}
	if !touch(t, b, chat.Heartbeat{UserID: "u1", SessionID: "s3"}) {
		t.Errorf("Touch after going offline: cameOnline = false, want true")
	}
}

func testPresenceLeaveUnknownSessionKeepsOthers(t *testing.T, newPresence PresenceFactory) {
	ttl := SuitePresenceTTL
	a, _ := newPresence(t, ttl)
	touch(t, a, chat.Heartbeat{UserID: "u1", SessionID: "s1"})
	if leave(t, a, "u1", "nope") {
		t.Errorf("Leave of an unknown session: wentOffline = true, want false")
	}
	if got := statuses(t, a, "u1")[0].Status; got != chat.StatusOnline {
		t.Fatalf("status %q, want online", got)
	}
	if leave(t, a, "u2", "s1") {
		t.Errorf("Leave of a user never seen: wentOffline = true, want false")
	}
}

func testPresenceStatusExpiresWithoutHeartbeats(t *testing.T, newPresence PresenceFactory) {
	ttl := SuitePresenceTTL
	a, b := newPresence(t, ttl)
	touch(t, a, chat.Heartbeat{UserID: "u1", SessionID: "s1"})
	touch(t, a, chat.Heartbeat{UserID: "u1", SessionID: "s2"})
	time.Sleep(ttl + ttl/2)
	ps := statuses(t, b, "u1")[0]
	if ps.Status != chat.StatusOffline {
		t.Fatalf("after the TTL without heartbeats: status %q, want offline", ps.Status)
	}
	if ps.LastActiveAt == nil {
		t.Errorf("after expiry: lastActiveAt = nil, want it kept")
	}
	// The node died: its sessions no longer count, so a new session comes online and
	// closing it takes the user offline again.
	if !touch(t, b, chat.Heartbeat{UserID: "u1", SessionID: "s3"}) {
		t.Errorf("Touch after expiry: cameOnline = false, want true")
	}
	if !leave(t, b, "u1", "s3") {
		t.Errorf("Leave of the only live session (others expired): wentOffline = false, want true")
	}
}

func testPresenceLeaveKeepsOnlineUntilOtherSessionExpires(t *testing.T, newPresence PresenceFactory) {
	ttl := SuitePresenceTTL
	a, b := newPresence(t, ttl)
	touch(t, a, chat.Heartbeat{UserID: "u1", SessionID: "dead"})
	// A live node heartbeats its session while the other node is dead.
	stop := heartbeat(t, b, chat.Heartbeat{UserID: "u1", SessionID: "live"}, ttl/5)
	time.Sleep(ttl + ttl/2)
	stop()
	// The dead session has expired, so closing the live one is the last.
	if !leave(t, b, "u1", "live") {
		t.Errorf("Leave of the last live session: wentOffline = false, want true")
	}
	if got := statuses(t, a, "u1")[0].Status; got != chat.StatusOffline {
		t.Fatalf("status %q, want offline", got)
	}
}

func testPresenceStatusesOrderAndUnknown(t *testing.T, newPresence PresenceFactory) {
	ttl := SuitePresenceTTL
	a, b := newPresence(t, ttl)
	touch(t, a, chat.Heartbeat{UserID: "u2", SessionID: "s1"})
	touch(t, b, chat.Heartbeat{UserID: "u1", SessionID: "s2"})
	touch(t, b, chat.Heartbeat{UserID: "u3", SessionID: "s3"})
	leave(t, b, "u3", "s3")
	ps := statuses(t, a, "u1", "ghost", "u2", "u3")
	want := []struct {
		id, status string
		seen       bool
	}{
		{"u1", chat.StatusOnline, true},
		{"ghost", chat.StatusOffline, false},
		{"u2", chat.StatusOnline, true},
		{"u3", chat.StatusOffline, true},
	}
	if len(ps) != len(want) {
		t.Fatalf("Statuses returned %d entries, want %d", len(ps), len(want))
	}
	for i, w := range want {
		if ps[i].UserID != w.id || ps[i].Status != w.status || (ps[i].LastActiveAt != nil) != w.seen {
			t.Errorf("Statuses[%d] = {%s %s lastActiveAt=%v}, want {%s %s seen=%v}",
				i, ps[i].UserID, ps[i].Status, ps[i].LastActiveAt, w.id, w.status, w.seen)
		}
	}
	if empty, err := a.Statuses(context.Background(), nil); err != nil || len(empty) != 0 {
		t.Errorf("Statuses(nil) = %v, %v; want empty, nil", empty, err)
	}
}

func testPresenceFocusUnfocusViewers(t *testing.T, newPresence PresenceFactory) {
	ttl := SuitePresenceTTL
	a, b := newPresence(t, ttl)
	ctx := context.Background()
	touch(t, a, chat.Heartbeat{UserID: "u1", SessionID: "s1"})
	touch(t, b, chat.Heartbeat{UserID: "u1", SessionID: "s2"})
	touch(t, b, chat.Heartbeat{UserID: "u2", SessionID: "s3"})
	assertViewers(t, a, "r1")

	mustDo(t, "Focus", a.Focus(ctx, "r1", "u1", "s1"))
	mustDo(t, "Focus", b.Focus(ctx, "r1", "u1", "s2"))
	mustDo(t, "Focus", b.Focus(ctx, "r1", "u2", "s3"))
	mustDo(t, "Focus", b.Focus(ctx, "r2", "u2", "s3"))
	assertViewers(t, a, "r1", "u1", "u2") // u1 once, though with two sessions
	assertViewers(t, a, "r2", "u2")

	mustDo(t, "Unfocus", a.Unfocus(ctx, "r1", "u1", "s1"))
	assertViewers(t, b, "r1", "u1", "u2") // u1 still views it from s2
	mustDo(t, "Unfocus", b.Unfocus(ctx, "r1", "u1", "s2"))
	assertViewers(t, b, "r1", "u2")
	mustDo(t, "Unfocus of what is not focused", b.Unfocus(ctx, "r1", "u1", "s2"))

	// Closing a session removes it from every room it viewed.
	leave(t, a, "u2", "s3")
	assertViewers(t, a, "r1")
	assertViewers(t, a, "r2")
}

func testPresenceTouchWithFocusedAddsViewers(t *testing.T, newPresence PresenceFactory) {
	ttl := SuitePresenceTTL
	a, b := newPresence(t, ttl)
	touch(t, a, chat.Heartbeat{UserID: "u1", SessionID: "s1", Focused: []string{"r1", "r2"}})
	assertViewers(t, b, "r1", "u1")
	assertViewers(t, b, "r2", "u1")
	leave(t, b, "u1", "s1")
	assertViewers(t, a, "r1")
	assertViewers(t, a, "r2")
}

func testPresenceViewersExpireWithoutHeartbeats(t *testing.T, newPresence PresenceFactory) {
	ttl := SuitePresenceTTL
	a, b := newPresence(t, ttl)
	ctx := context.Background()
	// Node a dies after its session focused r1; node b keeps heartbeating its own
	// session, whose heartbeats list r1 as focused.
	touch(t, a, chat.Heartbeat{UserID: "dead", SessionID: "s1"})
	mustDo(t, "Focus", a.Focus(ctx, "r1", "dead", "s1"))
	live := chat.Heartbeat{UserID: "live", SessionID: "s2", Focused: []string{"r1"}}
	touch(t, b, live)
	mustDo(t, "Focus", b.Focus(ctx, "r1", "live", "s2"))
	assertViewers(t, b, "r1", "dead", "live")

	stop := heartbeat(t, b, live, ttl/5)
	time.Sleep(ttl + ttl/2)
	assertViewers(t, b, "r1", "live")
	stop()
	assertStatus(t, a, "dead", chat.StatusOffline)
	assertStatus(t, a, "live", chat.StatusOnline)
}

// heartbeat touches hb every interval until the returned function is called, which waits
// for the goroutine to stop.
func heartbeat(tb testing.TB, p chat.PresenceService, hb chat.Heartbeat, interval time.Duration) (stop func()) {
	tb.Helper()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			select {
			case <-done:
				return
			case <-ticker.C:
				if _, err := p.Touch(context.Background(), hb); err != nil {
					tb.Errorf("heartbeat Touch: %v", err)
					return
				}
			}
		}
	})
	var once sync.Once
	stop = func() {
		once.Do(func() {
			close(done)
			wg.Wait()
		})
	}
	tb.Cleanup(stop)
	return stop
}

func touch(tb testing.TB, p chat.PresenceService, hb chat.Heartbeat) bool {
	tb.Helper()
	came, err := p.Touch(context.Background(), hb)
	if err != nil {
		tb.Fatalf("Touch(%s, %s): %v", hb.UserID, hb.SessionID, err)
	}
	return came
}

func leave(tb testing.TB, p chat.PresenceService, userID, sessionID string) bool {
	tb.Helper()
	gone, err := p.Leave(context.Background(), userID, sessionID)
	if err != nil {
		tb.Fatalf("Leave(%s, %s): %v", userID, sessionID, err)
	}
	return gone
}

func statuses(tb testing.TB, p chat.PresenceService, userIDs ...string) []chat.Presence {
	tb.Helper()
	ps, err := p.Statuses(context.Background(), userIDs)
	if err != nil {
		tb.Fatalf("Statuses(%v): %v", userIDs, err)
	}
	if len(ps) != len(userIDs) {
		tb.Fatalf("Statuses(%v) returned %d entries", userIDs, len(ps))
	}
	return ps
}

func assertStatus(tb testing.TB, p chat.PresenceService, userID, want string) {
	tb.Helper()
	if got := statuses(tb, p, userID)[0].Status; got != want {
		tb.Fatalf("status of %s = %q, want %q", userID, got, want)
	}
}

func assertViewers(tb testing.TB, p chat.PresenceService, roomID string, want ...string) {
	tb.Helper()
	got, err := p.Viewers(context.Background(), roomID)
	if err != nil {
		tb.Fatalf("Viewers(%s): %v", roomID, err)
	}
	got = slices.Clone(got)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		tb.Fatalf("Viewers(%s) = %v, want %v", roomID, got, want)
	}
}

// assertLastActive checks that lastActiveAt lies between two readings of the clock taken
// around the heartbeat, give or take a second for a server whose clock is its own.
func assertLastActive(tb testing.TB, p chat.Presence, before, after time.Time) {
	tb.Helper()
	if p.LastActiveAt == nil {
		tb.Fatalf("lastActiveAt of %s is nil, want set", p.UserID)
	}
	at := p.LastActiveAt.Time
	if at.Before(before.Add(-time.Second)) || at.After(after.Add(time.Second)) {
		tb.Errorf("lastActiveAt of %s = %v, want between %v and %v", p.UserID, at, before, after)
	}
}

func mustDo(tb testing.TB, what string, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
}
