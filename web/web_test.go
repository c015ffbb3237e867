package web

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
)

// allowedURLs are absolute URLs that may appear in the assets because they are names, not
// addresses: the SVG namespace is never fetched.
var allowedURLs = map[string]bool{
	"http://www.w3.org/2000/svg": true,
}

var (
	absoluteURL = regexp.MustCompile(`(?i)\bhttps?://[^\s"'<>)\x60]*`)
	// Protocol-relative URLs ("//cdn.example/x.js") in attributes, CSS and imports.
	protocolRelative = regexp.MustCompile(`(?:src|href|action)\s*=\s*["']//|url\(\s*["']?//|from\s+["']//|import\(\s*["']//`)
	// References to files of the client itself, from HTML attributes, CSS and ES imports.
	htmlRef   = regexp.MustCompile(`(?:src|href)="(/[^"]*)"`)
	importRef = regexp.MustCompile(`(?m)^\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)`)
	jsAsset   = regexp.MustCompile(`'(/assets/[^']+)'`)
)

func embedded(tb testing.TB) map[string]string {
	tb.Helper()
	files := map[string]string{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(static, p)
		if err != nil {
			return err
		}
		files["/"+strings.TrimPrefix(p, "static/")] = string(b)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return files
}

// TestAssetsPresent fails when the embedded client is missing a file that the page or a
// module refers to, or the entry points themselves.
func TestAssetsPresent(t *testing.T) {
	files := embedded(t)
	for _, want := range []string{"/index.html", "/assets/app.css", "/assets/js/main.js", "/assets/icon.svg"} {
		if _, ok := files[want]; !ok {
			t.Errorf("embedded client lacks %s", want)
		}
	}
	modules := 0
	for name, body := range files {
		var refs []string
		switch path.Ext(name) {
		case ".html":
			for _, m := range htmlRef.FindAllStringSubmatch(body, -1) {
				refs = append(refs, m[1])
			}
		case ".js":
			modules++
			for _, m := range importRef.FindAllStringSubmatch(body, -1) {
				ref := m[1] + m[2]
				if strings.HasPrefix(ref, ".") {
					ref = path.Join(path.Dir(name), ref)
				}
				refs = append(refs, ref)
			}
			for _, m := range jsAsset.FindAllStringSubmatch(body, -1) {
				refs = append(refs, m[1])
			}
		}
		for _, ref := range refs {
			if _, ok := files[ref]; !ok {
				t.Errorf("%s refers to %s, which is not embedded", name, ref)
			}
		}
	}
	if modules < 5 {
		t.Errorf("only %d JavaScript modules embedded", modules)
	}
}

// TestNoOutsideURLs fails when an asset names an absolute http(s) or protocol-relative URL:
// the client must make no request to any host but the one that served it.
func TestNoOutsideURLs(t *testing.T) {
	for name, body := range embedded(t) {
		for _, u := range absoluteURL.FindAllString(body, -1) {
			if !allowedURLs[u] {
				t.Errorf("%s refers to an outside URL: %s", name, u)
			}
		}
		if m := protocolRelative.FindString(body); m != "" {
			t.Errorf("%s refers to a protocol-relative URL: %s", name, m)
		}
	}
}

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()

	get := func(tb testing.TB, method, p string, hdr map[string]string) *http.Response {
		tb.Helper()
		req, err := http.NewRequest(method, srv.URL+p, nil)
		if err != nil {
			tb.Fatal(err)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			tb.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}

	cases := []struct {
		name, method, path string
		status             int
		ctype              string
	}{
		{"page", "GET", "/", 200, "text/html; charset=utf-8"},
		{"page by name", "GET", "/index.html", 200, "text/html; charset=utf-8"},
		{"head", "HEAD", "/", 200, "text/html; charset=utf-8"},
		{"module", "GET", "/assets/js/main.js", 200, "text/javascript; charset=utf-8"},
		{"style", "GET", "/assets/app.css", 200, "text/css; charset=utf-8"},
		{"icon", "GET", "/assets/icon.svg", 200, "image/svg+xml"},
		{"unknown", "GET", "/nope.js", 404, ""},
		{"directory", "GET", "/assets/", 404, ""},
		{"post", "POST", "/", 405, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := get(t, tc.method, tc.path, nil)
			if resp.StatusCode != tc.status {
				t.Fatalf("%s %s: status %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
			}
			if tc.ctype != "" && resp.Header.Get("Content-Type") != tc.ctype {
				t.Errorf("Content-Type %q, want %q", resp.Header.Get("Content-Type"), tc.ctype)
			}
			if tc.status == 200 && resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no X-Content-Type-Options: nosniff")
			}
		})
	}

	t.Run("page policy", func(t *testing.T) {
		resp := get(t, "GET", "/", nil)
		csp := resp.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
			}
		}
	})

	t.Run("revalidation", func(t *testing.T) {
		resp := get(t, "GET", "/assets/js/main.js", nil)
		etag := resp.Header.Get("ETag")
		if etag == "" || resp.Header.Get("Cache-Control") != "no-cache" {
			t.Fatalf("ETag %q, Cache-Control %q", etag, resp.Header.Get("Cache-Control"))
		}
		if again := get(t, "GET", "/assets/js/main.js", map[string]string{"If-None-Match": etag}); again.StatusCode != http.StatusNotModified {
			t.Fatalf("If-None-Match with the ETag: status %d, want 304", again.StatusCode)
		}
	})
}

func TestWebSocketURLConfigured(t *testing.T) {
	h, err := New(Config{WebSocketURL: "wss://chat.example.com/ws"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), `<meta name="chatchat-ws-url" content="wss://chat.example.com/ws">`) {
		t.Fatalf("the page does not name the WebSocket URL:\n%s", body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self' wss://chat.example.com") {
		t.Fatalf("CSP does not allow the chat host: %s", csp)
	}
	for _, bad := range []string{"https://chat.example.com/ws", "wss://", "::"} {
		if _, err := New(Config{WebSocketURL: bad}); err == nil {
			t.Errorf("WebSocket URL %q accepted", bad)
		}
	}
}
