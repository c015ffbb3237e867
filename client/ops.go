package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// Health is the answer of /healthz and /readyz: "ok" or not, with one entry per checked
// dependency.
type Health struct {
	Status string          `json:"status"`
	Checks json.RawMessage `json:"checks,omitempty"`
}

// Healthz reports whether the server is alive (GET /healthz).
func (c *Client) Healthz(ctx context.Context) (Health, error) { return c.health(ctx, "/healthz") }

// Readyz reports whether the server's dependencies are reachable (GET /readyz). A 503
// returns the decoded Health together with an *APIError of status 503, so that the caller
// can see which check failed.
func (c *Client) Readyz(ctx context.Context) (Health, error) { return c.health(ctx, "/readyz") }

func (c *Client) health(ctx context.Context, path string) (Health, error) {
	r := request{method: http.MethodGet, path: path, noAuth: true,
		accept: []int{http.StatusOK, http.StatusServiceUnavailable}}
	resp, err := c.do(ctx, r)
	if err != nil {
		return Health{}, err
	}
	defer resp.Body.Close()
	var h Health
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		return Health{}, fmt.Errorf("client: GET %s: decode answer: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return h, fmt.Errorf("client: GET %s: %w", path,
			&APIError{Status: resp.StatusCode, Message: "not ready: status " + h.Status})
	}
	return h, nil
}

// Metrics returns the server's metrics in the Prometheus text format (GET /metrics).
func (c *Client) Metrics(ctx context.Context) (string, error) {
	resp, err := c.do(ctx, request{method: http.MethodGet, path: "/metrics", noAuth: true,
		headers: http.Header{"Accept": {"text/plain"}}})
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("client: GET /metrics: %w", err)
	}
	return string(b), nil
}
