// Package smtest is a local server that speaks the AWS Secrets Manager API's JSON protocol
// (the X-Amz-Target header names the operation) for GetSecretValue, so that tests run the
// real aws-sdk-go-v2 client against secrets they set and change.
package smtest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a fake Secrets Manager endpoint. Point the SDK at URL (a custom base endpoint,
// or AWS_ENDPOINT_URL_SECRETS_MANAGER).
type Server struct {
	// URL is the server's base URL.
	URL string

	mu      sync.Mutex
	secrets map[string]string
	version int
	reads   []Read
	hold    chan struct{}
}

// Read is one GetSecretValue the server answered.
type Read struct {
	SecretID string
	// Authorization is the request's header: the SDK signs with SigV4, so it names the
	// region and the service in its credential scope.
	Authorization string
}

// NewServer starts a server with no secrets, closed when tb ends.
func NewServer(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{secrets: map[string]string{}}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(func() {
		s.Hold(false)
		srv.Close()
	})
	s.URL = srv.URL
	return s
}

// Put sets the secret string of id (an ARN or a name), as PutSecretValue or a rotation
// does.
func (s *Server) Put(id, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets[id] = value
	s.version++
}

// Hold makes the server keep every request waiting until Hold(false) (or the test's end),
// as an endpoint that does not answer.
func (s *Server) Hold(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case on && s.hold == nil:
		s.hold = make(chan struct{})
	case !on && s.hold != nil:
		close(s.hold)
		s.hold = nil
	}
}

// Reads returns the reads answered so far.
func (s *Server) Reads() []Read {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Read(nil), s.reads...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	hold := s.hold
	s.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-r.Context().Done():
			return
		}
	}
	if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" {
		fail(w, http.StatusBadRequest, "UnknownOperationException", "only GetSecretValue is served")
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		fail(w, http.StatusBadRequest, "MissingAuthenticationTokenException", "request is not signed")
		return
	}
	var in struct {
		SecretID     string `json:"SecretId"`
		VersionStage string `json:"VersionStage"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.SecretID == "" {
		fail(w, http.StatusBadRequest, "InvalidParameterException", "SecretId is required")
		return
	}
	s.mu.Lock()
	value, ok := s.secrets[in.SecretID]
	version := s.version
	if ok {
		s.reads = append(s.reads, Read{SecretID: in.SecretID, Authorization: r.Header.Get("Authorization")})
	}
	s.mu.Unlock()
	if !ok || (in.VersionStage != "" && in.VersionStage != "AWSCURRENT") {
		fail(w, http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"ARN": in.SecretID, "Name": in.SecretID, "SecretString": value,
		"VersionId":     "v" + strconv.Itoa(version),
		"VersionStages": []string{"AWSCURRENT"},
		"CreatedDate":   float64(time.Now().Unix()),
	})
}

// fail answers in the protocol's error shape: the type in a header and in the body.
func fail(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Errortype", typ)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}
