// Command chatchat-bench is ChatChat's load generator. It signs up users in bulk, opens
// WebSocket clients in rooms, sends messages through the HTTP API at a fixed rate (open
// loop) and measures what the receivers see: end-to-end latency, deliveries per second,
// lost and duplicated messages, and the server's CPU and memory from /proc. It can run the
// same scenarios against Centrifugo, the reference real-time server, for comparison.
//
//	chatchat-bench PRESET [flags]     presets: idle, rooms, broadcast, history, cluster
//	chatchat-bench chart -o out.svg [-rate R] result.json...
//	chatchat-bench compare -idle A -peer-idle B -broadcast C -peer-broadcast D
//	chatchat-bench storm [-clients N] [-rate R]   a reaction storm on one message (storm.go)
//	chatchat-bench chaos -chatchat BIN [flags]     faults under load in a cluster it starts (chaos.go)
//
// Every loop is bounded: sign-up, connect and publish by timeouts, each rate step by
// -duration plus -drain, the whole run by -max-time. Loopback targets only are intended:
// it is a load test.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "chatchat-bench:", err)
		os.Exit(1)
	}
}

// config is a run's settings; it is written into the result file as run.
type config struct {
	Target         string        `json:"target"`
	URL            string        `json:"url"`
	WSURLs         []string      `json:"wsUrls,omitempty"`
	WSByRoom       bool          `json:"wsByRoom,omitempty"`
	APIKey         string        `json:"-"`
	Preset         string        `json:"preset"`
	Clients        int           `json:"clients"`
	RoomSize       int           `json:"roomSize"` // 0: no rooms; -1: one room of everyone
	OneSender      bool          `json:"oneSender"`
	Rates          []float64     `json:"rates"`
	Duration       time.Duration `json:"duration"`
	DrainTimeout   time.Duration `json:"drain"`
	Hold           time.Duration `json:"hold"`
	HTTPConns      int           `json:"httpConns"`
	SetupWorkers   int           `json:"setupWorkers"`
	ConnectWorkers int           `json:"connectWorkers"`
	ServerPIDs     []int         `json:"serverPids"`
	SourceIPs      []net.IP      `json:"sourceIps,omitempty"`
	P99Bound       time.Duration `json:"p99Bound"`
	Heartbeat      time.Duration `json:"heartbeat"`
	ProgressEvery  time.Duration `json:"progressEvery"`
	MaxTime        time.Duration `json:"maxTime"`
	Out            string        `json:"-"`
	Label          string        `json:"label,omitempty"`
	// StartFile, when set, holds the sending steps until the file exists: generators
	// started apart (bench/cluster.sh) then send together.
	StartFile string `json:"startFile,omitempty"`
}

// presets are the scenarios of the performance issue; flags override any field.
var presets = map[string]config{
	"idle":      {Clients: 1000, RoomSize: 0, Hold: 15 * time.Second},
	"rooms":     {Clients: 10000, RoomSize: 5, Rates: []float64{1000}, Duration: 20 * time.Second},
	"broadcast": {Clients: 1000, RoomSize: -1, OneSender: true, Rates: []float64{100, 250, 500, 1000, 2000}, Duration: 10 * time.Second},
	"history":   {Clients: 1000, RoomSize: 5, Rates: []float64{200}, Duration: 5 * time.Second},
	"cluster":   {Clients: 10000, RoomSize: 5, Rates: []float64{1000}, Duration: 20 * time.Second},
}

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return errors.New("usage: chatchat-bench idle|rooms|broadcast|history|cluster [flags], or chatchat-bench chart -o out.svg result.json...")
	}
	switch args[0] {
	case "chart":
		return runChart(args[1:])
	case "compare":
		return runCompare(args[1:], out)
	case "storm":
		return runStorm(ctx, args[1:], out)
	case "chaos":
		return runChaos(ctx, args[1:], out)
	}
	cfg, ok := presets[args[0]]
	if !ok {
		return fmt.Errorf("unknown preset %q", args[0])
	}
	cfg.Preset = args[0]
	if err := parseFlags(&cfg, args[1:]); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.MaxTime)
	defer cancel()
	return runPreset(ctx, cfg, out)
}

func parseFlags(cfg *config, args []string) error {
	fs := flag.NewFlagSet("chatchat-bench "+cfg.Preset, flag.ContinueOnError)
	var rates, pids, srcs, wsURLs string
	fs.StringVar(&cfg.Target, "target", "chatchat", "chatchat or centrifugo")
	fs.StringVar(&cfg.URL, "url", "http://127.0.0.1:8080", "base URL of the API (ChatChat) or of Centrifugo")
	fs.StringVar(&wsURLs, "ws-url", "", "comma list of chat servers' base URLs to spread the WebSockets over (default -url)")
	fs.BoolVar(&cfg.WSByRoom, "ws-by-room", false, "put every member of a room on the same chat server (rooms round-robin), instead of spreading each room's members over the servers")
	fs.StringVar(&cfg.APIKey, "api-key", "bench", "Centrifugo HTTP API key")
	fs.IntVar(&cfg.Clients, "clients", cfg.Clients, "WebSocket clients, one user each")
	fs.IntVar(&cfg.RoomSize, "room-size", cfg.RoomSize, "members per room; 0 no rooms, -1 one room of every client")
	fs.BoolVar(&cfg.OneSender, "one-sender", cfg.OneSender, "every message from the room's first member (else members take turns)")
	fs.StringVar(&rates, "rate", joinFloats(cfg.Rates), "messages per second over all rooms; a comma list ramps through the steps")
	fs.DurationVar(&cfg.Duration, "duration", or(cfg.Duration, 10*time.Second), "sending time of each rate step")
	fs.DurationVar(&cfg.DrainTimeout, "drain", 5*time.Second, "longest wait after a step's last send for its deliveries")
	fs.DurationVar(&cfg.Hold, "hold", or(cfg.Hold, 3*time.Second), "time connected and at rest before the memory and idle CPU are read")
	fs.IntVar(&cfg.HTTPConns, "http-conns", 64, "concurrent publishers (keep-alive HTTP connections)")
	fs.IntVar(&cfg.SetupWorkers, "setup-workers", 16, "concurrent sign-ups and room creations")
	fs.IntVar(&cfg.ConnectWorkers, "connect-workers", 32, "concurrent WebSocket dials")
	fs.StringVar(&pids, "server-pid", "", "comma list of server process ids to read CPU and memory from (/proc)")
	fs.StringVar(&srcs, "source-ip", "", "comma list of local addresses to spread connections over, e.g. 127.0.0.2,127.0.0.3 (beyond ~28k connections to one port)")
	fs.DurationVar(&cfg.P99Bound, "p99-bound", 100*time.Millisecond, "p99 below which a step counts as sustained")
	fs.DurationVar(&cfg.Heartbeat, "heartbeat", 25*time.Second, "HEART_BEAT interval per connection")
	fs.DurationVar(&cfg.ProgressEvery, "progress", 2*time.Second, "interval of the progress line")
	fs.DurationVar(&cfg.MaxTime, "max-time", 30*time.Minute, "the whole run stops after this")
	fs.StringVar(&cfg.Out, "out", "", "write the JSON result here")
	fs.StringVar(&cfg.Label, "label", "", "name of this run in charts (default the target)")
	fs.StringVar(&cfg.StartFile, "start-file", "", "after the hold, wait until this file exists before sending (several generators start their steps together)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if cfg.Rates, err = parseFloats(rates); err != nil {
		return fmt.Errorf("-rate: %w", err)
	}
	if len(cfg.Rates) > maxSteps {
		return fmt.Errorf("-rate: at most %d steps", maxSteps)
	}
	for _, p := range splitList(pids) {
		n, err := strconv.Atoi(p)
		if err != nil {
			return fmt.Errorf("-server-pid: %w", err)
		}
		cfg.ServerPIDs = append(cfg.ServerPIDs, n)
	}
	for _, s := range splitList(srcs) {
		ip := net.ParseIP(s)
		if ip == nil {
			return fmt.Errorf("-source-ip: bad address %q", s)
		}
		cfg.SourceIPs = append(cfg.SourceIPs, ip)
	}
	cfg.WSURLs = splitList(wsURLs)
	if len(cfg.WSURLs) == 0 {
		cfg.WSURLs = []string{cfg.URL}
	}
	if cfg.RoomSize < 0 {
		cfg.RoomSize = cfg.Clients
	}
	if cfg.Label == "" {
		cfg.Label = cfg.Target
	}
	if cfg.Clients < 1 {
		return errors.New("-clients must be at least 1")
	}
	if cfg.Preset != "idle" && (cfg.RoomSize < 2 || len(cfg.Rates) == 0) {
		return errors.New("a sending preset needs -room-size of at least 2 and a -rate")
	}
	return nil
}

func runPreset(ctx context.Context, cfg config, out io.Writer) error {
	tr := &http.Transport{
		MaxIdleConns: cfg.HTTPConns + cfg.SetupWorkers, MaxIdleConnsPerHost: cfg.HTTPConns + cfg.SetupWorkers,
		IdleConnTimeout: time.Minute,
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var t target
	switch cfg.Target {
	case "chatchat":
		t = &chatchatTarget{api: strings.TrimRight(cfg.URL, "/"), wsURLs: cfg.WSURLs, hc: hc}
	case "centrifugo":
		if cfg.Preset == "history" {
			return errors.New("the history preset is ChatChat's (RESUME)")
		}
		t = &centrifugoTarget{base: strings.TrimRight(cfg.URL, "/"), apiKey: cfg.APIKey, hc: hc}
	default:
		return fmt.Errorf("unknown target %q", cfg.Target)
	}
	r := &runner{cfg: cfg, target: t, out: out}
	r.layout()
	res := &runResult{Target: cfg.Label, Preset: cfg.Preset, Config: cfg, Conditions: newConditions(cfg.ServerPIDs, cfg.Clients)}
	r.logf("%s %s: %d clients, %d rooms, load %s", cfg.Target, cfg.Preset, cfg.Clients, len(r.rooms), res.Conditions.LoadBefore)

	if err := t.setup(ctx, r); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	idle, err := r.connectAndHold(ctx)
	defer r.closeAll()
	if err != nil {
		return err
	}
	res.Idle = idle
	hbCtx, hbStop := context.WithCancel(ctx)
	hbDone := make(chan struct{})
	go func() { defer close(hbDone); r.heartbeats(hbCtx, cfg.Heartbeat) }()
	defer func() { hbStop(); <-hbDone }()

	if cfg.StartFile != "" && cfg.Preset != "idle" {
		r.logf("waiting for %s before sending", cfg.StartFile)
		if err := waitFile(ctx, cfg.StartFile); err != nil {
			return err
		}
	}
	if cfg.Preset != "idle" {
		for i, rate := range cfg.Rates {
			r.logf("step %d: %.0f messages/s for %s", i+1, rate, cfg.Duration)
			sr, err := r.runStep(ctx, i, rate)
			if err != nil {
				return fmt.Errorf("step %d: %w", i+1, err)
			}
			res.Steps = append(res.Steps, sr)
			if sr.Sustained {
				res.BestSustained = max(res.BestSustained, sr.DeliveriesPerSec)
			}
			if !sr.Sustained && len(cfg.Rates) > 1 && (sr.Lost > sr.Expected/10 || sr.Latency.P99 > 10*cfg.P99Bound.Seconds()*1000) {
				r.logf("stopping the ramp: the server is far past its capacity")
				break
			}
		}
	}
	if cfg.Preset == "history" {
		if res.History, err = r.runHistory(ctx, t.(*chatchatTarget)); err != nil {
			return fmt.Errorf("history: %w", err)
		}
	}
	res.LostConns = r.lostConns.Load()
	res.Conditions.LoadAfter = loadAvg()
	printTable(out, res)
	if cfg.Out != "" {
		if err := writeJSON(cfg.Out, res); err != nil {
			return err
		}
	}
	return nil
}

// connectAndHold opens every connection and measures the server's memory per connection
// and its CPU while the connections rest.
func (r *runner) connectAndHold(ctx context.Context) (*idleResult, error) {
	genBefore, _ := procRSS(os.Getpid())
	before, err := sampleProcs(r.cfg.ServerPIDs)
	if err != nil {
		return nil, err
	}
	for _, rm := range r.rooms {
		rm.online.Store(int64(len(rm.members)))
	}
	if err := r.connect(ctx); err != nil {
		return nil, err
	}
	// Let the first heartbeats and presence fan-out settle before the rest is measured.
	if err := sleep(ctx, min(3*time.Second, r.cfg.Hold)); err != nil {
		return nil, err
	}
	s1, err := sampleProcs(r.cfg.ServerPIDs)
	if err != nil {
		return nil, err
	}
	r.logf("holding %d connections for %s", len(r.conns), r.cfg.Hold)
	if err := sleep(ctx, r.cfg.Hold); err != nil {
		return nil, err
	}
	s2, err := sampleProcs(r.cfg.ServerPIDs)
	if err != nil {
		return nil, err
	}
	genAfter, _ := procRSS(os.Getpid())
	n := float64(len(r.conns))
	return &idleResult{
		Connections:      len(r.conns),
		RSSBeforeMiB:     float64(before.rssKiB) / 1024,
		RSSAfterMiB:      float64(s2.rssKiB) / 1024,
		KiBPerConn:       float64(s2.rssKiB-before.rssKiB) / n,
		HoldSeconds:      s2.at.Sub(s1.at).Seconds(),
		ServerCPUPercent: 100 * (s2.cpu - s1.cpu).Seconds() / s2.at.Sub(s1.at).Seconds(),
		GenKiBPerConn:    float64(genAfter-genBefore) / n,
	}, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func or(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func splitList(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parseFloats(s string) ([]float64, error) {
	var out []float64
	for _, p := range splitList(s) {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil || f <= 0 {
			return nil, fmt.Errorf("bad rate %q", p)
		}
		out = append(out, f)
	}
	return out, nil
}

func joinFloats(fs []float64) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strings.Join(parts, ",")
}

// waitFile waits until path exists or ctx ends (the run's -max-time).
func waitFile(ctx context.Context, path string) error {
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return fmt.Errorf("waiting for %s: %w", path, err)
		}
	}
}
