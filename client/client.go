// Package client is a Go client for ChatChat's HTTP API and WebSocket protocol, the wire
// contract described in docs/openapi.yaml and docs/protocol.md.
// End-to-end tests and the load generator use it; so can anyone who integrates ChatChat.
//
// A Client keeps the caller's access and refresh tokens: Signup and Login store them, and a
// request answered 401 with token_expired or invalid_token refreshes them once and is retried.
// Conn is one WebSocket connection; Session is a connection that reconnects by itself and
// hands the caller every message exactly once.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// APIPrefix is the base path of every API endpoint.
const APIPrefix = "/api/v1"

// DefaultHeartbeat is the interval at which a Conn sends HEART_BEAT: well inside the 60 s
// presence TTL, so that one lost heartbeat does not take the user offline.
const DefaultHeartbeat = 25 * time.Second

// maxErrorBody bounds how much of an error answer is read: enough for the error shape or a
// proxy's HTML page, not a whole file.
const maxErrorBody = 64 << 10

// Client calls one ChatChat server. It is safe for concurrent use; its tokens are shared by
// every call and every connection it opens.
type Client struct {
	base      string // scheme://host[:port][/prefix], no trailing slash
	hc        *http.Client
	heartbeat time.Duration
	eventBuf  int

	mu      sync.Mutex
	access  string
	refresh string

	// refreshMu serialises refreshes: refresh tokens rotate on use and a replayed one
	// revokes its whole family, so two concurrent 401s must not both spend the same token.
	refreshMu sync.Mutex
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the Client send its requests with hc instead of http.DefaultClient.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithTokens starts the Client with tokens obtained elsewhere (an earlier login).
func WithTokens(t Tokens) Option {
	return func(c *Client) { c.access, c.refresh = t.AccessToken, t.RefreshToken }
}

// WithHeartbeat sets the interval of the automatic HEART_BEAT of the Client's WebSocket
// connections, the first of which is sent on connecting; 0 turns them off. The default is
// DefaultHeartbeat.
func WithHeartbeat(d time.Duration) Option { return func(c *Client) { c.heartbeat = d } }

// WithEventBuffer sets how many received events a connection queues for a caller that is
// not reading (default 256). A full queue stops reading from the socket, and the server
// eventually drops the connection as a slow consumer (close code 4008).
func WithEventBuffer(n int) Option { return func(c *Client) { c.eventBuf = n } }

// New returns a Client for the server at baseURL, such as "http://127.0.0.1:8080".
func New(baseURL string, opts ...Option) *Client {
	c := &Client{
		base:      strings.TrimRight(baseURL, "/"),
		hc:        http.DefaultClient,
		heartbeat: DefaultHeartbeat,
		eventBuf:  256,
	}
	for _, o := range opts {
		o(c)
	}
	if c.eventBuf < 0 {
		c.eventBuf = 0
	}
	return c
}

// Tokens is an access token and the refresh token that renews it.
type Tokens struct {
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
}

// Tokens returns the tokens the Client currently holds.
func (c *Client) Tokens() Tokens {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Tokens{AccessToken: c.access, RefreshToken: c.refresh}
}

// SetTokens replaces the tokens the Client holds.
func (c *Client) SetTokens(t Tokens) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.access, c.refresh = t.AccessToken, t.RefreshToken
}

func (c *Client) accessToken() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.access
}

// request is one HTTP call. Its body is kept as bytes so that the call can be sent again
// after a token refresh.
type request struct {
	method  string
	path    string // under the base URL, with the API prefix where it applies
	query   url.Values
	body    []byte
	ctype   string
	noAuth  bool // sign-up, login and refresh carry no token and never trigger a refresh
	accept  []int
	headers http.Header
}

// jsonRequest returns a request whose body is v encoded as JSON.
func jsonRequest(method, path string, v any) (request, error) {
	r := request{method: method, path: path}
	if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			return r, fmt.Errorf("client: encode %s %s: %w", method, path, err)
		}
		r.body, r.ctype = b, "application/json"
	}
	return r, nil
}

// do sends r and returns the response when its status is one of r.accept (any 2xx when
// r.accept is empty); otherwise it returns an *APIError. A 401 that says the token is
// expired or invalid refreshes the tokens once and sends r again. The caller closes the
// body of the response.
func (c *Client) do(ctx context.Context, r request) (*http.Response, error) {
	token := ""
	if !r.noAuth {
		token = c.accessToken()
	}
	resp, err := c.send(ctx, r, token)
	if err != nil {
		return nil, err
	}
	if ok(resp.StatusCode, r.accept) {
		return resp, nil
	}
	apiErr := readAPIError(resp)
	if r.noAuth || resp.StatusCode != http.StatusUnauthorized ||
		(apiErr.Code != "token_expired" && apiErr.Code != "invalid_token") {
		return nil, fmt.Errorf("client: %s %s: %w", r.method, r.path, apiErr)
	}
	if err := c.refreshAfter(ctx, token); err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", r.method, r.path, err)
	}
	resp, err = c.send(ctx, r, c.accessToken())
	if err != nil {
		return nil, err
	}
	if ok(resp.StatusCode, r.accept) {
		return resp, nil
	}
	return nil, fmt.Errorf("client: %s %s: %w", r.method, r.path, readAPIError(resp))
}

func ok(status int, accept []int) bool {
	if len(accept) == 0 {
		return status >= 200 && status < 300
	}
	for _, s := range accept {
		if s == status {
			return true
		}
	}
	return false
}

func (c *Client) send(ctx context.Context, r request, token string) (*http.Response, error) {
	u := c.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", r.method, r.path, err)
	}
	req.Header.Set("Accept", "application/json")
	for k, vs := range r.headers {
		req.Header[k] = vs
	}
	if r.ctype != "" {
		req.Header.Set("Content-Type", r.ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", r.method, r.path, err)
	}
	return resp, nil
}

// refreshAfter renews the tokens after a request with failedToken was refused, unless
// another call has renewed them in the meantime.
func (c *Client) refreshAfter(ctx context.Context, failedToken string) error {
	c.refreshMu.Lock()
	defer c.refreshMu.Unlock()
	if c.accessToken() != failedToken {
		return nil
	}
	_, err := c.refreshLocked(ctx)
	return err
}

// call sends r and decodes the JSON answer into out (unless out is nil); it returns the
// status of the answer.
func (c *Client) call(ctx context.Context, r request, out any) (int, error) {
	resp, err := c.do(ctx, r)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if out == nil {
		// Drain so that the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		return resp.StatusCode, nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return resp.StatusCode, fmt.Errorf("client: %s %s: decode answer: %w", r.method, r.path, err)
	}
	return resp.StatusCode, nil
}

// callJSON is call with a JSON body.
func (c *Client) callJSON(ctx context.Context, method, path string, in, out any) (int, error) {
	r, err := jsonRequest(method, path, in)
	if err != nil {
		return 0, err
	}
	return c.call(ctx, r, out)
}

// APIError is an answer of the server that is not a success: the API's error shape
// {"error": {"code", "message"}}. When the body is not that shape (a proxy's page, a plain
// text error), Code is empty and Message holds the start of the body or the status text.
type APIError struct {
	Status  int
	Code    string
	Message string
	// RetryAfter is the wait the server asked for with Retry-After (mostly with 429); zero
	// when it did not say.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("chatchat: %d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("chatchat: %d %s: %s", e.Status, e.Code, e.Message)
}

// ErrorCode returns the code of the *APIError in err's chain, or "" when there is none.
func ErrorCode(err error) string {
	var e *APIError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// ErrorStatus returns the HTTP status of the *APIError in err's chain, or 0 when there is
// none (the request did not reach the server, or the answer could not be decoded).
func ErrorStatus(err error) int {
	var e *APIError
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// readAPIError reads an unsuccessful answer and closes its body.
func readAPIError(resp *http.Response) *APIError {
	defer resp.Body.Close()
	e := &APIError{Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	var shape struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &shape) == nil && shape.Error != nil && shape.Error.Code != "" {
		e.Code, e.Message = shape.Error.Code, shape.Error.Message
		return e
	}
	e.Message = strings.TrimSpace(string(b))
	if len(e.Message) > 200 {
		e.Message = e.Message[:200] + "…"
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}

// retryAfter parses a Retry-After value: delay seconds or an HTTP date.
func retryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 32); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}
