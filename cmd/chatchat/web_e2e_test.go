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

// TestServingLine checks what serve says it serves: the web app's URL only where the api
// role runs, since only there is a page to open.
func TestServingLine(t *testing.T) {
	for _, tc := range []struct {
		roles, want string
	}{
		{"api,ws,notify", "open http://127.0.0.1:8080/"},
		{"api,notify", "open http://127.0.0.1:8080/"},
		{"ws", "WebSocket on ws://127.0.0.1:8080/ws (no web app here"},
		{"ws,notify", "WebSocket on ws://127.0.0.1:8080/ws (no web app here"},
		{"notify", "no web app or WebSocket here; health on http://127.0.0.1:8080/readyz"},
	} {
		t.Run(tc.roles, func(t *testing.T) {
			roles, err := (&settings{Roles: tc.roles}).roles()
			if err != nil {
				t.Fatal(err)
			}
			if got := servingLine(roles, "127.0.0.1:8080"); !strings.HasPrefix(got, tc.want) {
				t.Errorf("servingLine(%s) = %q, want it to start %q", tc.roles, got, tc.want)
			}
		})
	}

	// A chat-only node indeed serves no page, and the harness finds its address.
	n := startNode(t, "", nil, "--roles", "ws")
	for path, want := range map[string]int{"/": 404, "/readyz": 200} {
		resp, err := http.Get(n.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s on a ws node: %d, want %d", path, resp.StatusCode, want)
		}
	}
}
