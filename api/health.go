package api

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// Health answers /healthz: the process is alive and serving.
func Health(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// Ready answers /readyz: 200 when every dependency answers within a second, 503 with the
// failing ones otherwise.
func Ready(checks map[string]chat.Pinger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), time.Second)
		defer cancel()
		var mu sync.Mutex
		var wg sync.WaitGroup
		results := make(map[string]string, len(checks))
		ok := true
		for name, p := range checks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res := "ok"
				if err := p.Ping(ctx); err != nil {
					res = err.Error()
				}
				mu.Lock()
				defer mu.Unlock()
				results[name] = res
				ok = ok && res == "ok"
			}()
		}
		wg.Wait()
		status, word := http.StatusOK, "ok"
		if !ok {
			status, word = http.StatusServiceUnavailable, "unavailable"
		}
		writeJSON(w, status, map[string]any{"status": word, "checks": results})
	}
}
