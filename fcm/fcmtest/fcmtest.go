// Package fcmtest is a local server that speaks FCM's HTTP v1 send API, for tests: it
// records every request and answers each as the test says, success or any of FCM's
// errors, in FCM's own error shape.
package fcmtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Request is one send request the server received.
type Request struct {
	Project string
	// Body is the request body as sent.
	Body []byte
	// Message is the body's "message", decoded.
	Message map[string]any
	Token   string
	Header  http.Header
	// At is when the request arrived.
	At time.Time
}

// MessageID returns the data field messageId of the request's message.
func (r Request) MessageID() string {
	data, _ := r.Message["data"].(map[string]any)
	id, _ := data["messageId"].(string)
	return id
}

// Reply is the server's answer to one request. The zero Reply is a success.
type Reply struct {
	// Status is the HTTP status; 0 means 200.
	Status int
	// Code is FCM's errorCode (UNREGISTERED, INVALID_ARGUMENT, QUOTA_EXCEEDED,
	// UNAVAILABLE, INTERNAL, ...), sent in the error's details.
	Code string
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter string
	// Hold, when set, is waited on before answering.
	Hold <-chan struct{}
}

// Server is a fake FCM endpoint. Point the SDK at Endpoint.
type Server struct {
	// Endpoint is the base URL to use in place of https://fcm.googleapis.com/v1.
	Endpoint string

	hs      *httptest.Server
	mu      sync.Mutex
	reqs    []Request
	reply   func(Request) Reply
	changed chan struct{}
}

// NewServer starts a server answering every request with success, closed when tb ends.
func NewServer(tb testing.TB) *Server {
	tb.Helper()
	s := Start()
	tb.Cleanup(s.Close)
	return s
}

// Start is NewServer for a program rather than a test (the load generator's chaos run,
// which counts the pushes each device got): the caller calls Close.
func Start() *Server {
	s := &Server{changed: make(chan struct{})}
	s.hs = httptest.NewServer(http.HandlerFunc(s.serve))
	s.Endpoint = s.hs.URL + "/v1"
	return s
}

// Close stops the server.
func (s *Server) Close() { s.hs.Close() }

// SetReply makes f decide the answer to every later request. f runs on the request's
// goroutine and may block.
func (s *Server) SetReply(f func(Request) Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reply = f
}

// Requests returns the requests received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// WaitRequests waits until n requests were received and returns them all.
func (s *Server) WaitRequests(tb testing.TB, n int) []Request {
	tb.Helper()
	deadline := time.After(30 * time.Second)
	for {
		s.mu.Lock()
		got, ch := len(s.reqs), s.changed
		s.mu.Unlock()
		if got >= n {
			return s.Requests()
		}
		select {
		case <-ch:
		case <-deadline:
			tb.Fatalf("fcmtest: %d requests received, want %d", got, n)
		}
	}
}

var statusOf = map[int]string{
	400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
	429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE",
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	project, ok := strings.CutPrefix(r.URL.Path, "/v1/projects/")
	project, ok2 := strings.CutSuffix(project, "/messages:send")
	if r.Method != http.MethodPost || !ok || !ok2 {
		http.Error(w, "not an FCM send request: "+r.Method+" "+r.URL.Path, http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var env struct {
		Message map[string]any `json:"message"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := Request{Project: project, Body: body, Message: env.Message, Header: r.Header.Clone(), At: time.Now()}
	req.Token, _ = env.Message["token"].(string)

	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	n := len(s.reqs)
	close(s.changed)
	s.changed = make(chan struct{})
	reply := s.reply
	s.mu.Unlock()

	var rp Reply
	if reply != nil {
		rp = reply(req)
	}
	if rp.Hold != nil {
		<-rp.Hold
	}
	w.Header().Set("Content-Type", "application/json")
	if rp.RetryAfter != "" {
		w.Header().Set("Retry-After", rp.RetryAfter)
	}
	if rp.Status == 0 || rp.Status == http.StatusOK {
		fmt.Fprintf(w, `{"name":"projects/%s/messages/%d"}`, project, n)
		return
	}
	w.WriteHeader(rp.Status)
	e := map[string]any{"code": rp.Status, "message": "fcmtest: " + rp.Code, "status": statusOf[rp.Status]}
	if rp.Code != "" {
		e["details"] = []any{map[string]any{
			"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": rp.Code,
		}}
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"error": e})
}
