package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"
)

// pprofServer serves net/http/pprof on its own listener (--pprof-addr), never on the public
// edge: profiles show the process's memory and code paths, so the address is meant to be
// loopback or a private network only.
type pprofServer struct {
	srv    *http.Server
	ln     net.Listener
	cancel context.CancelFunc // ends running requests (a CPU profile) at shutdown
	wg     sync.WaitGroup
}

// pprofMux routes the /debug/pprof/ pages without http.DefaultServeMux, which nothing
// else may rely on being empty or not.
func pprofMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return mux
}

// startPprof listens on addr and serves the profiles until stop.
func startPprof(addr string, log *slog.Logger) (*pprofServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--pprof-addr: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &pprofServer{
		ln: ln, cancel: cancel,
		srv: &http.Server{
			Handler:           pprofMux(),
			ReadHeaderTimeout: 10 * time.Second,
			BaseContext:       func(net.Listener) context.Context { return ctx },
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
	}
	p.wg.Go(func() {
		if err := p.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("pprof server", "err", err)
		}
	})
	return p, nil
}

// Addr is the address the profiles are served on.
func (p *pprofServer) Addr() string { return p.ln.Addr().String() }

// stop ends running profiles (they answer with what they took), waits for their answers
// until ctx ends, and returns once the server's goroutine has.
func (p *pprofServer) stop(ctx context.Context) {
	p.cancel()
	if err := p.srv.Shutdown(ctx); err != nil {
		p.srv.Close()
	}
	p.wg.Wait()
}
