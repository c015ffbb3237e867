package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/fcm"
	"github.com/chatchat/chatchat/fcm/fcmtest"
	"github.com/chatchat/chatchat/internal/testenv"
	"github.com/chatchat/chatchat/memory"
	"github.com/chatchat/chatchat/notify"
	"github.com/chatchat/chatchat/redis"
	"github.com/chatchat/chatchat/sqlite"
)

// env is one deployment's parts: a real store, presence, queue and chat service, with
// users and rooms made through the service as the API makes them.
type env struct {
	store    *sqlite.Store
	presence chat.PresenceService
	queue    chat.PushQueue
	svc      *chat.Service
	reg      *prometheus.Registry
	// pending returns the jobs queued and not acknowledged.
	pending func() int
}

func newEnv(tb testing.TB) *env {
	tb.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "chat.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	q := memory.NewQueue(memory.QueueConfig{ClaimIdle: time.Minute})
	e := &env{store: store, presence: memory.NewPresence(memory.PresenceConfig{}), queue: q,
		reg: prometheus.NewRegistry(), pending: q.Len}
	e.newService()
	return e
}

func (e *env) newService() {
	bus := memory.NewBus()
	e.svc = chat.NewService(chat.ServiceConfig{Logger: quiet()}, e.store, bus, e.presence)
	e.svc.SetPushQueue(e.queue)
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func (e *env) user(tb testing.TB, name string) chat.User {
	tb.Helper()
	u := chat.User{ID: chat.NewID(), Username: name, DisplayName: name, CreatedAt: chat.At(time.Now())}
	if err := e.store.CreateUser(context.Background(), u, "x"); err != nil {
		tb.Fatal(err)
	}
	return u
}

func (e *env) device(tb testing.TB, u chat.User, platform, token string) {
	tb.Helper()
	if _, err := e.store.RegisterDevice(context.Background(), chat.Device{Token: token, UserID: u.ID, Platform: platform, CreatedAt: chat.At(time.Now())}); err != nil {
		tb.Fatal(err)
	}
}

func (e *env) room(tb testing.TB, typ, name string, by chat.User, others ...chat.User) chat.Room {
	tb.Helper()
	var ids []string
	for _, u := range others {
		ids = append(ids, u.ID)
	}
	r, _, err := e.svc.CreateRoom(context.Background(), by.ID, chat.NewRoom{Type: typ, Name: name, MemberIDs: ids})
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func (e *env) send(tb testing.TB, from chat.User, roomID, text string) chat.Message {
	tb.Helper()
	m, _, err := e.svc.SendMessage(context.Background(), from.ID, roomID, chat.NewMessage{Text: text})
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func (e *env) online(tb testing.TB, p chat.PresenceService, u chat.User) {
	tb.Helper()
	if _, err := p.Touch(context.Background(), chat.Heartbeat{UserID: u.ID, SessionID: chat.NewID()}); err != nil {
		tb.Fatal(err)
	}
}

// run starts a worker on consumer until the test ends.
func (e *env) run(tb testing.TB, consumer chat.PushConsumer, pusher chat.Pusher, cfg notify.Config) (stop func()) {
	tb.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet()
	}
	if cfg.RetryBase == 0 {
		cfg.RetryBase = 10 * time.Millisecond
	}
	w := notify.NewWorker(cfg, consumer, e.store, e.store, e.presence, pusher)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					tb.Errorf("Run: %v", err)
				}
			case <-time.After(30 * time.Second):
				tb.Error("worker did not stop")
			}
		})
	}
	tb.Cleanup(stop)
	return stop
}

func sender(tb testing.TB, srv *fcmtest.Server) *fcm.Sender {
	tb.Helper()
	s, err := fcm.New(context.Background(), fcm.Config{Endpoint: srv.Endpoint, ProjectID: "chatchat-test"})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// drained waits until every queued job was acknowledged: after it no worker pushes more.
func (e *env) drained(tb testing.TB) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for e.pending() > 0 {
		if time.Now().After(deadline) {
			tb.Fatalf("%d push jobs still pending", e.pending())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *env) history(tb testing.TB, u chat.User) []chat.Notification {
	tb.Helper()
	ns, _, err := e.store.Notifications(context.Background(), u.ID, "", 100)
	if err != nil {
		tb.Fatal(err)
	}
	return ns
}

func sameJSON(tb testing.TB, what string, got []byte, want string) {
	tb.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		tb.Fatalf("%s: want: %v", what, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		tb.Errorf("%s:\n got %s\nwant %s", what, gb, wb)
	}
}

func metric(tb testing.TB, reg *prometheus.Registry, name string, labels ...string) float64 {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return 0
}

// TestOnlyOfflineUnmutedOthersArePushed: the sender, an online member, a muted member and
// a member without devices get nothing; every device of the others gets the exact push.
func TestOnlyOfflineUnmutedOthersArePushed(t *testing.T) {
	e := newEnv(t)
	ann, bob, cat, dan, eve, fay := e.user(t, "Ann"), e.user(t, "Bob"), e.user(t, "Cat"), e.user(t, "Dan"), e.user(t, "Eve"), e.user(t, "Fay")
	e.device(t, ann, chat.PlatformAndroid, "ann-phone")
	e.device(t, bob, chat.PlatformAndroid, "bob-phone")
	e.device(t, bob, chat.PlatformIOS, "bob-tablet")
	e.device(t, cat, chat.PlatformAndroid, "cat-phone")
	e.device(t, dan, chat.PlatformAndroid, "dan-phone")
	e.device(t, eve, chat.PlatformWeb, "eve-browser")
	r := e.room(t, chat.RoomGroup, "Team", ann, bob, cat, dan, eve, fay)
	other := e.room(t, chat.RoomGroup, "Other", ann, bob)
	e.send(t, ann, other.ID, "earlier") // bob's badge counts his other rooms too
	if _, err := e.svc.SetMuted(context.Background(), dan.ID, r.ID, true); err != nil {
		t.Fatal(err)
	}
	e.online(t, e.presence, cat)

	srv := fcmtest.NewServer(t)
	e.run(t, e.queue.(*memory.Queue).Consumer("w1"), sender(t, srv), notify.Config{Registerer: e.reg})
	m := e.send(t, ann, r.ID, "hello\n  world")
	e.drained(t)

	byToken := map[string]fcmtest.Request{}
	for _, req := range srv.Requests() {
		if req.MessageID() != m.ID {
			continue
		}
		if _, dup := byToken[req.Token]; dup {
			t.Errorf("%s pushed twice", req.Token)
		}
		byToken[req.Token] = req
	}
	if len(byToken) != 3 {
		t.Errorf("pushed %d devices, want bob's two and eve's: %v", len(byToken), keys(byToken))
	}
	data := fmt.Sprintf(`{"roomId":%q,"messageId":%q,"seq":"1"}`, r.ID, m.ID)
	sameJSON(t, "bob's android push", byToken["bob-phone"].Body, fmt.Sprintf(`{"message":{
		"token":"bob-phone","data":%s,"notification":{"title":"Team","body":"Ann: hello world"},
		"android":{"collapse_key":%q,"priority":"high","notification":{"tag":%q,"notification_count":2}}}}`, data, r.ID, r.ID))
	sameJSON(t, "bob's ios push", byToken["bob-tablet"].Body, fmt.Sprintf(`{"message":{
		"token":"bob-tablet","data":%s,"notification":{"title":"Team","body":"Ann: hello world"},
		"apns":{"headers":{"apns-collapse-id":%q},"payload":{"aps":{"badge":2,"sound":"default","thread-id":%q}}}}}`, data, m.ID, r.ID))
	sameJSON(t, "eve's web push", byToken["eve-browser"].Body, fmt.Sprintf(`{"message":{
		"token":"eve-browser","data":%s,"notification":{"title":"Team","body":"Ann: hello world"},
		"webpush":{"headers":{"Topic":%q},"notification":{"tag":%q}}}}`, data, r.ID, r.ID))

	var hs []chat.Notification
	for _, n := range e.history(t, bob) {
		if n.MessageID == m.ID {
			hs = append(hs, n)
		}
	}
	if len(hs) != 2 {
		t.Fatalf("bob's history of the message = %+v, want 2 entries", hs)
	}
	for _, n := range hs {
		if n.Status != chat.NotificationSent || n.MessageID != m.ID || n.RoomID != r.ID || n.Seq != 1 ||
			n.Title != "Team" || n.Body != "Ann: hello world" || n.Error != "" {
			t.Errorf("bob's entry = %+v", n)
		}
	}
	for _, u := range []chat.User{ann, cat, dan, fay} {
		if hs := e.history(t, u); len(hs) != 0 {
			t.Errorf("%s has history %+v, want none", u.Username, hs)
		}
	}
	if got := metric(t, e.reg, "chatchat_push_sent_total", "status", "sent"); got != 5 {
		// 3 for the message above, 2 (bob's devices) for "earlier".
		t.Errorf("pushes sent = %v, want 5", got)
	}
	if got := metric(t, e.reg, "chatchat_push_queue_lag_seconds"); got != 2 {
		t.Errorf("queue lag samples = %v, want 2", got)
	}
}

func keys(m map[string]fcmtest.Request) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestDirectRoomPhotoFromQueue: a direct room's push is titled with the sender; media
// messages say what was sent. The job is queued as the API queues it.
func TestDirectRoomAndMedia(t *testing.T) {
	e := newEnv(t)
	ann, bob := e.user(t, "Ann"), e.user(t, "Bob")
	e.device(t, bob, chat.PlatformAndroid, "bob-phone")
	r := e.room(t, chat.RoomDirect, "", ann, bob)
	srv := fcmtest.NewServer(t)
	e.run(t, e.queue.(*memory.Queue).Consumer("w1"), sender(t, srv), notify.Config{})
	for i, typ := range []string{chat.MessageImage, chat.MessageFile} {
		m := chat.Message{ID: chat.NewID(), RoomID: r.ID, Seq: int64(i + 1), SenderID: ann.ID, Type: typ, CreatedAt: chat.At(time.Now())}
		if err := e.queue.Enqueue(context.Background(), chat.PushJob{Message: m}); err != nil {
			t.Fatal(err)
		}
	}
	e.drained(t)
	want := map[string]bool{"Ann sent a photo": true, "Ann sent a file": true}
	for _, n := range e.history(t, bob) {
		if n.Title != "Ann" || !want[n.Body] {
			t.Errorf("entry %q / %q, want title Ann and one of %v", n.Title, n.Body, want)
		}
		delete(want, n.Body)
	}
	if len(want) > 0 {
		t.Errorf("no push for %v", want)
	}
}

// TestLoggedWithoutProvider: with no push provider, pushes are recorded as logged.
func TestLoggedWithoutProvider(t *testing.T) {
	e := newEnv(t)
	ann, bob := e.user(t, "Ann"), e.user(t, "Bob")
	e.device(t, bob, chat.PlatformIOS, "bob-phone")
	r := e.room(t, chat.RoomDirect, "", ann, bob)
	e.run(t, e.queue.(*memory.Queue).Consumer("w1"), nil, notify.Config{Registerer: e.reg})
	m := e.send(t, ann, r.ID, "hi")
	e.drained(t)
	hs := e.history(t, bob)
	if len(hs) != 1 || hs[0].Status != chat.NotificationLogged || hs[0].MessageID != m.ID || hs[0].Platform != chat.PlatformIOS ||
		hs[0].Title != "Ann" || hs[0].Body != "Ann: hi" {
		t.Errorf("history = %+v, want one logged entry", hs)
	}
	if got := metric(t, e.reg, "chatchat_push_sent_total", "status", "logged"); got != 1 {
		t.Errorf("logged pushes = %v, want 1", got)
	}
}

// TestProviderErrors runs each of FCM's error answers through the worker.
func TestProviderErrors(t *testing.T) {
	tests := []struct {
		name     string
		replies  []fcmtest.Reply // in order; then success
		requests int
		status   string
		errText  string
		deleted  bool
		retried  string
	}{
		{"UnregisteredDeletesToken", []fcmtest.Reply{{Status: 404, Code: "UNREGISTERED"}}, 1, chat.NotificationFailed, chat.PushUnregistered, true, ""},
		{"InvalidArgumentIsNotRetried", []fcmtest.Reply{{Status: 400, Code: "INVALID_ARGUMENT"}}, 1, chat.NotificationFailed, chat.PushInvalidArgument, false, ""},
		{"InternalIsRetried", []fcmtest.Reply{{Status: 500, Code: "INTERNAL"}, {Status: 500, Code: "INTERNAL"}}, 3, chat.NotificationSent, "", false, chat.PushInternal},
		{"InternalGivesUp", []fcmtest.Reply{{Status: 500}, {Status: 500}, {Status: 500}}, 3, chat.NotificationFailed, chat.PushInternal, false, chat.PushInternal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ann, bob := e.user(t, "Ann"), e.user(t, "Bob")
			e.device(t, bob, chat.PlatformAndroid, "bob-phone")
			e.device(t, bob, chat.PlatformWeb, "bob-browser")
			r := e.room(t, chat.RoomDirect, "", ann, bob)
			srv := fcmtest.NewServer(t)
			var mu sync.Mutex
			n := 0
			srv.SetReply(func(req fcmtest.Request) fcmtest.Reply {
				if req.Token != "bob-phone" {
					return fcmtest.Reply{}
				}
				mu.Lock()
				defer mu.Unlock()
				n++
				if n <= len(tc.replies) {
					return tc.replies[n-1]
				}
				return fcmtest.Reply{}
			})
			e.run(t, e.queue.(*memory.Queue).Consumer("w1"), sender(t, srv), notify.Config{Registerer: e.reg, MaxAttempts: 3})
			e.send(t, ann, r.ID, "hi")
			e.drained(t)
			mu.Lock()
			got := n
			mu.Unlock()
			if got != tc.requests {
				t.Errorf("%d requests for the phone, want %d", got, tc.requests)
			}
			var phone *chat.Notification
			for _, h := range e.history(t, bob) {
				if h.Platform == chat.PlatformAndroid {
					phone = &h
				} else if h.Status != chat.NotificationSent {
					t.Errorf("the browser's push = %+v, want sent: one device's error is its own", h)
				}
			}
			if phone == nil || phone.Status != tc.status || phone.Error != tc.errText {
				t.Fatalf("the phone's entry = %+v, want status %s, error %q", phone, tc.status, tc.errText)
			}
			devs, err := e.store.Devices(context.Background(), []string{bob.ID})
			if err != nil {
				t.Fatal(err)
			}
			if deleted := len(devs) == 1; deleted != tc.deleted {
				t.Errorf("devices after the push = %+v; token deleted = %v, want %v", devs, deleted, tc.deleted)
			}
			if tc.errText != "" && metric(t, e.reg, "chatchat_push_failed_total", "reason", tc.errText) != 1 {
				t.Errorf("failed{reason=%s} not counted", tc.errText)
			}
			if tc.retried != "" && metric(t, e.reg, "chatchat_push_retries_total", "reason", tc.retried) == 0 {
				t.Errorf("retries{reason=%s} not counted", tc.retried)
			}
		})
	}
}

// TestQuotaExceededRetriedAfterDelay: a 429 (which the SDK does not retry) is retried no
// sooner than its Retry-After.
func TestQuotaExceededRetriedAfterDelay(t *testing.T) {
	e := newEnv(t)
	ann, bob := e.user(t, "Ann"), e.user(t, "Bob")
	e.device(t, bob, chat.PlatformAndroid, "bob-phone")
	r := e.room(t, chat.RoomDirect, "", ann, bob)
	srv := fcmtest.NewServer(t)
	var mu sync.Mutex
	first := true
	srv.SetReply(func(fcmtest.Request) fcmtest.Reply {
		mu.Lock()
		defer mu.Unlock()
		if first {
			first = false
			return fcmtest.Reply{Status: 429, Code: "QUOTA_EXCEEDED", RetryAfter: "1"}
		}
		return fcmtest.Reply{}
	})
	e.run(t, e.queue.(*memory.Queue).Consumer("w1"), sender(t, srv), notify.Config{Registerer: e.reg})
	e.send(t, ann, r.ID, "hi")
	e.drained(t)
	reqs := srv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want the 429 and its retry", len(reqs))
	}
	if gap := reqs[1].At.Sub(reqs[0].At); gap < time.Second {
		t.Errorf("retried after %v, before the Retry-After of 1 s", gap)
	}
	if hs := e.history(t, bob); len(hs) != 1 || hs[0].Status != chat.NotificationSent {
		t.Errorf("history = %+v, want one sent entry", hs)
	}
	if got := metric(t, e.reg, "chatchat_push_retries_total", "reason", chat.PushQuotaExceeded); got != 1 {
		t.Errorf("retries{quota_exceeded} = %v, want 1", got)
	}
}

// TestOnlineOnAnotherNodeIsNotPushed: presence is shared through Redis, and a session on
// any node keeps a member from being pushed.
func TestOnlineOnAnotherNodeIsNotPushed(t *testing.T) {
	srv := testenv.Redis(t)
	prefix := srv.Prefix(t)
	e := newEnv(t)
	e.presence = redis.NewPresence(srv.Client(t), redis.PresenceConfig{Prefix: prefix})
	e.newService()
	otherNode := redis.NewPresence(srv.Client(t), redis.PresenceConfig{Prefix: prefix})

	ann, bob, cat := e.user(t, "Ann"), e.user(t, "Bob"), e.user(t, "Cat")
	e.device(t, bob, chat.PlatformAndroid, "bob-phone")
	e.device(t, cat, chat.PlatformAndroid, "cat-phone")
	r := e.room(t, chat.RoomGroup, "Team", ann, bob, cat)
	e.online(t, otherNode, bob)

	fcmSrv := fcmtest.NewServer(t)
	e.run(t, e.queue.(*memory.Queue).Consumer("w1"), sender(t, fcmSrv), notify.Config{})
	e.send(t, ann, r.ID, "hi")
	e.drained(t)
	reqs := fcmSrv.Requests()
	if len(reqs) != 1 || reqs[0].Token != "cat-phone" {
		t.Errorf("pushed %d: %+v; want cat's phone only (bob is online on another node)", len(reqs), reqs)
	}
}

// TestMentionsPushedInMutedRooms: a mention reaches a member who muted the room; an edit
// that mentions another member pushes that member once, and nobody else again.
func TestMentionsPushedInMutedRooms(t *testing.T) {
	e := newEnv(t)
	ann, bob, cat, dan := e.user(t, "Ann"), e.user(t, "Bob"), e.user(t, "Cat"), e.user(t, "Dan")
	for _, u := range []chat.User{bob, cat, dan} {
		e.device(t, u, chat.PlatformAndroid, u.Username+"-phone")
	}
	r := e.room(t, chat.RoomGroup, "Team", ann, bob, cat, dan)
	ctx := context.Background()
	for _, u := range []chat.User{bob, cat} {
		if _, err := e.svc.SetMuted(ctx, u.ID, r.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	srv := fcmtest.NewServer(t)
	e.run(t, e.queue.(*memory.Queue).Consumer("w1"), sender(t, srv), notify.Config{Registerer: e.reg})
	m, _, err := e.svc.SendMessage(ctx, ann.ID, r.ID, chat.NewMessage{Text: "hi @Bob", Mentions: []string{bob.ID}})
	if err != nil {
		t.Fatal(err)
	}
	e.drained(t)
	if _, err := e.svc.EditMessage(ctx, ann.ID, r.ID, m.ID, chat.MessageEdit{Text: "hi @Bob @Cat", Mentions: &[]string{bob.ID, cat.ID}}); err != nil {
		t.Fatal(err)
	}
	e.drained(t)
	pushed := map[string]int{}
	for _, req := range srv.Requests() {
		pushed[req.Token]++
	}
	want := map[string]int{"Bob-phone": 1, "Cat-phone": 1, "Dan-phone": 1}
	if fmt.Sprint(pushed) != fmt.Sprint(want) {
		t.Fatalf("pushes per device = %v, want %v: muted but mentioned Bob once, Cat once after the edit, unmuted Dan once", pushed, want)
	}
}

// TestTwoCopiesOfAJobPushOnce: the same message's job queued twice (an outbox relay that
// republished a send whose first publish it could not confirm, as in a Redis failover) and
// received together by one worker pushes each device once, although the first push is
// still in flight, not yet in the history, when the second copy is taken.
func TestTwoCopiesOfAJobPushOnce(t *testing.T) {
	e := newEnv(t)
	ann, bob := e.user(t, "Ann"), e.user(t, "Bob")
	e.device(t, bob, chat.PlatformAndroid, "bob-phone")
	r := e.room(t, chat.RoomGroup, "Team", ann, bob)
	m := e.send(t, ann, r.ID, "once")
	if err := e.queue.Enqueue(context.Background(), chat.PushJob{Message: m}); err != nil {
		t.Fatal(err)
	}

	srv := fcmtest.NewServer(t)
	release := make(chan struct{})
	var releaseOnce sync.Once
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
	srv.SetReply(func(fcmtest.Request) fcmtest.Reply { return fcmtest.Reply{Hold: release} })
	e.run(t, e.queue.(*memory.Queue).Consumer("w1"), sender(t, srv), notify.Config{Registerer: e.reg})
	srv.WaitRequests(t, 1)
	// Both copies are taken by now (one Receive of up to eight); hold the first push
	// until the other copy has had every chance to push too.
	time.Sleep(200 * time.Millisecond)
	releaseOnce.Do(func() { close(release) })
	e.drained(t)
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("bob's phone pushed %d times for one message, want once", n)
	}
}
