package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/client"
	"github.com/chatchat/chatchat/fcm/fcmtest"
	"github.com/chatchat/chatchat/internal/testenv"
)

// The chaos run (chatchat-bench chaos): a cluster of chatchat processes — two API, CHATS
// chat (ws) and one notify process — over Redis (one server, or a six-node Redis Cluster)
// and a shared store, behind a balancer, under a steady load of messages, while faults are
// injected one after another: a chat process SIGKILLed (its clients reconnect through the
// balancer to another and RESUME), every Redis Pub/Sub connection killed, a Redis Cluster
// primary killed (its replica is promoted), the notify process SIGKILLed, an API process
// SIGKILLed (senders retry with the same clientMsgId at the other). Each room has online
// members (client.Session: reconnects, RESUME, gap filling and de-duplication, as an app
// would) and one offline member with a device; pushes go to a local FCM server that
// counts them per device.
//
// Per fault it reports what was sent in its window (by the time of the first attempt),
// what was stored, delivered, lost (a stored message a member's session never handed
// over), duplicated (handed over twice, or stored twice for one clientMsgId), the pushes
// each offline device got for those messages (missing, more than one), the worst time to
// reach every member, and the recovery time (from the fault until the last message slower
// than a second reached everyone).

type chaosConfig struct {
	Chatchat  string
	Redis     string // single or cluster
	MongoURI  string
	Chats     int
	Rooms     int
	Online    int // online members per room
	Rate      float64
	Warmup    time.Duration
	Window    time.Duration
	Down      time.Duration
	Drain     time.Duration
	Faults    []string
	Dir       string
	Out       string
	Markdown  string
	KeepFiles bool
}

// chaosFaults are the faults in the order they run.
var chaosFaults = []string{"chat-kill", "pubsub-kill", "redis-primary", "notify-kill", "api-kill"}

func runChaos(ctx context.Context, args []string, out io.Writer) error {
	var cfg chaosConfig
	var faults string
	fs := flag.NewFlagSet("chatchat-bench chaos", flag.ContinueOnError)
	fs.StringVar(&cfg.Chatchat, "chatchat", "", "the chatchat binary to run (required)")
	fs.StringVar(&cfg.Redis, "redis", "cluster", "single (one redis-server) or cluster (three primaries, three replicas)")
	fs.StringVar(&cfg.MongoURI, "mongo-uri", "", "store in this MongoDB-wire server (default: an embedded SQLite directory shared by the processes)")
	fs.IntVar(&cfg.Chats, "chats", 3, "chat (ws) processes")
	fs.IntVar(&cfg.Rooms, "rooms", 20, "rooms; each has -online online members and one offline member with a device")
	fs.IntVar(&cfg.Online, "online", 4, "online members per room (each user is in two rooms)")
	fs.Float64Var(&cfg.Rate, "rate", 50, "messages per second over all rooms")
	fs.DurationVar(&cfg.Warmup, "warmup", 10*time.Second, "steady load before the first fault (reported as fault none)")
	fs.DurationVar(&cfg.Window, "window", 20*time.Second, "time from one fault to the next")
	fs.DurationVar(&cfg.Down, "down", 3*time.Second, "how long a killed process stays down before it is started again")
	fs.DurationVar(&cfg.Drain, "drain", 60*time.Second, "longest wait after the load for every delivery and push")
	fs.StringVar(&faults, "faults", "", "comma list of faults, in order: "+strings.Join(chaosFaults, ", ")+" (default all; with -redis single all but redis-primary)")
	fs.StringVar(&cfg.Dir, "dir", "", "directory for the processes' data and logs (default a temporary one, removed unless the run fails)")
	fs.StringVar(&cfg.Out, "out", "", "write the JSON result here")
	fs.StringVar(&cfg.Markdown, "md", "", "write the result table (Markdown) here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.Faults = splitList(faults)
	if faults == "" {
		for _, f := range chaosFaults {
			if f != "redis-primary" || cfg.Redis == "cluster" {
				cfg.Faults = append(cfg.Faults, f)
			}
		}
	}
	for _, f := range cfg.Faults {
		if !slices.Contains(chaosFaults, f) {
			return fmt.Errorf("-faults: unknown fault %q", f)
		}
		if f == "redis-primary" && cfg.Redis != "cluster" {
			return errors.New("-faults: redis-primary needs -redis cluster (one redis-server without persistence has no replica to promote)")
		}
	}
	if cfg.Chatchat == "" {
		return errors.New("chaos needs -chatchat, the binary to run")
	}
	if cfg.Redis != "single" && cfg.Redis != "cluster" {
		return fmt.Errorf("-redis %q: want single or cluster", cfg.Redis)
	}
	if cfg.Chats < 2 || cfg.Rooms < 1 || cfg.Online < 2 || cfg.Rate <= 0 {
		return errors.New("chaos needs -chats ≥ 2, -rooms ≥ 1, -online ≥ 2 and a -rate")
	}
	res, err := chaosRun(ctx, cfg, out)
	if err != nil {
		return err
	}
	if cfg.Out != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(cfg.Out, b, 0o644); err != nil {
			return err
		}
	}
	md := res.markdown()
	fmt.Fprint(out, md)
	if cfg.Markdown != "" {
		if err := os.WriteFile(cfg.Markdown, []byte(md), 0o644); err != nil {
			return err
		}
	}
	if !res.clean() {
		return errors.New("chaos: messages or pushes were lost or duplicated (see the table)")
	}
	return nil
}

// chaosWindow is one fault's share of the result.
type chaosWindow struct {
	Fault       string  `json:"fault"`
	At          float64 `json:"atS"`    // seconds from the load's start
	Action      string  `json:"action"` // what was done, with its timings
	Sent        int     `json:"sent"`   // messages first tried in the window and answered
	Unanswered  int     `json:"unanswered"`
	Stored      int     `json:"stored"`
	Deliveries  int     `json:"deliveries"` // (message, online member) pairs expected
	Delivered   int     `json:"delivered"`
	Lost        int     `json:"lost"`
	Duplicated  int     `json:"duplicated"`
	PushesWant  int     `json:"pushesWant"`
	PushedOnce  int     `json:"pushedOnce"`
	PushMissing int     `json:"pushMissing"`
	PushDup     int     `json:"pushDuplicated"`
	// PushRedone counts pushes made again after the notify process was SIGKILLed between
	// making them and the restart: a push's outcome is recorded after the provider
	// answers, so one the killed process had sent but not yet recorded is sent again.
	// Not counted as duplicates; RedoneLagMs is the longest time from such a push to the
	// kill (how far the recording lagged).
	PushRedone  int     `json:"pushRedone"`
	RedoneLagMs float64 `json:"redoneLagMs,omitempty"`
	// Examples names up to ten messages lost, duplicated or pushed wrongly, to look for in
	// the processes' logs.
	Examples []string `json:"examples,omitempty"`
	WorstMs  float64  `json:"worstMs"` // slowest time from first attempt to the last member
	// RecoveryMs is how long the fault's disruption lasted: from the fault until the last
	// message slower than 1 s (to reach everyone) of the run of slow ones that follows it,
	// a run ending where 5 s of sends go by without one. Slow counts every message slower
	// than 1 s in the window, in that run or not.
	RecoveryMs float64 `json:"recoveryMs"`
	Slow       int     `json:"slow"`
}

type chaosResult struct {
	Config   chaosConfig   `json:"config"`
	Started  time.Time     `json:"started"`
	Windows  []chaosWindow `json:"windows"`
	Problems []string      `json:"problems,omitempty"`
}

func (r *chaosResult) clean() bool {
	for _, w := range r.Windows {
		if w.Lost+w.Duplicated+w.PushMissing+w.PushDup+w.Unanswered > 0 {
			return false
		}
	}
	return len(r.Problems) == 0
}

func (r *chaosResult) markdown() string {
	var b strings.Builder
	c := r.Config
	store := "SQLite (shared directory)"
	if c.MongoURI != "" {
		store = "MongoDB-wire server"
	}
	fmt.Fprintf(&b, "chaos: 2 API, %d chat, 1 notify processes; Redis %s; store %s; %d rooms × (%d online + 1 offline with a device); %g msg/s\n\n",
		c.Chats, c.Redis, store, c.Rooms, c.Online, c.Rate)
	b.WriteString("| fault | at s | sent | stored | delivered / expected | lost | dup | pushes once / expected | push missing | push dup | push redone | slower than 1 s | worst ms | recovery ms |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, w := range r.Windows {
		fmt.Fprintf(&b, "| %s | %.0f | %d | %d | %d / %d | %d | %d | %d / %d | %d | %d | %d | %d | %.0f | %.0f |\n",
			w.Fault, w.At, w.Sent, w.Stored, w.Delivered, w.Deliveries, w.Lost, w.Duplicated,
			w.PushedOnce, w.PushesWant, w.PushMissing, w.PushDup, w.PushRedone, w.Slow, w.WorstMs, w.RecoveryMs)
	}
	b.WriteString("\n")
	for _, w := range r.Windows {
		if w.Action != "" {
			fmt.Fprintf(&b, "- %s: %s\n", w.Fault, w.Action)
		}
		for _, e := range w.Examples {
			fmt.Fprintf(&b, "- %s: %s\n", w.Fault, e)
		}
		if w.PushRedone > 0 {
			fmt.Fprintf(&b, "- %s: %d pushes made again after the notify process was killed, up to %.1f s after they were first made\n", w.Fault, w.PushRedone, w.RedoneLagMs/1000)
		}
		if w.Unanswered > 0 {
			fmt.Fprintf(&b, "- %s: %d sends never answered within the drain\n", w.Fault, w.Unanswered)
		}
	}
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "- problem: %s\n", p)
	}
	return b.String()
}

// chaosMsg is one message the load sends.
type chaosMsg struct {
	room   int
	sender int // member index in the room
	first  time.Time

	mu        sync.Mutex
	answered  bool
	delivered []time.Time // per online member of the room: when its session handed it over
	dups      int
}

type chaosRoom struct {
	id      string
	members []int // indexes into users
	offline *client.Client
	token   string // the offline member's device
}

type chaosUser struct {
	c    *client.Client
	id   string
	sess *client.Session
	// slot maps a room index to the user's position among its online members.
	slot map[int]int
}

type chaosState struct {
	cfg   chaosConfig
	logf  func(string, ...any)
	run   string
	users []*chaosUser
	rooms []*chaosRoom
	byID  map[string]int // room id -> index

	mu          sync.Mutex
	msgs        []*chaosMsg
	notifyKills []time.Time // when the notify process was SIGKILLed
	t0          time.Time
	// sendCtx ends the senders' retries when the run ends, drained or not.
	sendCtx context.Context
}

func chaosRun(ctx context.Context, cfg chaosConfig, out io.Writer) (*chaosResult, error) {
	logf := func(format string, a ...any) {
		fmt.Fprintf(out, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, a...)...)
	}
	dir := cfg.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "chatchat-chaos-")
		if err != nil {
			return nil, err
		}
		dir = d
	}
	keep := cfg.Dir != ""
	defer func() {
		if !keep {
			_ = os.RemoveAll(dir)
		}
	}()

	// Redis.
	var redisURL string
	var rcluster *testenv.RedisCluster
	var redisAddrs []string
	redisDir := filepath.Join(dir, "redis")
	if err := os.MkdirAll(redisDir, 0o755); err != nil {
		return nil, err
	}
	extra := []string{"--bus-mode", "room"}
	if cfg.Redis == "cluster" {
		c, err := testenv.NewRedisCluster(redisDir)
		if err != nil {
			return nil, err
		}
		defer c.Stop()
		rcluster = c
		redisAddrs = c.Addrs
		redisURL = "redis://" + c.Addrs[0] + "?addr=" + strings.Join(c.Addrs[1:], "&addr=")
		extra = append(extra, "--redis-cluster")
	} else {
		s, err := testenv.NewRedis(redisDir)
		if err != nil {
			return nil, err
		}
		defer s.Stop()
		redisAddrs = []string{s.Addr}
		redisURL = s.URL()
	}
	logf("redis %s up: %v", cfg.Redis, redisAddrs)

	push := fcmtest.Start()
	defer push.Close()

	common := []string{"--redis-url", redisURL, "--jwt-secret", "chaos-secret-0123456789abcdef0123456789",
		"--rate-send", "0", "--rate-signup", "0", "--rate-login", "0", "--rate-frames", "0",
		"--argon2-memory", "1024", "--argon2-iterations", "1", "--log-level", "warn",
		"--bus-release-delay", "2s", "--outbox-relay-interval", "200ms", "--outbox-relay-age", "1s",
		"--push-claim-timeout", "10s",
		"--fcm-endpoint", push.Endpoint, "--fcm-project-id", "chatchat-chaos"}
	common = append(common, extra...)
	if cfg.MongoURI != "" {
		common = append(common, "--mongo-uri", cfg.MongoURI)
	}
	data := filepath.Join(dir, "data")
	var api, chats, all []*chatProc
	var notify *chatProc
	mk := func(name, roles string) (*chatProc, error) {
		args := append([]string{"--roles", roles, "--data-dir", data}, common...)
		p, err := newChatProc(dir, name, cfg.Chatchat, args)
		if err == nil {
			all = append(all, p)
		}
		return p, err
	}
	defer func() {
		for _, p := range all {
			p.stop()
		}
	}()
	for i := range 2 {
		p, err := mk(fmt.Sprintf("api%d", i+1), "api")
		if err != nil {
			return nil, err
		}
		api = append(api, p)
	}
	for i := range cfg.Chats {
		p, err := mk(fmt.Sprintf("chat%d", i+1), "ws")
		if err != nil {
			return nil, err
		}
		chats = append(chats, p)
	}
	notify, err := mk("notify", "notify")
	if err != nil {
		return nil, err
	}
	// The first API process alone first: it migrates the store.
	if err := api[0].start(ctx); err != nil {
		return nil, err
	}
	for _, p := range all[1:] {
		if err := p.start(ctx); err != nil {
			return nil, err
		}
	}
	lb, err := newBalancer(api, chats)
	if err != nil {
		return nil, err
	}
	defer lb.close()
	logf("cluster up behind %s: %d API, %d chat, 1 notify; logs in %s", lb.url(), len(api), len(chats), dir)

	sendCtx, stopSenders := context.WithCancel(ctx)
	defer stopSenders()
	st := &chaosState{cfg: cfg, logf: logf, run: strconv.FormatInt(time.Now().UnixNano()%1e9, 36), byID: map[string]int{}, sendCtx: sendCtx}
	tr := &http.Transport{MaxIdleConnsPerHost: 128, IdleConnTimeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 20 * time.Second}
	if err := st.setup(ctx, lb.url(), hc); err != nil {
		keep = true
		return nil, fmt.Errorf("setup: %w", err)
	}
	defer func() {
		for _, u := range st.users {
			if u.sess != nil {
				_ = u.sess.Close()
			}
		}
	}()
	if err := st.openSessions(ctx); err != nil {
		keep = true
		return nil, err
	}
	logf("%d online users in sessions, %d rooms, %d offline devices", len(st.users), len(st.rooms), len(st.rooms))

	res := &chaosResult{Config: cfg, Started: time.Now()}
	loadCtx, stopLoad := context.WithCancel(ctx)
	var senders sync.WaitGroup
	st.t0 = time.Now()
	senders.Add(1)
	go func() { defer senders.Done(); st.load(loadCtx, &senders) }()

	type mark struct {
		fault, action string
		at            time.Time
	}
	marks := []mark{{fault: "none", at: st.t0}}
	_ = sleep(ctx, cfg.Warmup)
	for _, f := range cfg.Faults {
		if ctx.Err() != nil {
			break
		}
		at := time.Now()
		logf("fault %s", f)
		action, err := st.inject(ctx, f, api, chats, notify, rcluster, redisAddrs)
		if err != nil {
			res.Problems = append(res.Problems, fmt.Sprintf("%s: %v", f, err))
			logf("fault %s: %v", f, err)
		}
		marks = append(marks, mark{fault: f, action: action, at: at})
		_ = sleep(ctx, max(time.Until(at.Add(cfg.Window)), 3*time.Second))
	}
	stopLoad()
	end := time.Now()
	// Senders keep retrying what they started until answered or the drain ends.
	logf("load stopped after %d messages; draining", len(st.snapshot()))
	st.drain(ctx, &senders, push)
	// Senders still retrying give up now; their messages count as sent or not by what
	// they had heard.
	stopSenders()
	senders.Wait()

	stored, err := st.stored(ctx)
	if err != nil {
		res.Problems = append(res.Problems, fmt.Sprintf("reading the rooms' history: %v", err))
	}
	pushes := map[string]map[int][]time.Time{} // device token -> message no -> push times
	for _, rq := range push.Requests() {
		no, ok := stored.byID[rq.MessageID()]
		if !ok {
			continue
		}
		if pushes[rq.Token] == nil {
			pushes[rq.Token] = map[int][]time.Time{}
		}
		pushes[rq.Token][no] = append(pushes[rq.Token][no], rq.At)
		if n := len(pushes[rq.Token][no]); n > 1 {
			logf("message %d (%s) pushed to %s again at %s (first at %s)", no, rq.MessageID(), rq.Token,
				rq.At.Format("15:04:05.000"), pushes[rq.Token][no][0].Format("15:04:05.000"))
		}
	}
	for i, m := range marks {
		until := end
		if i+1 < len(marks) {
			until = marks[i+1].at
		}
		w := chaosWindow{Fault: m.fault, Action: m.action, At: m.at.Sub(st.t0).Seconds()}
		st.account(&w, m.at, until, stored, pushes)
		res.Windows = append(res.Windows, w)
	}
	res.Problems = append(res.Problems, stored.problems...)
	if !res.clean() {
		keep = true
		logf("kept the processes' logs in %s", dir)
	}
	return res, nil
}

// setup signs up the users, creates the rooms, registers the offline members' devices and
// opens the online members' sessions.
func (st *chaosState) setup(ctx context.Context, base string, hc *http.Client) error {
	cfg := st.cfg
	nUsers := max(cfg.Rooms*cfg.Online/2, cfg.Online)
	st.users = make([]*chaosUser, nUsers)
	signup := func(ctx context.Context, name string) (*client.Client, string, error) {
		c := client.New(base, client.WithHTTPClient(hc), client.WithHeartbeat(5*time.Second))
		a, err := c.Signup(ctx, name, "chaos-password-1", name)
		if err != nil {
			return nil, "", fmt.Errorf("sign up %s: %w", name, err)
		}
		return c, a.User.ID, nil
	}
	if err := parallel(ctx, nUsers, 8, func(ctx context.Context, i int) error {
		c, id, err := signup(ctx, fmt.Sprintf("k%su%d", st.run, i))
		st.users[i] = &chaosUser{c: c, id: id, slot: map[int]int{}}
		return err
	}); err != nil {
		return err
	}
	st.rooms = make([]*chaosRoom, cfg.Rooms)
	for r := range cfg.Rooms {
		room := &chaosRoom{token: fmt.Sprintf("chaos-%s-device-%d", st.run, r)}
		for j := range cfg.Online {
			u := (r*cfg.Online/2 + j) % nUsers
			if slices.Contains(room.members, u) {
				continue
			}
			st.users[u].slot[r] = len(room.members)
			room.members = append(room.members, u)
		}
		st.rooms[r] = room
	}
	return parallel(ctx, cfg.Rooms, 8, func(ctx context.Context, r int) error {
		room := st.rooms[r]
		off, offID, err := signup(ctx, fmt.Sprintf("k%so%d", st.run, r))
		if err != nil {
			return err
		}
		room.offline = off
		if _, err := off.RegisterDevice(ctx, chat.PlatformAndroid, room.token); err != nil {
			return fmt.Errorf("register a device: %w", err)
		}
		ids := []string{offID}
		for _, u := range room.members[1:] {
			ids = append(ids, st.users[u].id)
		}
		created, _, err := st.users[room.members[0]].c.CreateRoom(ctx, client.NewRoom{Type: chat.RoomGroup, Name: fmt.Sprintf("chaos %d", r), MemberIDs: ids})
		if err != nil {
			return fmt.Errorf("create room %d: %w", r, err)
		}
		st.mu.Lock()
		room.id = created.ID
		st.byID[created.ID] = r
		st.mu.Unlock()
		return nil
	})
}

// openSessions starts every online user's session and its reader.
func (st *chaosState) openSessions(ctx context.Context) error {
	return parallel(ctx, len(st.users), 8, func(ctx context.Context, i int) error {
		u := st.users[i]
		s, err := u.c.NewSession(ctx, client.WithBackoff(100*time.Millisecond, time.Second),
			client.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			return fmt.Errorf("session of user %d: %w", i, err)
		}
		u.sess = s
		go st.read(u)
		return nil
	})
}

// read records the messages a session hands over until it is closed.
func (st *chaosState) read(u *chaosUser) {
	for ev := range u.sess.Events() {
		if ev.Type != chat.EventMessageCreated {
			continue
		}
		m, err := ev.Message()
		if err != nil {
			continue
		}
		no, ok := chaosNo(m.Text)
		if !ok {
			continue
		}
		st.mu.Lock()
		r, known := st.byID[m.RoomID]
		var msg *chaosMsg
		if no < len(st.msgs) {
			msg = st.msgs[no]
		}
		st.mu.Unlock()
		slot, member := u.slot[r]
		if !known || msg == nil || !member {
			continue
		}
		now := time.Now()
		msg.mu.Lock()
		if msg.delivered[slot].IsZero() {
			msg.delivered[slot] = now
		} else {
			msg.dups++
		}
		msg.mu.Unlock()
	}
}

func chaosText(run string, no int) string { return "chaos:" + strconv.Itoa(no) + ":" + run }

// chaosNo returns the message number of a text the load sent.
func chaosNo(text string) (int, bool) {
	rest, ok := strings.CutPrefix(text, "chaos:")
	if !ok {
		return 0, false
	}
	n, _, ok := strings.Cut(rest, ":")
	if !ok {
		return 0, false
	}
	no, err := strconv.Atoi(n)
	return no, err == nil
}

// load sends at the configured rate until ctx ends; each message is retried (same
// clientMsgId) until answered, by a goroutine wg tracks.
func (st *chaosState) load(ctx context.Context, wg *sync.WaitGroup) {
	every := time.Duration(float64(time.Second) / st.cfg.Rate)
	tick := time.NewTicker(every)
	defer tick.Stop()
	inflight := make(chan struct{}, 256)
	for no := 0; ; no++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		r := no % len(st.rooms)
		room := st.rooms[r]
		msg := &chaosMsg{room: r, sender: (no / len(st.rooms)) % len(room.members), first: time.Now(),
			delivered: make([]time.Time, len(room.members))}
		st.mu.Lock()
		st.msgs = append(st.msgs, msg)
		st.mu.Unlock()
		select {
		case inflight <- struct{}{}:
		case <-ctx.Done():
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-inflight }()
			st.send(no, msg)
		}()
	}
}

// send tries one message until it is answered with success, or for at most two minutes
// (the drain's bound); a refusal other than overload is not retried.
func (st *chaosState) send(no int, msg *chaosMsg) {
	c := st.users[st.rooms[msg.room].members[msg.sender]].c
	nm := client.NewMessage{ClientMsgID: "chaos-" + st.run + "-" + strconv.Itoa(no), Text: chaosText(st.run, no)}
	deadline := time.Now().Add(2 * time.Minute)
	for attempt := 0; time.Now().Before(deadline) && st.sendCtx.Err() == nil; attempt++ {
		ctx, cancel := context.WithTimeout(st.sendCtx, 15*time.Second)
		_, _, err := c.SendMessage(ctx, st.rooms[msg.room].id, nm)
		cancel()
		if err == nil {
			msg.mu.Lock()
			msg.answered = true
			msg.mu.Unlock()
			return
		}
		if s := client.ErrorStatus(err); s >= 400 && s < 500 && s != http.StatusTooManyRequests && s != http.StatusRequestTimeout {
			st.logf("message %d refused: %v", no, err)
			return
		}
		_ = sleep(st.sendCtx, min(time.Duration(attempt+1)*100*time.Millisecond, time.Second))
	}
}

// drain waits for the senders, then until every stored message reached every member and
// every offline device was pushed, or -drain has passed.
func (st *chaosState) drain(ctx context.Context, senders *sync.WaitGroup, push *fcmtest.Server) {
	deadline := time.Now().Add(st.cfg.Drain)
	done := make(chan struct{})
	go func() { senders.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Until(deadline)):
		st.logf("senders still retrying at the end of the drain")
	}
	for time.Now().Before(deadline) && ctx.Err() == nil {
		missing := 0
		msgs := st.snapshot()
		for _, m := range msgs {
			m.mu.Lock()
			if m.answered {
				for _, d := range m.delivered {
					if d.IsZero() {
						missing++
					}
				}
			}
			m.mu.Unlock()
		}
		pushed := map[string]bool{}
		for _, rq := range push.Requests() {
			pushed[rq.Token+" "+rq.MessageID()] = true
		}
		if missing == 0 && len(pushed) >= st.answered(msgs) {
			// Wait a little more for late duplicates of the pushes.
			_ = sleep(ctx, 2*time.Second)
			return
		}
		_ = sleep(ctx, 250*time.Millisecond)
	}
}

// snapshot returns the messages sent so far.
func (st *chaosState) snapshot() []*chaosMsg {
	st.mu.Lock()
	defer st.mu.Unlock()
	return slices.Clip(st.msgs)
}

func (st *chaosState) answered(msgs []*chaosMsg) int {
	n := 0
	for _, m := range msgs {
		m.mu.Lock()
		if m.answered {
			n++
		}
		m.mu.Unlock()
	}
	return n
}

// chaosStored is what the store holds of the load's messages, read back at the end.
type chaosStored struct {
	copies   map[int]int    // message no -> stored messages with its text
	byID     map[string]int // message id -> no
	problems []string
}

func (st *chaosState) stored(ctx context.Context) (chaosStored, error) {
	s := chaosStored{copies: map[int]int{}, byID: map[string]int{}}
	msgs := st.snapshot()
	for r, room := range st.rooms {
		c := st.users[room.members[0]].c
		after := int64(0)
		for {
			rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			page, more, err := c.History(rctx, room.id, chat.HistoryQuery{AfterSeq: after, Forward: true, Limit: 100})
			cancel()
			if err != nil {
				return s, fmt.Errorf("room %d: %w", r, err)
			}
			for _, m := range page {
				after = max(after, m.Seq)
				if no, ok := chaosNo(m.Text); ok {
					s.copies[no]++
					s.byID[m.ID] = no
					if no >= len(msgs) || msgs[no].room != r {
						s.problems = append(s.problems, fmt.Sprintf("message %q stored in room %d", m.Text, r))
					}
				}
			}
			if !more || len(page) == 0 {
				break
			}
		}
	}
	return s, nil
}

// account fills w from the messages first tried in [from, until).
func (st *chaosState) account(w *chaosWindow, from, until time.Time, stored chaosStored, pushes map[string]map[int][]time.Time) {
	type slow struct{ sent, done time.Time }
	var slows []slow // in the order the messages were first tried
	for no, m := range st.snapshot() {
		if m.first.Before(from) || !m.first.Before(until) {
			continue
		}
		m.mu.Lock()
		copies := stored.copies[no]
		if m.answered {
			w.Sent++
		} else if copies == 0 {
			// Never answered and not stored: the sender gave up on it, nothing to deliver.
			w.Unanswered++
			m.mu.Unlock()
			continue
		}
		if copies == 0 {
			// Answered with success but not in the room's history: lost in storage.
			w.Lost += len(m.delivered)
			w.Deliveries += len(m.delivered)
			w.example(fmt.Sprintf("message %d answered but not stored", no))
			m.mu.Unlock()
			continue
		}
		w.Stored++
		w.Duplicated += copies - 1 + m.dups
		if copies > 1 || m.dups > 0 {
			w.example(fmt.Sprintf("message %d: stored %d times, handed over %d extra times", no, copies, m.dups))
		}
		w.Deliveries += len(m.delivered)
		var last time.Time
		for i, d := range m.delivered {
			if d.IsZero() {
				w.Lost++
				w.example(fmt.Sprintf("message %d never reached member %d of room %d", no, i, m.room))
				continue
			}
			w.Delivered++
			if d.After(last) {
				last = d
			}
		}
		if !last.IsZero() {
			lat := last.Sub(m.first)
			w.WorstMs = max(w.WorstMs, float64(lat.Milliseconds()))
			if lat > time.Second {
				slows = append(slows, slow{m.first, last})
			}
		}
		m.mu.Unlock()
		w.PushesWant++
		times := pushes[st.rooms[m.room].token][no]
		var lag time.Duration // > 0: pushed again after a notify kill that followed the first
		if len(times) > 1 {
			lag = st.killedWhilePushing(times[0], times[1])
		}
		switch n := len(times); {
		case lag > 0:
			w.PushedOnce++
			w.PushRedone += n - 1
			w.RedoneLagMs = max(w.RedoneLagMs, float64(lag.Milliseconds()))
		case n == 0:
			w.PushMissing++
			w.example(fmt.Sprintf("message %d not pushed", no))
		case n == 1:
			w.PushedOnce++
		default:
			w.PushedOnce++
			w.PushDup += n - 1
			w.example(fmt.Sprintf("message %d pushed %d times", no, n))
		}
	}
	w.Slow = len(slows)
	end, seen := from, from
	for _, sl := range slows {
		if sl.sent.Sub(seen) > 5*time.Second {
			break
		}
		seen = sl.sent
		if sl.done.After(end) {
			end = sl.done
		}
	}
	w.RecoveryMs = float64(end.Sub(from).Milliseconds())
}

func (w *chaosWindow) example(s string) {
	if len(w.Examples) < 10 {
		w.Examples = append(w.Examples, s)
	}
}

// killedWhilePushing returns how long after a push at first the notify process was
// SIGKILLed, when that happened before the push was made again at again; else 0.
func (st *chaosState) killedWhilePushing(first, again time.Time) time.Duration {
	for _, k := range st.notifyKills {
		if k.After(first) && again.After(k) {
			return k.Sub(first)
		}
	}
	return 0
}

// inject runs one fault and returns what it did, with its timings.
func (st *chaosState) inject(ctx context.Context, fault string, api, chats []*chatProc, notify *chatProc,
	rc *testenv.RedisCluster, redisAddrs []string) (string, error) {
	restartAfterDown := func(p *chatProc) (string, error) {
		p.kill()
		_ = sleep(ctx, st.cfg.Down)
		t := time.Now()
		if err := p.start(ctx); err != nil {
			return "", err
		}
		return fmt.Sprintf("SIGKILL %s, started again after %s (ready in %.1f s)", p.name, st.cfg.Down, time.Since(t).Seconds()), nil
	}
	switch fault {
	case "chat-kill":
		return restartAfterDown(chats[0])
	case "notify-kill":
		st.mu.Lock()
		st.notifyKills = append(st.notifyKills, time.Now())
		st.mu.Unlock()
		return restartAfterDown(notify)
	case "api-kill":
		return restartAfterDown(api[0])
	case "pubsub-kill":
		killed := 0
		for _, addr := range redisAddrs {
			c := goredis.NewClient(&goredis.Options{Addr: addr})
			kctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			n, err := c.ClientKillByFilter(kctx, "TYPE", "pubsub").Result()
			cancel()
			_ = c.Close()
			if err != nil {
				return "", fmt.Errorf("CLIENT KILL TYPE pubsub on %s: %w", addr, err)
			}
			killed += int(n)
		}
		return fmt.Sprintf("CLIENT KILL TYPE pubsub on every Redis node: %d connections", killed), nil
	case "redis-primary":
		t := time.Now()
		addr, err := rc.KillPrimary(ctx)
		if err != nil {
			return "", err
		}
		wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		err = rc.WaitFailover(wctx, addr)
		cancel()
		if err != nil {
			return "", fmt.Errorf("no replica took over from %s: %w", addr, err)
		}
		promoted := time.Since(t)
		if err := rc.Restart(addr); err != nil {
			return "", err
		}
		return fmt.Sprintf("SIGKILL primary %s; its replica served the slots after %.1f s; restarted as a replica", addr, promoted.Seconds()), nil
	}
	return "", fmt.Errorf("unknown fault %q", fault)
}
