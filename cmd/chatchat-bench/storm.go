package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/chatchat/chatchat/client"
)

// The reaction storm (chatchat-bench storm): every client is a member of one group with one
// message, and the members react to it at a fixed rate through the HTTP API while all of
// them are connected. A reaction with rev r counts as delivered to a client when the client
// receives a MESSAGE_UPDATED of that message with a rev of r or more (readers keep the
// highest rev, so a later state carries it). It reports the delivery latency over every
// (reaction, client) pair, the bytes each client received a second, and the server's CPU.

type stormConfig struct {
	URL        string
	Clients    int
	Rate       float64
	Duration   time.Duration
	Drain      time.Duration
	HTTPConns  int
	ServerPIDs []int
}

func runStorm(ctx context.Context, args []string, out io.Writer) error {
	var cfg stormConfig
	var pids string
	fs := flag.NewFlagSet("chatchat-bench storm", flag.ContinueOnError)
	fs.StringVar(&cfg.URL, "url", "http://127.0.0.1:8080", "base URL of ChatChat (API and chat server)")
	fs.IntVar(&cfg.Clients, "clients", 1000, "members of the group, each connected")
	fs.Float64Var(&cfg.Rate, "rate", 500, "reactions per second")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "reacting time")
	fs.DurationVar(&cfg.Drain, "drain", 5*time.Second, "longest wait for the last reactions' events")
	fs.IntVar(&cfg.HTTPConns, "http-conns", 32, "concurrent reacting requests")
	fs.StringVar(&pids, "server-pid", "", "comma list of server process ids to read CPU from (/proc)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, p := range splitList(pids) {
		n, err := strconv.Atoi(p)
		if err != nil {
			return fmt.Errorf("-server-pid: %w", err)
		}
		cfg.ServerPIDs = append(cfg.ServerPIDs, n)
	}
	if cfg.Clients < 2 || cfg.Rate <= 0 {
		return errors.New("storm needs -clients of at least 2 and a -rate")
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()

	tr := &http.Transport{MaxIdleConns: cfg.HTTPConns + 16, MaxIdleConnsPerHost: cfg.HTTPConns + 16}
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	logf := func(format string, a ...any) { fmt.Fprintf(out, format+"\n", a...) }

	// Members, the group and its one message.
	users := make([]*client.Client, cfg.Clients)
	ids := make([]string, cfg.Clients)
	run := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	if err := parallel(ctx, cfg.Clients, 16, func(ctx context.Context, i int) error {
		c := client.New(cfg.URL, client.WithHTTPClient(hc), client.WithHeartbeat(0))
		name := fmt.Sprintf("s%su%d", run, i)
		a, err := c.Signup(ctx, name, "bench-password-1", name)
		if err != nil {
			return fmt.Errorf("sign up %s: %w", name, err)
		}
		users[i], ids[i] = c, a.User.ID
		return nil
	}); err != nil {
		return err
	}
	room, _, err := users[0].CreateRoom(ctx, client.NewRoom{Type: "group", Name: "storm", MemberIDs: ids[1:]})
	if err != nil {
		return fmt.Errorf("create the group: %w", err)
	}
	msg, _, err := users[0].SendMessage(ctx, room.ID, client.NewMessage{Text: "react to me"})
	if err != nil {
		return err
	}
	logf("storm: %d members in one group, one message (rev %d)", cfg.Clients, msg.Rev)

	// Every member connected, counting what arrives.
	readers := make([]*stormReader, cfg.Clients)
	if err := parallel(ctx, cfg.Clients, 32, func(ctx context.Context, i int) error {
		hdr := http.Header{"Authorization": {"Bearer " + users[i].Tokens().AccessToken}}
		nc, br, err := dialWS(ctx, wsScheme(cfg.URL)+"/ws", hdr, nil)
		if err != nil {
			return err
		}
		c := &benchConn{idx: i, room: -1, nc: nc, br: br, done: make(chan struct{})}
		if err := c.writeText([]byte(`{"type":"HEART_BEAT","data":{}}`)); err != nil {
			return err
		}
		rd := &stormReader{c: c, msgID: []byte(msg.ID)}
		readers[i] = rd
		go rd.loop()
		return nil
	}); err != nil {
		return err
	}
	defer func() {
		for _, rd := range readers {
			if rd != nil {
				rd.c.nc.Close()
				<-rd.c.done
			}
		}
	}()
	time.Sleep(time.Second) // the last sessions settle
	logf("storm: %d connected", cfg.Clients)

	// The storm: reaction k by member k mod N with emoji k/N mod 20, so every one is a change.
	total := int(cfg.Rate * cfg.Duration.Seconds())
	if total > cfg.Clients*20 {
		return fmt.Errorf("%d reactions need more than %d members × 20 emoji", total, cfg.Clients)
	}
	type sent struct{ rev, atNs int64 }
	sends := make([]sent, total)
	var failed atomic.Int64
	cpu0, _ := sampleProcs(cfg.ServerPIDs)
	for _, rd := range readers {
		rd.startBytes.Store(rd.bytes.Load())
	}
	start := time.Now()
	interval := time.Duration(float64(time.Second) / cfg.Rate)
	jobs := make(chan int, cfg.HTTPConns)
	var wg sync.WaitGroup
	for range cfg.HTTPConns {
		wg.Go(func() {
			for k := range jobs {
				at := time.Now().UnixNano()
				m, err := users[k%cfg.Clients].React(ctx, room.ID, msg.ID, fmt.Sprintf("e%d", (k/cfg.Clients)%20))
				if err != nil {
					failed.Add(1)
					continue
				}
				sends[k] = sent{rev: m.Rev, atNs: at}
			}
		})
	}
	for k := 0; k < total; k++ {
		if d := time.Until(start.Add(time.Duration(k) * interval)); d > 0 {
			time.Sleep(d)
		}
		select {
		case jobs <- k:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	sendTime := time.Since(start)
	var maxRev int64
	for _, s := range sends {
		maxRev = max(maxRev, s.rev)
	}
	// Wait until every client saw the last rev, or the drain is over.
	deadline := time.Now().Add(cfg.Drain)
	for time.Now().Before(deadline) {
		all := true
		for _, rd := range readers {
			if rd.maxRev.Load() < maxRev {
				all = false
				break
			}
		}
		if all {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	elapsed := time.Since(start)
	cpu1, _ := sampleProcs(cfg.ServerPIDs)

	// Latency of every (reaction, client) pair: the first event at or past its rev.
	slices.SortFunc(sends, func(a, b sent) int { return int(a.rev - b.rev) })
	hist := hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)
	undelivered, events := 0, 0
	var bytesTotal int64
	for _, rd := range readers {
		rd.mu.Lock()
		got := rd.got
		rd.mu.Unlock()
		events += len(got)
		bytesTotal += rd.bytes.Load() - rd.startBytes.Load()
		j := 0
		for _, s := range sends {
			if s.rev == 0 {
				continue
			}
			for j < len(got) && got[j].rev < s.rev {
				j++
			}
			if j == len(got) {
				undelivered++
				continue
			}
			_ = hist.RecordValue(max(1, (got[j].atNs-s.atNs)/1000))
		}
	}
	ms := func(q float64) float64 { return float64(hist.ValueAtQuantile(q)) / 1000 }
	logf("storm: %d reactions in %s (%.0f/s asked, %.0f/s made), %d failed", total, sendTime.Round(time.Millisecond),
		cfg.Rate, float64(total)/sendTime.Seconds(), failed.Load())
	logf("storm: MESSAGE_UPDATED events per client %.1f (%.1f/s); bytes per client per second %.0f",
		float64(events)/float64(cfg.Clients), float64(events)/float64(cfg.Clients)/elapsed.Seconds(),
		float64(bytesTotal)/float64(cfg.Clients)/elapsed.Seconds())
	logf("storm: delivery of a reaction to a member p50 %.1f ms, p99 %.1f ms, max %.1f ms; %d (reaction, member) pairs undelivered",
		ms(50), ms(99), float64(hist.Max())/1000, undelivered)
	if len(cfg.ServerPIDs) > 0 {
		cpu := cpu1.cpu - cpu0.cpu
		logf("storm: server CPU %.2f s over %.1f s (%.2f cores); %.0f µs a reaction", cpu.Seconds(), elapsed.Seconds(),
			cpu.Seconds()/elapsed.Seconds(), float64(cpu.Microseconds())/float64(total))
	}
	return nil
}

// stormReader reads one member's socket: the bytes of every frame, and the rev and arrival
// of every MESSAGE_UPDATED of the storm's message.
type stormReader struct {
	c     *benchConn
	msgID []byte

	bytes      atomic.Int64
	startBytes atomic.Int64
	maxRev     atomic.Int64
	mu         sync.Mutex
	got        []stormEvent // ascending rev
}

type stormEvent struct{ rev, atNs int64 }

var (
	updatedType = []byte(`"type":"MESSAGE_UPDATED"`)
	revField    = []byte(`"rev":`)
)

func (rd *stormReader) loop() { rd.c.readFrames(rd.onData) }

func (rd *stormReader) onData(p []byte) {
	rd.bytes.Add(int64(len(p)) + 2)
	if !bytes.Contains(p, updatedType) || !bytes.Contains(p, rd.msgID) {
		return
	}
	// The message's rev: the last "rev" of the frame is the message's own (a reply target
	// has none, reactions have none).
	i := bytes.LastIndex(p, revField)
	if i < 0 {
		return
	}
	rev, _, ok := parseUint(p[i+len(revField):], ',')
	if !ok {
		rev, _, ok = parseUint(p[i+len(revField):], '}')
	}
	if !ok {
		return
	}
	if int64(rev) > rd.maxRev.Load() {
		rd.maxRev.Store(int64(rev))
		rd.mu.Lock()
		rd.got = append(rd.got, stormEvent{rev: int64(rev), atNs: time.Now().UnixNano()})
		rd.mu.Unlock()
	}
}
