// Package web serves ChatChat's browser client: one HTML page, a style sheet and JavaScript
// modules, embedded in the binary so that `go build` alone gives a server with its client.
// The client has no build step (plain ES modules), talks only to the origin that served it
// (the API under /api/v1 and the WebSocket at /ws), and loads nothing from any other host.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// contentSecurityPolicy keeps the page to its own origin: scripts, styles, fonts and API
// calls (WebSocket included: CSP 3's 'self' covers ws: and wss: of the same host). Images
// may also come from http(s) and blob: URLs because media can be served by presigned URLs
// of an object store on another host, and previews of uploads are blob: URLs.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' blob: data: https: http:; media-src 'self' blob: https: http:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Config configures the client a Handler serves.
type Config struct {
	// WebSocketURL is where the page opens its WebSocket (wss://chat.example.com/ws), for
	// deployments that serve the API and the chat servers on different hosts, as the AWS
	// stack does (api. and chat. subdomains). Empty: the page's own origin, /ws.
	WebSocketURL string
}

type asset struct {
	body  []byte
	ctype string
	etag  string
}

// handler serves the embedded client. Files are read and hashed once, when it is made.
type handler struct {
	files map[string]asset // by URL path
	csp   string
}

// Handler returns the http.Handler of the web client: the page at "/" and the files under
// it, with ETags and Cache-Control: no-cache (there is no build step to give the files
// hashed names, so browsers revalidate, cheaply, with If-None-Match). Anything else is
// 404, and methods other than GET and HEAD are 405.
func Handler() http.Handler {
	h, err := newHandler(static, Config{})
	if err != nil {
		// The files are compiled in: failing here is a broken build, which the package's
		// tests catch.
		panic(err)
	}
	return h
}

// New returns the handler of the web client configured by cfg; an invalid WebSocketURL is
// an error.
func New(cfg Config) (http.Handler, error) { return newHandler(static, cfg) }

func newHandler(fsys fs.FS, cfg Config) (*handler, error) {
	csp, meta := contentSecurityPolicy, ""
	if cfg.WebSocketURL != "" {
		u, err := url.Parse(cfg.WebSocketURL)
		if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
			return nil, fmt.Errorf("web: WebSocket URL %q: want ws:// or wss:// with a host", cfg.WebSocketURL)
		}
		// The page may connect to that origin, and learns the URL from a meta tag, so that
		// the client needs no request to find it.
		csp = strings.Replace(csp, "connect-src 'self'", "connect-src 'self' "+u.Scheme+"://"+u.Host, 1)
		meta = `<meta name="chatchat-ws-url" content="` + html.EscapeString(u.String()) + `">` + "\n"
	}
	root, err := fs.Sub(fsys, "static")
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	h := &handler{files: make(map[string]asset), csp: csp}
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		if p == "index.html" && meta != "" {
			body = bytes.Replace(body, []byte("</head>"), []byte(meta+"</head>"), 1)
		}
		ctype := mime.TypeByExtension(path.Ext(p))
		if ctype == "" {
			ctype = http.DetectContentType(body)
		}
		sum := sha256.Sum256(body)
		a := asset{body: body, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		h.files["/"+p] = a
		if p == "index.html" {
			h.files["/"] = a
			h.files["/admin"] = a // the administration page: the same client, another view
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: read embedded client: %w", err)
	}
	if _, ok := h.files["/"]; !ok {
		return nil, fmt.Errorf("web: embedded client has no index.html")
	}
	return h, nil
}

// ServeHTTP serves one embedded file.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	a, ok := h.files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", a.ctype)
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", a.etag)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	if strings.HasPrefix(a.ctype, "text/html") {
		hd.Set("Content-Security-Policy", h.csp)
		hd.Set("X-Frame-Options", "DENY")
	}
	// ServeContent answers If-None-Match with 304, and ranges and HEAD as they should be.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
