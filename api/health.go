package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// Health answers /healthz: the process is alive and serving. The load balancer's health
// check uses it, so that a blip of a shared dependency does not get every task replaced.
func Health(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// Dependency states in /readyz.
const (
	stateOK          = "ok"
	stateTimeout     = "timeout"
	stateUnavailable = "unavailable"
)

// Ready answers /readyz: 200 when every dependency answers within a second, 503 otherwise.
// The answer names each dependency with its state only: the endpoint is unauthenticated,
// and an error's text (addresses, user names, driver detail) is for the log.
func Ready(log *slog.Logger, checks map[string]chat.Pinger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), time.Second)
		defer cancel()
		var mu sync.Mutex
		var wg sync.WaitGroup
		results := make(map[string]string, len(checks))
		ok := true
		for name, p := range checks {
			wg.Go(func() {
				state := stateOK
				if err := p.Ping(ctx); err != nil {
					state = stateUnavailable
					if errors.Is(err, context.DeadlineExceeded) {
						state = stateTimeout
					}
					log.Warn("readyz: dependency not ready", "dependency", name, "state", state, "err", err)
				}
				mu.Lock()
				defer mu.Unlock()
				results[name] = state
				ok = ok && state == stateOK
			})
		}
		wg.Wait()
		status, word := http.StatusOK, "ok"
		if !ok {
			status, word = http.StatusServiceUnavailable, "unavailable"
		}
		writeJSON(w, status, map[string]any{"status": word, "checks": results})
	}
}
