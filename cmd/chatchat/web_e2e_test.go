package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestWebClientServed checks that the binary serves the browser client at / beside the
// API, on the same origin, and that the API's own answers are unchanged around it.
func TestWebClientServed(t *testing.T) {
	n := startNode(t, "", nil)
	cases := []struct {
		name, method, path string
		status             int
		ctype, body        string
	}{
		{"page", "GET", "/", 200, "text/html", `<script type="module" src="/assets/js/main.js">`},
		{"module", "GET", "/assets/js/main.js", 200, "text/javascript", "import"},
		{"style", "GET", "/assets/app.css", 200, "text/css", ""},
		{"unknown page", "GET", "/nothing-here", 404, "", ""},
		{"unknown API path keeps the API's error shape", "GET", "/api/v1/nothing", 404, "application/json", `"not_found"`},
		{"not a method of the page", "POST", "/", 405, "", ""},
		{"health is still health", "GET", "/healthz", 200, "application/json", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, n.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("%s %s: %d, want %d: %s", tc.method, tc.path, resp.StatusCode, tc.status, body)
			}
			if !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.ctype) {
				t.Errorf("Content-Type %q, want %q", resp.Header.Get("Content-Type"), tc.ctype)
			}
			if !strings.Contains(string(body), tc.body) {
				t.Errorf("body lacks %q", tc.body)
			}
		})
	}
}

// TestWebClientOnlyWithAPIRole checks that a chat-server-only process serves no page: the
// client needs the API of its own origin.
func TestWebClientOnlyWithAPIRole(t *testing.T) {
	n := startNode(t, "", nil, "--roles", "ws")
	resp, err := http.Get(n.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET / on a ws-only node: %d, want 404", resp.StatusCode)
	}
}
