package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatchat/chatchat/api"
	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/chattest"
	"github.com/chatchat/chatchat/localfs"
	"github.com/chatchat/chatchat/media"
	"github.com/chatchat/chatchat/sqlite"
)

// fakeMedia records what the handlers ask of the media service and answers with what
// the test set. The recorder-based requests of these tests run on the test's goroutine.
type fakeMedia struct {
	max  int64
	err  error  // the answer of every call when set
	file string // the bytes Open and OpenSigned serve
	// seekable serves the bytes as a local file would (ranges); else as a stream.
	seekable bool
	redirect string // a blob store URL to redirect to instead

	uploads  map[string]string // "user room filename" → bytes
	presigns []string          // "user room" and the request
	opens    []string          // "user id variant", or "signed id variant exp sig"
}

type readSeekCloser struct{ *strings.Reader }

func (readSeekCloser) Close() error { return nil }

func (f *fakeMedia) MaxUploadBytes() int64 { return f.max }

func (f *fakeMedia) Upload(_ context.Context, userID, roomID, filename string, r io.Reader) (chat.Media, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return chat.Media{}, err
	}
	if f.uploads == nil {
		f.uploads = map[string]string{}
	}
	f.uploads[userID+" "+roomID+" "+filename] = string(b)
	if f.err != nil {
		return chat.Media{}, f.err
	}
	return chat.Media{ID: "m1", RoomID: roomID, UploaderID: userID, Filename: filename, Size: int64(len(b))}, nil
}

func (f *fakeMedia) Presign(_ context.Context, userID, roomID string, in media.PresignRequest) (media.Presigned, error) {
	f.presigns = append(f.presigns, fmt.Sprintf("%s %s %+v", userID, roomID, in))
	if f.err != nil {
		return media.Presigned{}, f.err
	}
	return media.Presigned{
		Media:     chat.Media{ID: "m1", RoomID: roomID, UploaderID: userID, Filename: in.Filename, Pending: true},
		UploadURL: "https://blobs.example/put?" + strings.Repeat("x", 2000), // big enough for gzip
	}, nil
}

func (f *fakeMedia) Open(_ context.Context, userID, mediaID, variant string) (media.Download, error) {
	f.opens = append(f.opens, userID+" "+mediaID+" "+variant)
	return f.download(mediaID, variant)
}

func (f *fakeMedia) OpenSigned(_ context.Context, mediaID, variant, exp, sig string) (media.Download, error) {
	f.opens = append(f.opens, "signed "+mediaID+" "+variant+" "+exp+" "+sig)
	return f.download(mediaID, variant)
}

func (f *fakeMedia) download(id, variant string) (media.Download, error) {
	if f.err != nil {
		return media.Download{}, f.err
	}
	d := media.Download{
		Media: chat.Media{ID: id}, Variant: variant,
		Headers: chat.GetOptions{ContentType: "application/json", ContentDisposition: `attachment; filename="a.json"`},
	}
	if f.redirect != "" {
		d.RedirectURL = f.redirect
		return d, nil
	}
	d.Info = chat.BlobInfo{Size: int64(len(f.file)), ModTime: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	if f.seekable {
		d.Body = readSeekCloser{strings.NewReader(f.file)}
	} else {
		d.Body = io.NopCloser(strings.NewReader(f.file))
	}
	return d, nil
}

// multipartBody is a form with the fields in order; a field named "file" is a file.
func multipartBody(tb testing.TB, fields ...string) (io.Reader, string) {
	tb.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for i := 0; i+1 < len(fields); i += 2 {
		var w io.Writer
		var err error
		if fields[i] == "file" {
			w, err = mw.CreateFormFile("file", "notes.txt")
		} else {
			w, err = mw.CreateFormField(fields[i])
		}
		if err != nil {
			tb.Fatal(err)
		}
		_, _ = io.WriteString(w, fields[i+1])
	}
	if err := mw.Close(); err != nil {
		tb.Fatal(err)
	}
	return &buf, mw.FormDataContentType()
}

// TestMediaOff checks that without a media service (a store that keeps no media) its
// routes answer as any unknown endpoint: 404 in the API's error shape.
func TestMediaOff(t *testing.T) {
	h := handler(t, api.Config{}, nil, "ann")
	body, ct := multipartBody(t, "file", "hello")
	wantError(t, serve(t, h, "POST", "/api/v1/rooms/r1/media", "ann", body, "Content-Type", ct), http.StatusNotFound, "not_found")
	wantError(t, serve(t, h, "GET", "/api/v1/media/m1", "ann", nil), http.StatusNotFound, "not_found")
	wantError(t, serve(t, h, "GET", "/api/v1/media/m1?variant=orig&exp=1&sig=x", "", nil), http.StatusNotFound, "not_found")
}

func TestUploadMedia(t *testing.T) {
	const max = 1 << 10
	newFake := func() *fakeMedia { return &fakeMedia{max: max} }
	const path = "/api/v1/rooms/r1/media"

	t.Run("multipart file", func(t *testing.T) {
		f := newFake()
		h := handler(t, api.Config{Media: f}, nil, "ann")
		body, ct := multipartBody(t, "note", "skipped", "file", "hello")
		var m chat.Media
		decode(t, serve(t, h, "POST", path, "ann", body, "Content-Type", ct), http.StatusCreated, &m)
		if len(f.uploads) != 1 || f.uploads["ann r1 notes.txt"] != "hello" || m.ID != "m1" || m.Size != 5 {
			t.Errorf("uploads %v, answer %+v", f.uploads, m)
		}
	})
	t.Run("JSON for a presigned upload", func(t *testing.T) {
		f := newFake()
		h := handler(t, api.Config{Media: f}, nil, "ann")
		in := `{"filename":"cam.jpg","contentType":"image/jpeg","size":12}`
		// The answer is over a kilobyte of JSON and the client accepts gzip: media
		// routes are still not compressed.
		resp := serve(t, h, "POST", path, "ann", strings.NewReader(in), "Content-Type", "application/json", "Accept-Encoding", "gzip")
		if ce := resp.Header.Get("Content-Encoding"); ce != "" {
			t.Errorf("Content-Encoding %q on a media route", ce)
		}
		var p media.Presigned
		decode(t, resp, http.StatusCreated, &p)
		want := "ann r1 {Filename:cam.jpg ContentType:image/jpeg Size:12}"
		if len(f.presigns) != 1 || f.presigns[0] != want || p.ID != "m1" || p.UploadURL == "" {
			t.Errorf("presigns %+v, answer %+v", f.presigns, p)
		}
	})
	for _, tc := range []struct {
		name        string
		body        func(t *testing.T) (io.Reader, string)
		user        string
		status      int
		code        string
		serviceSees bool
	}{
		{"no token", func(t *testing.T) (io.Reader, string) { return multipartBody(t, "file", "hello") },
			"", http.StatusUnauthorized, "unauthorized", false},
		{"no file field", func(t *testing.T) (io.Reader, string) { return multipartBody(t, "note", "x") },
			"ann", http.StatusBadRequest, "bad_request", false},
		{"malformed multipart", func(t *testing.T) (io.Reader, string) {
			return strings.NewReader("not a form"), "multipart/form-data; boundary=zz"
		}, "ann", http.StatusBadRequest, "bad_request", false},
		{"multipart without boundary", func(t *testing.T) (io.Reader, string) {
			return strings.NewReader("x"), "multipart/form-data"
		}, "ann", http.StatusBadRequest, "bad_request", false},
		{"declared larger than the limit", func(t *testing.T) (io.Reader, string) {
			return multipartBody(t, "file", strings.Repeat("a", max+64<<10))
		}, "ann", http.StatusRequestEntityTooLarge, "media_too_large", false},
		{"streamed past the limit", func(t *testing.T) (io.Reader, string) {
			// Of unknown length, with the bulk in a field before the file.
			body, ct := multipartBody(t, "junk", strings.Repeat("a", max+64<<10), "file", "hello")
			return io.MultiReader(body), ct
		}, "ann", http.StatusRequestEntityTooLarge, "media_too_large", false},
		{"file streamed past the limit", func(t *testing.T) (io.Reader, string) {
			body, ct := multipartBody(t, "file", strings.Repeat("a", max+64<<10))
			return io.MultiReader(body), ct
		}, "ann", http.StatusRequestEntityTooLarge, "media_too_large", false},
		{"file cut short", func(t *testing.T) (io.Reader, string) {
			// The client stopped sending in the middle of the file: no closing boundary.
			body, ct := multipartBody(t, "file", strings.Repeat("a", 600))
			b, _ := io.ReadAll(body)
			return bytes.NewReader(b[:len(b)-300]), ct
		}, "ann", http.StatusBadRequest, "bad_request", false},
		{"JSON with an unknown field", func(t *testing.T) (io.Reader, string) {
			return strings.NewReader(`{"filename":"a","size":1,"owner":"x"}`), "application/json"
		}, "ann", http.StatusBadRequest, "bad_request", false},
		{"JSON that is not JSON", func(t *testing.T) (io.Reader, string) {
			return strings.NewReader(`{"filename":`), "application/json"
		}, "ann", http.StatusBadRequest, "bad_json", false},
		{"neither multipart nor JSON", func(t *testing.T) (io.Reader, string) {
			return strings.NewReader("hello"), "text/plain"
		}, "ann", http.StatusBadRequest, "bad_request", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			h := handler(t, api.Config{Media: f}, nil, "ann")
			body, ct := tc.body(t)
			wantError(t, serve(t, h, "POST", path, tc.user, body, "Content-Type", ct), tc.status, tc.code)
			if seen := len(f.uploads)+len(f.presigns) > 0; seen != tc.serviceSees {
				t.Errorf("the service saw the upload: %v, want %v", seen, tc.serviceSees)
			}
		})
	}
	t.Run("the service's refusal is the answer", func(t *testing.T) {
		f := newFake()
		f.err = chat.Errorf(chat.NotFound, "room_not_found", "no such room")
		h := handler(t, api.Config{Media: f}, nil, "ann")
		body, ct := multipartBody(t, "file", "hello")
		wantError(t, serve(t, h, "POST", path, "ann", body, "Content-Type", ct), http.StatusNotFound, "room_not_found")
	})
	t.Run("a quota's Retry-After is sent", func(t *testing.T) {
		f := newFake()
		e := chat.Errorf(chat.RateLimited, "upload_quota", "at most 3 uploads an hour")
		e.RetryAfter = 1799500 * time.Millisecond
		f.err = fmt.Errorf("media: %w", e)
		h := handler(t, api.Config{Media: f}, nil, "ann")
		body, ct := multipartBody(t, "file", "hello")
		resp := serve(t, h, "POST", path, "ann", body, "Content-Type", ct)
		if got := resp.Header.Get("Retry-After"); got != "1800" {
			t.Errorf("Retry-After = %q, want 1800", got)
		}
		wantError(t, resp, http.StatusTooManyRequests, "upload_quota")
	})
}

func TestDownloadMedia(t *testing.T) {
	file := `{"a":"` + strings.Repeat("a", 4000) + `"}` // JSON, and large: gzip would take it

	t.Run("bytes from a file, with ranges", func(t *testing.T) {
		f := &fakeMedia{file: file, seekable: true}
		h := handler(t, api.Config{Media: f}, nil, "ann")
		resp := serve(t, h, "GET", "/api/v1/media/m1", "ann", nil, "Accept-Encoding", "gzip")
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || string(b) != file {
			t.Fatalf("answer %d, %d bytes", resp.StatusCode, len(b))
		}
		for k, want := range map[string]string{
			"Content-Type":            "application/json",
			"Content-Disposition":     `attachment; filename="a.json"`,
			"X-Content-Type-Options":  "nosniff",
			"Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
			"Cache-Control":           "private, max-age=3600",
			"ETag":                    `"m1-orig"`,
			"Content-Encoding":        "", // media files are sent as stored
		} {
			if v := resp.Header.Get(k); v != want {
				t.Errorf("%s = %q, want %q", k, v, want)
			}
		}
		if len(f.opens) != 1 || f.opens[0] != "ann m1 orig" {
			t.Errorf("opened %q", f.opens)
		}
		resp = serve(t, h, "GET", "/api/v1/media/m1", "ann", nil, "Range", "bytes=0-5")
		if b, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusPartialContent || string(b) != file[:6] {
			t.Errorf("range: %d %q", resp.StatusCode, b)
		}
		resp = serve(t, h, "GET", "/api/v1/media/m1", "ann", nil, "If-None-Match", `"m1-orig"`)
		if resp.StatusCode != http.StatusNotModified {
			t.Errorf("conditional: %d, want 304", resp.StatusCode)
		}
	})
	t.Run("bytes from a stream", func(t *testing.T) {
		f := &fakeMedia{file: file}
		h := handler(t, api.Config{Media: f}, nil, "ann")
		resp := serve(t, h, "GET", "/api/v1/media/m1", "ann", nil)
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || string(b) != file || resp.Header.Get("Content-Length") != strconv.Itoa(len(file)) {
			t.Fatalf("answer %d, %d bytes, Content-Length %q", resp.StatusCode, len(b), resp.Header.Get("Content-Length"))
		}
		resp = serve(t, h, "HEAD", "/api/v1/media/m1", "ann", nil)
		if b, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK || len(b) != 0 {
			t.Errorf("HEAD: %d, %d bytes", resp.StatusCode, len(b))
		}
	})
	t.Run("thumbnail", func(t *testing.T) {
		f := &fakeMedia{file: "png"}
		h := handler(t, api.Config{Media: f}, nil, "ann")
		for _, q := range []string{"?thumb=1", "?variant=thumb"} {
			resp := serve(t, h, "GET", "/api/v1/media/m1"+q, "ann", nil)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") != `"m1-thumb"` {
				t.Errorf("%s: %d, ETag %q", q, resp.StatusCode, resp.Header.Get("ETag"))
			}
		}
		if len(f.opens) != 2 || f.opens[0] != "ann m1 thumb" || f.opens[1] != "ann m1 thumb" {
			t.Errorf("opened %q", f.opens)
		}
	})
	t.Run("redirect to the blob store", func(t *testing.T) {
		f := &fakeMedia{redirect: "https://blobs.example/m1/orig?X-Amz-Signature=s"}
		h := handler(t, api.Config{Media: f}, nil, "ann")
		resp := serve(t, h, "GET", "/api/v1/media/m1", "ann", nil)
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != f.redirect || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("answer %d, Location %q, Cache-Control %q", resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Cache-Control"))
		}
	})
	t.Run("signed URL needs no token", func(t *testing.T) {
		f := &fakeMedia{file: "png"}
		h := handler(t, api.Config{Media: f}, nil)
		resp := serve(t, h, "GET", "/api/v1/media/m1?variant=thumb&exp=99&sig=abc", "", nil)
		if resp.StatusCode != http.StatusOK || len(f.opens) != 1 || f.opens[0] != "signed m1 thumb 99 abc" {
			t.Errorf("answer %d, opened %q", resp.StatusCode, f.opens)
		}
	})
	for _, tc := range []struct {
		name, target, user string
		err                error
		status             int
		code               string
	}{
		{"no token, no signature", "/api/v1/media/m1", "", nil, http.StatusUnauthorized, "unauthorized"},
		{"unknown token", "/api/v1/media/m1", "eve", nil, http.StatusUnauthorized, "invalid_token"},
		{"not the service's to show", "/api/v1/media/m1", "ann",
			chat.Errorf(chat.NotFound, "media_not_found", "no such media"), http.StatusNotFound, "media_not_found"},
		{"bad signature", "/api/v1/media/m1?variant=orig&exp=1&sig=x", "",
			chat.Errorf(chat.Forbidden, "bad_signature", "no"), http.StatusForbidden, "bad_signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := handler(t, api.Config{Media: &fakeMedia{err: tc.err}}, nil, "ann")
			wantError(t, serve(t, h, "GET", tc.target, tc.user, nil), tc.status, tc.code)
		})
	}
}

// TestSignedMediaURLs checks the local mode's signed URLs through the download endpoint
// of the real media service: scoped to one media item and variant, expiring; without a
// signature a token is needed, and only a member of the room is served.
func TestSignedMediaURLs(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "chat.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	blobs, err := localfs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var ids []string
	for _, name := range []string{"ann", "ben"} {
		u := chat.User{ID: chat.NewID(), Username: name, DisplayName: name, CreatedAt: chat.At(now)}
		if err := st.CreateUser(ctx, u, "h"); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	ann, ben := ids[0], ids[1]
	room := chat.Room{ID: chat.NewID(), Type: chat.RoomGroup, Name: "ann's", MemberIDs: []string{ann}, CreatedAt: chat.At(now)}
	if err := st.CreateRoom(ctx, room, ""); err != nil {
		t.Fatal(err)
	}
	svc, err := media.New(media.Config{
		URLTTL: time.Hour, BaseURL: "https://chat.example", SigningKey: bytes.Repeat([]byte("k"), 32),
		TempDir: t.TempDir(), Now: func() time.Time { return now },
	}, st, blobs, st)
	if err != nil {
		t.Fatal(err)
	}
	h := handler(t, api.Config{Media: svc}, nil, ann, ben)
	m, err := svc.Upload(ctx, ann, room.ID, "a.png", bytes.NewReader(chattest.PNG(t, 10, 10)))
	if err != nil {
		t.Fatal(err)
	}

	get := func(rawURL, userID string) *http.Response {
		t.Helper()
		return serve(t, h, http.MethodGet, strings.TrimPrefix(rawURL, "https://chat.example"), userID, nil)
	}
	if r := get(m.URL, ""); r.StatusCode != 200 || r.Header.Get("Content-Type") != "image/png" {
		t.Errorf("signed original: %s %s", r.Status, r.Header.Get("Content-Type"))
	}
	if r := get(m.ThumbURL, ""); r.StatusCode != 200 {
		t.Errorf("signed thumbnail: %s", r.Status)
	}
	for name, u := range map[string]string{
		"other variant":   strings.Replace(m.URL, "variant=orig", "variant=thumb", 1),
		"other media":     strings.Replace(m.URL, m.ID, chat.NewID(), 1),
		"later expiry":    strings.Replace(m.URL, "exp=", "exp=9", 1),
		"changed sig":     m.URL[:len(m.URL)-2] + "AA",
		"no sig":          m.URL[:strings.Index(m.URL, "&sig=")],
		"unknown variant": strings.Replace(m.URL, "variant=orig", "variant=x", 1),
	} {
		r := get(u, "")
		if name == "no sig" { // then a token is needed
			if r.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s: %s, want 401", name, r.Status)
			}
			continue
		}
		if r.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %s, want 403", name, r.Status)
		}
	}
	tokenURL := "/api/v1/media/" + m.ID + "?thumb=1"
	if r := get(tokenURL, ann); r.StatusCode != 200 || r.Header.Get("ETag") != `"`+m.ID+`-thumb"` {
		t.Errorf("member with a token: %s, ETag %q", r.Status, r.Header.Get("ETag"))
	}
	wantError(t, get(tokenURL, ben), http.StatusNotFound, "media_not_found")

	now = m.URLExpiresAt.Time
	if r := get(m.URL, ""); r.StatusCode != http.StatusForbidden {
		t.Errorf("expired: %s, want 403", r.Status)
	} else if b, _ := io.ReadAll(r.Body); !strings.Contains(string(b), "url_expired") {
		t.Errorf("expired: %s", b)
	}
}
