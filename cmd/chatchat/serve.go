package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/chatchat/chatchat/api"
	"github.com/chatchat/chatchat/auth"
	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/ratelimit"
	"github.com/chatchat/chatchat/ws"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/time/rate"
)

func parseServe(args []string, env map[string]string, stdout io.Writer) (*settings, error) {
	var s settings
	fs := s.flagSet("serve")
	fs.SetOutput(stdout)
	fs.Usage = func() {
		fmt.Fprintf(stdout, "Usage: chatchat serve [flags]\n\nEvery flag can also be set by the environment variable shown beside it; the flag wins.\n\n")
		fs.PrintDefaults()
	}
	if err := applyEnv(fs, env); err != nil {
		return nil, err
	}
	s.unknownEnv = unknownEnv(fs, env)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, flag.ErrHelp
		}
		return nil, errUsage
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	return &s, nil
}

func serve(ctx context.Context, args []string, env map[string]string, stdout, stderr io.Writer) error {
	s, err := parseServe(args, env, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	a, err := newApp(ctx, s, stderr)
	if err != nil {
		return err
	}
	defer a.close()
	return a.serve(ctx, stdout)
}

// app is one process's wiring: the backends, the services of its roles, and the router.
type app struct {
	s       *settings
	log     *slog.Logger
	b       *backends
	router  *api.Router
	chatSrv *ws.Server
	auth    *auth.Service
	cleanup []func()
}

func newApp(ctx context.Context, s *settings, stderr io.Writer) (_ *app, err error) {
	roles, err := s.roles()
	if err != nil {
		return nil, err
	}
	log, err := newLogger(stderr, s.LogLevel, s.LogFormat)
	if err != nil {
		return nil, err
	}
	if s.NodeID == "" {
		s.NodeID = chat.NewID()
	}
	log = log.With("node", s.NodeID)
	// A container's memory limit (cgroup) becomes the Go runtime's soft limit at 90%, so
	// that the collector works harder before the kernel kills the task (ECS, Kubernetes);
	// GOMEMLIMIT in the environment wins, and no limit leaves the runtime as it is.
	if _, err := memlimit.Set(memlimit.WithRatio(0.9), memlimit.WithProvider(memlimit.FromCgroup),
		memlimit.WithLogger(log)); err != nil {
		log.Warn("the container's memory limit is not the Go runtime's", "err", err)
	}
	if len(s.unknownEnv) > 0 {
		// Names only: a value may be a secret.
		log.Warn("environment variables that no setting reads are ignored", "names", s.unknownEnv)
	}
	if err := os.MkdirAll(s.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	secret, err := jwtSecret(s)
	if err != nil {
		return nil, err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	b, err := openBackends(ctx, s, log, reg)
	if err != nil {
		return nil, err
	}
	a := &app{s: s, log: log, b: b}
	defer func() {
		if err != nil {
			a.close()
		}
	}()

	publishFailed := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "chatchat_publish_failures_total", Help: "Events that could not be published on the bus, by type.",
	}, []string{"type"})
	reg.MustRegister(publishFailed)
	svcCfg := chat.ServiceConfig{
		NodeID: s.NodeID, MaxTextRunes: s.MaxTextRunes, MaxRoomMembers: s.MaxRoomSize, Logger: log,
		OnPublishFailed: func(t string, _ error) { publishFailed.WithLabelValues(t).Inc() },
		UpdateWindow:    s.ReactionWindow,
	}
	if s.FaultExitAfterStore {
		svcCfg.AfterStore = func(m chat.Message) {
			log.Error("fault injection: exiting after storing a message, before publishing it", "message", m.ID)
			os.Exit(70)
		}
	}
	svc := chat.NewService(svcCfg, b.store, b.bus, b.presence)
	// The service caches room membership for the API and chat roles; ROOM_UPDATED events
	// from every node keep it current.
	if roles["api"] || roles["ws"] {
		a.cleanup = append(a.cleanup, b.bus.Subscribe(chat.TopicSessions, svc))
	}
	// Expired tokens are pruned by the API processes, which write them; every process that
	// verifies tokens keeps the revocation set current.
	prune := time.Duration(-1)
	if roles["api"] {
		prune = 0 // the default
	}
	authSvc := auth.New(auth.Config{
		Secret: secret, AccessTTL: s.AccessTokenTTL, RefreshTTL: s.RefreshTokenTTL,
		Argon2: auth.Argon2Params{Memory: uint32(s.Argon2MemoryKiB), Time: uint32(s.Argon2Iterations)},
		Bus:    b.bus, NodeID: s.NodeID, Logger: log, PruneInterval: prune,
	}, b.store, b.store, b.store)
	svc.SetSessionEnder(authSvc) // suspensions and erasures end the user's sessions
	if roles["api"] || roles["ws"] {
		a.auth = authSvc
		a.cleanup = append(a.cleanup, b.bus.Subscribe(chat.TopicSessions, authSvc))
		// Loaded before the first request: a restarted process must not accept an
		// ended session's token until its first reload.
		if err := authSvc.Reload(ctx); err != nil {
			return nil, err
		}
	}
	mediaSvc, err := a.wireMedia(ctx, svc, secret)
	if err != nil {
		return nil, err
	}
	devices, err := a.wireNotify(ctx, svc, reg)
	if err != nil {
		return nil, err
	}
	if devices != nil { // exports include, and erasures remove, devices and push history
		svc.SetUserDataSources(devices)
	}

	a.router = api.NewRouter(log, reg)
	a.router.HandleFunc("GET /healthz", api.Health)
	a.router.HandleFunc("GET /readyz", api.Ready(log, b.checks))
	a.router.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))

	if roles["api"] {
		apiSrv := api.NewServer(api.Config{
			MaxBodyBytes: s.MaxBodyBytes, TrustProxy: s.TrustProxy, Logger: log,
			GzipMinBytes: s.GzipMinBytes,
			SignupPerIP:  perMinute(s.SignupPerMinute),
			LoginPerIP:   perMinute(s.LoginPerMinute),
			LoginPerUser: perMinute(s.LoginPerMinute),
			SendPerUser:  perSecond(s.SendPerSecond),
			RoomsPerUser: perMinute(s.RoomsPerMinute),
			// A few a minute: enough to retry, too few to make the store read a user's
			// whole history in a loop.
			ExportsPerUser: perMinute(2),
			SearchPerUser:  perMinute(60),
			MaxDevices:     s.MaxDevices,
			Media:          mediaSvc,
			// Both nil when push is off: a nil interface converts to a nil interface.
			Devices:       devices,
			Notifications: devices,
		}, svc, authSvc)
		apiSrv.Register(a.router)
	}
	if roles["api"] {
		// Any API process publishes what another stored and could not (the outbox).
		rctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() {
			svc.RunOutboxRelay(rctx, chat.OutboxRelayConfig{Interval: s.OutboxRelayInterval, Age: s.OutboxRelayAge})
		})
		// Retention sweeps run in every API process; two deleting the same messages at
		// once is harmless (a delete of what is gone deletes nothing).
		wg.Go(func() {
			svc.RunRetention(rctx, chat.RetentionConfig{DefaultDays: s.RetentionDays, Interval: s.RetentionInterval})
		})
		// Erasures a crash interrupted are finished; held usernames of erased users freed.
		wg.Go(func() { svc.RunErasures(rctx, time.Minute) })
		a.cleanup = append(a.cleanup, func() { cancel(); wg.Wait() })
	}
	if roles["api"] || roles["ws"] {
		// DELIVERED frames and POST .../delivered both end in this process's coalescer;
		// stopping it publishes what it still holds.
		rctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { svc.RunDeliveryReceipts(rctx) })
		// Reactions' MESSAGE_UPDATED events, one per message per window (0: each at once).
		if s.ReactionWindow > 0 {
			wg.Go(func() { svc.RunMessageUpdates(rctx) })
		}
		a.cleanup = append(a.cleanup, func() { cancel(); wg.Wait() })
	}
	if roles["ws"] {
		a.chatSrv = ws.New(ws.Config{
			MaxFrameBytes: s.MaxFrameBytes, SendQueue: s.SendQueue, NodeID: s.NodeID,
			SendQueueBytes: s.SendQueueBytes, WriteLinger: s.WriteLinger,
			AllowedOrigins: splitList(s.AllowedOrigins), FrameRate: s.FramesPerSecond,
			FrameBurst: int(2 * s.FramesPerSecond), PingInterval: s.WSPingInterval,
			IdleTimeout: s.WSIdleTimeout, SweepInterval: s.WSSweepInterval,
			Deflate: s.WSDeflate,
		}, svc, authSvc, log, reg)
		if routes, ok := b.bus.(ws.Routes); ok { // --bus-mode room
			a.chatSrv.SetRoutes(routes)
		}
		a.cleanup = append(a.cleanup, b.bus.Subscribe(chat.TopicSessions, a.chatSrv))
		a.router.Handle("GET /ws", a.chatSrv)
	}
	if err := registerWeb(a.router, roles, s.WSPublicURL); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *app) close() {
	for i := len(a.cleanup) - 1; i >= 0; i-- {
		a.cleanup[i]()
	}
	a.cleanup = nil
	a.b.close(a.log)
}

// serve listens until ctx ends, then shuts down gracefully.
func (a *app) serve(ctx context.Context, stdout io.Writer) error {
	s, log := a.s, a.log
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           a.router,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       s.HTTPReadTimeout,
		WriteTimeout:      s.HTTPWriteTimeout,
		IdleTimeout:       s.HTTPIdleTimeout,
		MaxHeaderBytes:    64 << 10, // a token and cookies, not megabytes
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// Profiles on their own listener, opened before serving so that a taken address stops
	// the start; stopped after the public server.
	var prof *pprofServer
	if s.PprofAddr != "" {
		if prof, err = startPprof(s.PprofAddr, log); err != nil {
			ln.Close()
			return err
		}
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	stopSweep := a.startSweeper()
	defer stopSweep()
	// The chat server's sweeper pings idle sockets and closes dead ones; it stops with
	// chatSrv.Shutdown below.
	// Its context also ends if serving fails, so that the deferred wait cannot hang.
	var sweeping sync.WaitGroup
	defer sweeping.Wait()
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	if a.chatSrv != nil {
		sweeping.Go(func() { _ = a.chatSrv.Run(runCtx) })
	}
	if a.auth != nil {
		sweeping.Go(func() { _ = a.auth.Run(runCtx) })
	}
	roles, _ := s.roles() // checked by newApp
	fmt.Fprintf(stdout, "ChatChat is running (roles %s): %s\n", s.Roles, servingLine(roles, ln.Addr().String()))
	log.Info("serving", "addr", ln.Addr().String(), "roles", s.Roles, "store", a.b.storeName, "bus", a.b.busName)
	if prof != nil {
		// Not "on http://…": the test harness takes that line for the server's address.
		fmt.Fprintf(stdout, "Profiles (pprof) at http://%s/debug/pprof/\n", prof.Addr())
		log.Info("pprof", "addr", prof.Addr())
	}

	if prof != nil {
		// Registered after the deferred sweeper waits, so it runs before them: the
		// profiles stop last of the listeners, with the shutdown's own time bound.
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), s.ShutdownTimeout)
			defer cancel()
			prof.stop(sctx)
		}()
	}
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), s.ShutdownTimeout)
	defer cancel()
	// Stop accepting and finish in-flight requests while WebSockets are told to go away
	// (1001), so that their clients reconnect elsewhere and resume.
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(sctx) }()
	if a.chatSrv != nil {
		if err := a.chatSrv.Shutdown(sctx); err != nil {
			log.Warn("websocket shutdown", "err", err)
		}
	}
	if err := <-done; err != nil {
		log.Warn("http shutdown", "err", err)
	}
	<-served
	log.Info("stopped")
	return nil
}

// startSweeper drops expired in-process presence entries every half TTL, until stopped.
func (a *app) startSweeper() (stop func()) {
	if a.b.sweep == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(max(a.s.PresenceTTL/2, time.Second))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				a.b.sweep()
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

func jwtSecret(s *settings) ([]byte, error) {
	if s.JWTSecret != "" {
		if len(s.JWTSecret) < 32 {
			return nil, errors.New("--jwt-secret must be at least 32 characters")
		}
		return []byte(s.JWTSecret), nil
	}
	if s.RedisURL != "" || s.MongoURI != "" {
		return nil, errors.New("--jwt-secret (CHATCHAT_JWT_SECRET) is required when Redis or MongoDB is configured: every node must sign with the same key")
	}
	return auth.LoadOrCreateSecret(s.DataDir)
}

func perMinute(n float64) api.Limiter {
	if n <= 0 {
		return nil
	}
	return ratelimit.New(rate.Limit(n/60), max(int(n), 1), 100_000)
}

func perSecond(n float64) api.Limiter {
	if n <= 0 {
		return nil
	}
	return ratelimit.New(rate.Limit(n), max(int(2*n), 1), 100_000)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "auto":
		if f, ok := w.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				return slog.New(slog.NewTextHandler(w, opts)), nil
			}
		}
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("--log-format %q: want text, json or auto", format)
	}
}

func dbPath(dataDir string) string { return filepath.Join(dataDir, "chatchat.db") }
