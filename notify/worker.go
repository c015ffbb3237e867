// Package notify is ChatChat's notification role: a worker that takes push jobs from the
// push queue and sends each created message to the devices of the room's members who are
// offline, and each read cursor that moved to the reader's devices (read.go). The
// endpoints of devices and notification history are api's.
package notify

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chatchat/chatchat/chat"
)

// Rooms is what the worker reads of rooms and users (chat.Store).
type Rooms interface {
	Room(ctx context.Context, id string) (chat.Room, error)
	User(ctx context.Context, id string) (chat.User, error)
}

// Devices is what the worker reads and writes of devices, the push history and the
// badge (chat.PushStore and chat.CursorStore of the storage adapters).
type Devices interface {
	Devices(ctx context.Context, userIDs []string) ([]chat.Device, error)
	MemberDevices(ctx context.Context, roomID string) ([]chat.MemberDevice, error)
	DeleteToken(ctx context.Context, token string) error
	NotifiedTokens(ctx context.Context, messageID string) ([]string, error)
	AddNotification(ctx context.Context, n chat.Notification) error
	UnreadTotal(ctx context.Context, userID string) (int64, error)
}

// Config configures a Worker. Zero values take the defaults noted.
type Config struct {
	// Concurrency bounds both the jobs in progress and the pushes in flight. Default 8.
	Concurrency int
	// MaxAttempts is how many times one push is tried when the provider says to retry
	// (quota, unavailable, internal). Default 4.
	MaxAttempts int
	// RetryBase is the first back-off delay, doubled on each retry, unless the provider
	// asks for longer with Retry-After. Default 1 s.
	RetryBase time.Duration
	// MaxRetryDelay is the longest the worker waits before a retry; a provider asking for
	// longer gets the push recorded as failed. Keep MaxAttempts × MaxRetryDelay below the
	// queue's claim timeout, or another worker takes the job over meanwhile. Default 30 s.
	MaxRetryDelay time.Duration
	// SendTimeout bounds one push request. Default 15 s.
	SendTimeout time.Duration
	// PreviewRunes is how much of a message's text a push shows. Default 100.
	PreviewRunes int
	// Logger; default slog.Default().
	Logger *slog.Logger
	// Registerer receives the worker's metrics; nil registers none.
	Registerer prometheus.Registerer
}

// Worker sends the pushes of the jobs of one PushConsumer. Several workers, in one
// process or many, may share a queue: a job is handled by one of them at a time, and one
// left unacknowledged by a stopped worker is reclaimed by another, which skips the devices
// the notification history shows as done. The history's (message, token) key is what makes
// a redelivered job push each device once.
type Worker struct {
	cfg      Config
	log      *slog.Logger
	queue    chat.PushConsumer
	rooms    Rooms
	devices  Devices
	presence chat.PresenceService
	pusher   chat.Pusher // nil: no provider, pushes are logged
	sends    chan struct{}
	m        *metrics

	// busy holds the messages whose job is in progress here, each with a channel closed
	// when it is done. A second copy of a job (an outbox relay's republish after a publish
	// it could not confirm) waits for the first: the history check that skips pushed
	// devices only sees a push once it is recorded, so two copies in progress at once
	// would both push.
	busyMu sync.Mutex
	busy   map[string]chan struct{}
}

// NewWorker returns a worker. pusher may be nil: pushes are then recorded with status
// "logged" and written to the log, so that the flow is visible without a provider.
func NewWorker(cfg Config, queue chat.PushConsumer, rooms Rooms, devices Devices,
	presence chat.PresenceService, pusher chat.Pusher) *Worker {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 8
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 4
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = time.Second
	}
	if cfg.MaxRetryDelay <= 0 {
		cfg.MaxRetryDelay = 30 * time.Second
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = 15 * time.Second
	}
	if cfg.PreviewRunes <= 0 {
		cfg.PreviewRunes = 100
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Worker{
		cfg: cfg, log: cfg.Logger, queue: queue, rooms: rooms, devices: devices,
		presence: presence, pusher: pusher,
		sends: make(chan struct{}, cfg.Concurrency),
		m:     newMetrics(cfg.Registerer),
		busy:  map[string]chan struct{}{},
	}
}

// Run handles jobs until ctx ends, then waits for the jobs in progress and returns nil.
// A push already in flight when ctx ends is finished and recorded; what was not done is
// left unacknowledged for another worker.
func (w *Worker) Run(ctx context.Context) error {
	slots := make(chan struct{}, w.cfg.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	failures := 0
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		free := 1
	fill:
		for free < w.cfg.Concurrency {
			select {
			case slots <- struct{}{}:
				free++
			default:
				break fill
			}
		}
		ds, err := w.queue.Receive(ctx, free)
		for range free - len(ds) {
			<-slots
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			failures++
			w.log.Warn("push queue receive failed", "err", err)
			if !sleep(ctx, backoff(time.Second, failures, 30*time.Second)) {
				return nil
			}
			continue
		}
		failures = 0
		for _, d := range ds {
			wg.Go(func() {
				defer func() { <-slots }()
				w.handle(ctx, d)
			})
		}
	}
}

// HandleEvent hears the seed's FCM_TOKEN_MESSAGE on the bus's push topic. The job's Redis
// Stream is the durable record the worker acts on (Pub/Sub drops what is published while
// no worker listens, and a blocked stream read already wakes on a new job), so the event
// is counted, never acted on: the count beside the jobs handled shows the two paths agree.
func (w *Worker) HandleEvent(ev chat.Event) {
	if ev.Type == chat.EventFCMTokenMessage {
		w.m.busEvents.Inc()
	}
}

// HandleGap is a no-op: the queue, not the bus, carries the work.
func (w *Worker) HandleGap() {}

var _ chat.EventHandler = (*Worker)(nil)

// handle runs one job and acknowledges it when it is done.
func (w *Worker) handle(ctx context.Context, d chat.PushDelivery) {
	if d.Job.EnqueuedAt > 0 {
		w.m.lag.Observe(max(time.Since(time.UnixMilli(d.Job.EnqueuedAt)), 0).Seconds())
	}
	key := d.Job.Message.ID
	if d.Job.Read != nil {
		key = ""
	}
	if !w.begin(ctx, key) {
		return // stopping: the job stays unacknowledged for another worker
	}
	err := w.process(ctx, d.Job)
	w.end(key)
	if ctx.Err() != nil {
		// Stopping: whatever this job still needs is done by the worker that reclaims it.
		return
	}
	if err != nil {
		w.m.jobsFailed.Inc()
		w.log.Warn("push job failed; it will be retried once the queue's claim timeout passes",
			"message", d.Job.Message.ID, "room", d.Job.Message.RoomID, "err", err)
		return
	}
	if err := w.queue.Ack(ctx, d.ID); err != nil {
		w.log.Warn("push job ack failed; it will be redelivered and de-duplicated", "message", d.Job.Message.ID, "err", err)
	}
}

// begin waits until no other job of the message key is in progress here, and marks it in
// progress. It reports false when ctx ended first. The empty key is never waited for.
func (w *Worker) begin(ctx context.Context, key string) bool {
	if key == "" {
		return true
	}
	for {
		w.busyMu.Lock()
		wait, taken := w.busy[key]
		if !taken {
			w.busy[key] = make(chan struct{})
			w.busyMu.Unlock()
			return true
		}
		w.busyMu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return false
		}
	}
}

// end undoes begin.
func (w *Worker) end(key string) {
	if key == "" {
		return
	}
	w.busyMu.Lock()
	close(w.busy[key])
	delete(w.busy, key)
	w.busyMu.Unlock()
}

// process pushes one message to the devices of the room's offline, unmuted members other
// than the sender, skipping devices already in the history for it.
func (w *Worker) process(ctx context.Context, job chat.PushJob) error {
	if job.Read != nil {
		return w.processRead(ctx, *job.Read)
	}
	m := job.Message
	// Only the members with a device can be pushed: one read finds them with their
	// memberships, so a large room where few have a device costs little more than a small
	// one (no member list, no presence look-up for the others).
	targets, err := w.devices.MemberDevices(ctx, m.RoomID)
	if err != nil {
		return err
	}
	byUser := map[string][]chat.Device{}
	var candidates []string
	for _, md := range targets {
		uid := md.Member.UserID
		if !chat.Pushed(md.Member, &m) || (len(job.UserIDs) > 0 && !slices.Contains(job.UserIDs, uid)) {
			continue
		}
		if _, seen := byUser[uid]; !seen {
			candidates = append(candidates, uid)
		}
		byUser[uid] = append(byUser[uid], md.Device)
	}
	if len(candidates) == 0 {
		return nil
	}
	room, err := w.rooms.Room(ctx, m.RoomID)
	if chat.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	statuses, err := w.presence.Statuses(ctx, candidates)
	if err != nil {
		return err
	}
	var devices []chat.Device
	for _, p := range statuses {
		if p.Status != chat.StatusOnline {
			devices = append(devices, byUser[p.UserID]...)
		}
	}
	if len(devices) == 0 {
		return nil
	}
	notified, err := w.devices.NotifiedTokens(ctx, m.ID)
	if err != nil {
		return err
	}
	done := make(map[string]bool, len(notified))
	for _, t := range notified {
		done[t] = true
	}
	senderName := "Someone"
	if u, err := w.rooms.User(ctx, m.SenderID); err == nil {
		senderName = u.DisplayName
	} else if !chat.IsNotFound(err) {
		return err
	}
	title, body := render(room, senderName, m, w.cfg.PreviewRunes)
	badges := map[string]int{}

	var wg sync.WaitGroup
	interrupted := false
	var mu sync.Mutex
	for _, dev := range devices {
		if done[dev.Token] {
			w.m.duplicates.Inc()
			continue
		}
		badge, ok := badges[dev.UserID]
		if !ok {
			n, err := w.devices.UnreadTotal(ctx, dev.UserID)
			if err != nil {
				wg.Wait()
				return err
			}
			badge = int(min(n, 1<<31-1))
			badges[dev.UserID] = badge
		}
		p := chat.Push{
			Token: dev.Token, Platform: dev.Platform, Title: title, Body: body, Badge: badge, Thread: m.RoomID,
			Data: map[string]string{"roomId": m.RoomID, "messageId": m.ID, "seq": strconv.FormatInt(m.Seq, 10)},
		}
		select {
		case w.sends <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		}
		wg.Go(func() {
			defer func() { <-w.sends }()
			if !w.deliver(ctx, dev, m, p) {
				mu.Lock()
				interrupted = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if interrupted {
		return context.Cause(ctx)
	}
	return nil
}

// deliver sends one push, with retries, and records it. It reports false when ctx ended
// while waiting to retry: the push is then neither sent nor recorded.
func (w *Worker) deliver(ctx context.Context, dev chat.Device, m chat.Message, p chat.Push) bool {
	n := chat.Notification{
		ID: chat.NewID(), UserID: dev.UserID, Token: dev.Token, MessageID: m.ID, RoomID: m.RoomID, Seq: m.Seq,
		Platform: dev.Platform, Title: p.Title, Body: p.Body,
	}
	if w.pusher == nil {
		n.Status = chat.NotificationLogged
		// Ids and sizes only: a push's title and body are the message's words.
		w.log.Info("push notification (no push provider configured)", "user", dev.UserID, "platform", dev.Platform,
			"room", m.RoomID, "message", m.ID, "title_bytes", len(p.Title), "body_bytes", len(p.Body), "badge", p.Badge)
		w.m.sent.WithLabelValues(chat.NotificationLogged).Inc()
	} else {
		interrupted, err := w.send(ctx, p)
		if interrupted {
			return false
		}
		if err == nil {
			n.Status = chat.NotificationSent
			w.m.sent.WithLabelValues(chat.NotificationSent).Inc()
		} else {
			reason := reasonOf(err)
			n.Status, n.Error = chat.NotificationFailed, reason
			w.m.failed.WithLabelValues(reason).Inc()
			level := slog.LevelWarn
			if reason == chat.PushUnregistered {
				level = slog.LevelInfo // the app was uninstalled: routine
			}
			w.log.Log(ctx, level, "push failed", "user", dev.UserID, "platform", dev.Platform,
				"message", m.ID, "reason", reason, "err", err)
			if reason == chat.PushUnregistered {
				if err := w.devices.DeleteToken(context.WithoutCancel(ctx), dev.Token); err != nil {
					w.log.Warn("delete unregistered token failed", "user", dev.UserID, "err", err)
				} else {
					w.m.tokensDeleted.Inc()
				}
			}
		}
	}
	n.CreatedAt = chat.At(time.Now())
	// Recorded even when stopping: the push went out, and the record is what keeps the
	// worker that reclaims this job from sending it again.
	err := w.devices.AddNotification(context.WithoutCancel(ctx), n)
	if err != nil && !chat.IsConflict(err) {
		w.log.Error("record notification failed; a redelivery may push this device again",
			"user", dev.UserID, "message", m.ID, "err", err)
	}
	return true
}

// send pushes p, retrying what the provider says may succeed later. interrupted is true
// when ctx ended before a retry. A push that has started is not cancelled by ctx: cutting it
// off would leave unknown whether the device got it.
func (w *Worker) send(ctx context.Context, p chat.Push) (interrupted bool, err error) {
	for attempt := 1; ; attempt++ {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.cfg.SendTimeout)
		err = w.pusher.Push(sctx, p)
		cancel()
		if err == nil {
			return false, nil
		}
		var pe *chat.PushError
		retry := !errors.As(err, &pe) || pe.Retry // a timeout or other unclassified error
		if !retry || attempt >= w.cfg.MaxAttempts {
			return false, err
		}
		delay := backoff(w.cfg.RetryBase, attempt, w.cfg.MaxRetryDelay)
		if pe != nil && pe.RetryAfter > 0 {
			if pe.RetryAfter > w.cfg.MaxRetryDelay {
				return false, err
			}
			delay = pe.RetryAfter
		}
		w.m.retried.WithLabelValues(reasonOf(err)).Inc()
		if !sleep(ctx, delay) {
			return true, err
		}
	}
}

func reasonOf(err error) string {
	var pe *chat.PushError
	if errors.As(err, &pe) {
		return pe.Reason
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	return chat.PushOther
}

// render returns a push's title and body: the room (or, in a direct room, the sender) and
// the sender with a preview of the message.
func render(room chat.Room, sender string, m chat.Message, previewRunes int) (title, body string) {
	title = room.Name
	if room.Type == chat.RoomDirect || title == "" {
		title = sender
	}
	switch m.Type {
	case chat.MessageImage:
		body = sender + " sent a photo"
	case chat.MessageFile:
		body = sender + " sent a file"
	default:
		body = sender + ": " + preview(m.Text, previewRunes)
	}
	return title, body
}

// preview collapses whitespace (a push shows one or two lines) and cuts the text to n
// characters.
func preview(text string, n int) string {
	text = strings.Join(strings.FieldsFunc(text, unicode.IsSpace), " ")
	if utf8.RuneCountInString(text) <= n {
		return text
	}
	runes := []rune(text)
	return strings.TrimSpace(string(runes[:n])) + "…"
}

// backoff is base doubled per earlier attempt, capped, with up to 20% jitter so that
// workers hit by one outage do not retry in step.
func backoff(base time.Duration, attempt int, limit time.Duration) time.Duration {
	d := base
	for i := 1; i < attempt && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}

// sleep waits for d or ctx's end; it reports whether the whole of d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
