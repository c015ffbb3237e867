package chattest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// waitLimit bounds how long a suite waits for something that must eventually happen. It is
// a guard against hanging, not a speed requirement: the machines are small and shared.
const waitLimit = 10 * time.Second

// BusFactory makes two handles on one bus for TestBus: see there.
type BusFactory = func(t *testing.T) (pub, sub chat.Bus)

// TestBus runs the contract every chat.Bus implementation must meet, one subtest per
// behaviour. newBus returns two handles on one bus: pub to publish and sub to subscribe,
// sub listening to every topic. For a networked bus they must be separate clients, as two
// nodes of a cluster are; an in-process bus may return the same bus twice. newBus
// registers its own cleanup on t.
func TestBus(t *testing.T, newBus BusFactory) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, newBus BusFactory)
	}{
		{"DeliversEnvelopeIntact", testBusDeliversEnvelopeIntact},
		{"MinimalEnvelope", testBusMinimalEnvelope},
		{"PublisherReceivesItsOwn", testBusPublisherReceivesItsOwn},
		{"SeveralSubscribers", testBusSeveralSubscribers},
		{"UnsubscribeStopsDelivery", testBusUnsubscribeStopsDelivery},
		{"PublishOrder", testBusPublishOrder},
		{"ConcurrentPublishers", testBusConcurrentPublishers},
		{"TopicsTravelApart", testBusTopicsTravelApart},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newBus)
		})
	}
}

func testBusDeliversEnvelopeIntact(t *testing.T, newBus BusFactory) {
	pub, sub := newBus(t)
	rec := NewEventRecorder()
	defer sub.Subscribe(chat.TopicSessions, rec)()
	ev := chat.Event{
		Type:    chat.EventMessageCreated,
		RoomID:  "room-1",
		Data:    json.RawMessage(`{"message":{"id":"m1","text":"héllo \"quoted\" \u003c/script\u003e"}}`),
		Origin:  "node-a",
		At:      1764036000123,
		Seq:     42,
		RoomIDs: []string{"room-1", "room-2"},
		UserIDs: []string{"user-1"},
		Exclude: "user-2",
	}
	publish(t, pub, ev)
	got := rec.WaitEvents(t, 1)
	assertEvent(t, got[0], ev)
}

func testBusMinimalEnvelope(t *testing.T, newBus BusFactory) {
	pub, sub := newBus(t)
	rec := NewEventRecorder()
	defer sub.Subscribe(chat.TopicSessions, rec)()
	ev := chat.Event{Type: chat.EventTyping, Data: json.RawMessage(`{}`), Origin: "n", At: 1}
	publish(t, pub, ev)
	assertEvent(t, rec.WaitEvents(t, 1)[0], ev)
}

func testBusPublisherReceivesItsOwn(t *testing.T, newBus BusFactory) {
	pub, _ := newBus(t)
	rec := NewEventRecorder()
	defer pub.Subscribe(chat.TopicSessions, rec)()
	ev := testEvent(1)
	publish(t, pub, ev)
	assertEvent(t, rec.WaitEvents(t, 1)[0], ev)
}

func testBusSeveralSubscribers(t *testing.T, newBus BusFactory) {
	pub, sub := newBus(t)
	recs := []*EventRecorder{NewEventRecorder(), NewEventRecorder(), NewEventRecorder(), NewEventRecorder()}
	for i, r := range recs {
		bus := sub
		if i == len(recs)-1 {
			bus = pub
		}
		defer bus.Subscribe(chat.TopicSessions, r)()
	}
	evs := []chat.Event{testEvent(1), testEvent(2)}
	for _, ev := range evs {
		publish(t, pub, ev)
	}
	for i, r := range recs {
		got := r.WaitEvents(t, len(evs))
		// The events are of two rooms, which need not arrive in publish order.
		for j := range evs {
			if !slices.ContainsFunc(got, func(ev chat.Event) bool { return eventsEqual(ev, evs[j]) }) {
				t.Errorf("subscriber %d got %+v, missing %+v", i, got, evs[j])
			}
		}
	}
}

func testBusUnsubscribeStopsDelivery(t *testing.T, newBus BusFactory) {
	pub, sub := newBus(t)
	gone, stays := NewEventRecorder(), NewEventRecorder()
	unsubscribe := sub.Subscribe(chat.TopicSessions, gone)
	defer sub.Subscribe(chat.TopicSessions, stays)()

	publish(t, pub, testEvent(1))
	gone.WaitEvents(t, 1)
	stays.WaitEvents(t, 1)

	unsubscribe()
	unsubscribe() // a second call must be harmless
	publish(t, pub, testEvent(2))
	// A third event that arrives at the remaining subscriber proves the second was
	// delivered everywhere it was going to be.
	publish(t, pub, testEvent(3))
	stays.WaitEvents(t, 3)
	if n := len(gone.Events()); n != 1 {
		t.Fatalf("unsubscribed handler got %d events, want 1 (none after unsubscribe)", n)
	}
}

func testBusPublishOrder(t *testing.T, newBus BusFactory) {
	pub, sub := newBus(t)
	rec := NewEventRecorder()
	defer sub.Subscribe(chat.TopicSessions, rec)()
	const n = 200
	for i := range n {
		publish(t, pub, testEvent(i))
	}
	got := rec.WaitEvents(t, n)
	// Order holds within a room: a bus may carry rooms apart (the Redis bus's room mode).
	last := map[string]int64{}
	for i, ev := range got {
		if prev, ok := last[ev.RoomID]; ok && ev.At <= prev {
			t.Fatalf("event %d of room %s has at=%d after at=%d: events arrived out of publish order", i, ev.RoomID, ev.At, prev)
		}
		last[ev.RoomID] = ev.At
	}
}

func testBusConcurrentPublishers(t *testing.T, newBus BusFactory) {
	pub, sub := newBus(t)
	rec := NewEventRecorder()
	defer sub.Subscribe(chat.TopicSessions, rec)()
	const publishers, each = 4, 50
	var wg sync.WaitGroup
	errs := make(chan error, publishers*each)
	for p := range publishers {
		wg.Go(func() {
			for i := range each {
				ev := testEvent(i)
				ev.Origin = fmt.Sprintf("node-%d", p)
				if err := pub.Publish(context.Background(), ev); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Publish: %v", err)
	}
	got := rec.WaitEvents(t, publishers*each)
	// Each publisher's own events keep their order in each room even when interleaved.
	last := map[string]int64{}
	seen := map[int64]int{}
	for _, ev := range got {
		k := ev.Origin + "/" + ev.RoomID
		if prev, ok := last[k]; ok && ev.At <= prev {
			t.Fatalf("from %s in %s got at=%d after at=%d", ev.Origin, ev.RoomID, ev.At, prev)
		}
		last[k] = ev.At
		seen[ev.At]++
	}
	for i := range each {
		if seen[int64(i)] != publishers {
			t.Fatalf("event at=%d arrived %d times, want %d", i, seen[int64(i)], publishers)
		}
	}
}

// testBusTopicsTravelApart: a subscriber hears its topic's events only (a chat server never
// receives the notification servers' FCM_TOKEN_MESSAGE), and each topic keeps its order.
func testBusTopicsTravelApart(t *testing.T, newBus BusFactory) {
	pub, sub := newBus(t)
	sessions, push := NewEventRecorder(), NewEventRecorder()
	defer sub.Subscribe(chat.TopicSessions, sessions)()
	defer sub.Subscribe(chat.TopicPush, push)()
	fcm := chat.Event{Type: chat.EventFCMTokenMessage, RoomID: "room-1", Data: json.RawMessage(`{"n":1}`), Origin: "n", At: 1}
	if fcm.Topic() != chat.TopicPush || testEvent(1).Topic() != chat.TopicSessions {
		t.Fatalf("topics: FCM_TOKEN_MESSAGE %d, MESSAGE_CREATED %d", fcm.Topic(), testEvent(1).Topic())
	}
	publish(t, pub, fcm)
	publish(t, pub, testEvent(2))
	fcm2 := fcm
	fcm2.At = 3
	publish(t, pub, fcm2)
	gotPush := push.WaitEvents(t, 2)
	assertEvent(t, gotPush[0], fcm)
	assertEvent(t, gotPush[1], fcm2)
	// fcm2 was published last: now that it is in, every earlier event has arrived
	// wherever it was going.
	assertEvent(t, sessions.WaitEvents(t, 1)[0], testEvent(2))
	if n := len(sessions.Events()); n != 1 {
		t.Fatalf("the sessions' subscriber got %d events, want only MESSAGE_CREATED", n)
	}
	if n := len(push.Events()); n != 2 {
		t.Fatalf("the push subscriber got %d events, want the two FCM_TOKEN_MESSAGEs", n)
	}
}

// EventRecorder is a chat.EventHandler that keeps what it receives, for tests.
type EventRecorder struct {
	mu     sync.Mutex
	events []chat.Event
	gaps   int
	notify chan struct{} // closed and replaced on every call, to wake waiters
}

var _ chat.EventHandler = (*EventRecorder)(nil)

// NewEventRecorder returns an empty recorder.
func NewEventRecorder() *EventRecorder {
	return &EventRecorder{notify: make(chan struct{})}
}

// HandleEvent implements chat.EventHandler.
func (r *EventRecorder) HandleEvent(ev chat.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	r.wake()
}

// HandleGap implements chat.EventHandler.
func (r *EventRecorder) HandleGap() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gaps++
	r.wake()
}

func (r *EventRecorder) wake() {
	close(r.notify)
	r.notify = make(chan struct{})
}

// Events returns a copy of the events received so far.
func (r *EventRecorder) Events() []chat.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]chat.Event(nil), r.events...)
}

// Gaps returns how many times HandleGap was called.
func (r *EventRecorder) Gaps() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.gaps
}

// WaitEvents waits until at least n events have arrived and returns them; it fails tb when
// they do not arrive within a generous limit.
func (r *EventRecorder) WaitEvents(tb testing.TB, n int) []chat.Event {
	tb.Helper()
	r.waitFor(tb, fmt.Sprintf("%d events", n), func() bool { return len(r.events) >= n })
	return r.Events()
}

// WaitGaps waits until HandleGap has been called at least n times.
func (r *EventRecorder) WaitGaps(tb testing.TB, n int) {
	tb.Helper()
	r.waitFor(tb, fmt.Sprintf("%d gaps", n), func() bool { return r.gaps >= n })
}

// waitFor waits until cond, evaluated under r.mu, holds.
func (r *EventRecorder) waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	timeout := time.NewTimer(waitLimit)
	defer timeout.Stop()
	for {
		r.mu.Lock()
		ok, notify := cond(), r.notify
		have, gaps := len(r.events), r.gaps
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-notify:
		case <-timeout.C:
			tb.Fatalf("waited %s for %s; have %d events and %d gaps", waitLimit, what, have, gaps)
		}
	}
}

func testEvent(i int) chat.Event {
	return chat.Event{
		Type:   chat.EventMessageCreated,
		RoomID: "room-" + fmt.Sprint(i%3),
		Data:   json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)),
		Origin: "node-a",
		At:     int64(i),
	}
}

func publish(tb testing.TB, bus chat.Bus, ev chat.Event) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := bus.Publish(ctx, ev); err != nil {
		tb.Fatalf("Publish(%s): %v", ev.Type, err)
	}
}

func assertEvent(tb testing.TB, got, want chat.Event) {
	tb.Helper()
	if !eventsEqual(got, want) {
		tb.Fatalf("got event\n%+v\nwant\n%+v\n(data %s, want %s)", got, want, got.Data, want.Data)
	}
}

// eventsEqual compares envelopes field by field, and Data as JSON values: a transport may
// re-encode the payload (escaping, spacing) without changing what it says.
func eventsEqual(got, want chat.Event) bool {
	var gd, wd any
	if json.Unmarshal(got.Data, &gd) != nil || json.Unmarshal(want.Data, &wd) != nil {
		return false
	}
	got.Data, want.Data = nil, nil
	return reflect.DeepEqual(gd, wd) && reflect.DeepEqual(got, want)
}
