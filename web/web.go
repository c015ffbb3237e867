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
	"io/fs"
	"mime"
	"net/http"
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

type asset struct {
	body  []byte
	ctype string
	etag  string
}

// handler serves the embedded client. Files are read and hashed once, when it is made.
type handler struct {
	files map[string]asset // by URL path
}

// Handler returns the http.Handler of the web client: the page at "/" and the files under
// it, with ETags and Cache-Control: no-cache (there is no build step to give the files
// hashed names, so browsers revalidate, cheaply, with If-None-Match). Anything else is
// 404, and methods other than GET and HEAD are 405.
func Handler() http.Handler {
	h, err := newHandler(static)
	if err != nil {
		// The files are compiled in: failing here is a broken build, which the package's
		// tests catch.
		panic(err)
	}
	return h
}

func newHandler(fsys fs.FS) (*handler, error) {
	root, err := fs.Sub(fsys, "static")
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	h := &handler{files: make(map[string]asset)}
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(root, p)
		if err != nil {
			return err
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
		hd.Set("Content-Security-Policy", contentSecurityPolicy)
		hd.Set("X-Frame-Options", "DENY")
	}
	// ServeContent answers If-None-Match with 304, and ranges and HEAD as they should be.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
