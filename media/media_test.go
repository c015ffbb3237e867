package media_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/gif"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/chattest"
	"github.com/chatchat/chatchat/localfs"
	"github.com/chatchat/chatchat/media"
	"github.com/chatchat/chatchat/s3"
	"github.com/chatchat/chatchat/sqlite"
)

// env is a media service on real parts: SQLite metadata and a blob store, with two rooms
// and a user in the first only.
type env struct {
	svc         *media.Service
	store       *sqlite.Store
	blobs       chat.BlobStore
	user        string // in room only
	stranger    string // in other only
	room, other string
	now         time.Time
}

func newEnv(tb testing.TB, blobs chat.BlobStore, cfg media.Config) *env {
	tb.Helper()
	ctx := tb.Context()
	st, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "chat.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	if blobs == nil {
		if blobs, err = localfs.New(tb.TempDir()); err != nil {
			tb.Fatal(err)
		}
	}
	e := &env{store: st, blobs: blobs, now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	var ids []string
	for _, name := range []string{"ann", "ben"} {
		u := chat.User{ID: chat.NewID(), Username: name, DisplayName: name, CreatedAt: chat.At(e.now)}
		if err := st.CreateUser(ctx, u, "h"); err != nil {
			tb.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	e.user, e.stranger = ids[0], ids[1]
	e.room, e.other = chat.NewID(), chat.NewID()
	for _, r := range []chat.Room{
		{ID: e.room, Type: chat.RoomGroup, Name: "ann's", MemberIDs: ids[:1], CreatedAt: chat.At(e.now)},
		{ID: e.other, Type: chat.RoomGroup, Name: "ben's", MemberIDs: ids[1:], CreatedAt: chat.At(e.now)},
	} {
		if err := st.CreateRoom(ctx, r, ""); err != nil {
			tb.Fatal(err)
		}
	}
	if cfg.SigningKey == nil {
		cfg.SigningKey = bytes.Repeat([]byte("k"), 32)
	}
	cfg.TempDir = tb.TempDir()
	cfg.Now = func() time.Time { return e.now }
	if e.svc, err = media.New(cfg, st, blobs, st); err != nil {
		tb.Fatal(err)
	}
	return e
}

func (e *env) upload(tb testing.TB, name string, data []byte) (chat.Media, error) {
	tb.Helper()
	return e.svc.Upload(tb.Context(), e.user, e.room, name, bytes.NewReader(data))
}

func wantKind(tb testing.TB, err error, kind chat.Kind, code string) {
	tb.Helper()
	if chat.ErrorKind(err) != kind || chat.ErrorCode(err) != code {
		tb.Fatalf("error = %v, want kind %d code %s", err, kind, code)
	}
}

func TestUploadImage(t *testing.T) {
	e := newEnv(t, nil, media.Config{})
	m, err := e.upload(t, "../../holiday.jpg", chattest.JPEG(t, 800, 400, 0))
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	if m.ContentType != "image/jpeg" || m.Width != 800 || m.Height != 400 || !m.HasThumb || m.Filename != "holiday.jpg" {
		t.Errorf("media = %+v", m)
	}
	if m.URL == "" || m.ThumbURL == "" || m.URLExpiresAt == nil {
		t.Errorf("no signed URLs: %+v", m)
	}
	thumb := decodeBlob(t, e.blobs, m.ID+"/thumb")
	if b := thumb.Bounds(); b.Dx() != 320 || b.Dy() != 160 {
		t.Errorf("thumbnail is %v, want 320×160", b)
	}
	stored, err := e.store.Media(t.Context(), m.ID)
	if err != nil || stored.Attached || stored.Pending || stored.UploaderID != e.user {
		t.Errorf("stored = %+v, %v", stored, err)
	}
}

// TestUploadOriented checks that a photo taken with the camera turned shows upright:
// dimensions as displayed, and a thumbnail turned accordingly.
func TestUploadOriented(t *testing.T) {
	e := newEnv(t, nil, media.Config{ThumbSize: 100})
	for _, tc := range []struct {
		orientation int
		w, h        int
		topLeft     string // colour at the thumbnail's top-left
		bottomRight string
	}{
		{1, 100, 50, "red", "blue"},
		{3, 100, 50, "blue", "red"}, // upside down: the halves swap
		{6, 50, 100, "red", "blue"}, // turned clockwise: left half on top
		{8, 50, 100, "blue", "red"}, // turned counter-clockwise: right half on top
		{2, 100, 50, "blue", "red"}, // mirrored
	} {
		m, err := e.upload(t, "p.jpg", chattest.JPEG(t, 200, 100, tc.orientation))
		if err != nil {
			t.Fatalf("orientation %d: %v", tc.orientation, err)
		}
		wantW, wantH := 200, 100
		if tc.orientation >= 5 {
			wantW, wantH = 100, 200
		}
		if m.Width != wantW || m.Height != wantH {
			t.Errorf("orientation %d: %d×%d, want %d×%d", tc.orientation, m.Width, m.Height, wantW, wantH)
		}
		img := decodeBlob(t, e.blobs, m.ID+"/thumb")
		if b := img.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h {
			t.Errorf("orientation %d: thumbnail %v, want %d×%d", tc.orientation, b, tc.w, tc.h)
			continue
		}
		if got := colourName(img.At(2, 2)); got != tc.topLeft {
			t.Errorf("orientation %d: top-left is %s, want %s", tc.orientation, got, tc.topLeft)
		}
		if got := colourName(img.At(tc.w-3, tc.h-3)); got != tc.bottomRight {
			t.Errorf("orientation %d: bottom-right is %s, want %s", tc.orientation, got, tc.bottomRight)
		}
	}
}

func TestUploadTypes(t *testing.T) {
	e := newEnv(t, nil, media.Config{})
	zipHead := []byte("PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00")
	ole := append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 100)...)
	for _, tc := range []struct {
		name, file string
		data       []byte
		want       string // "" for refused with 415
		thumb      bool
	}{
		{"png", "a.png", chattest.PNG(t, 40, 30), "image/png", true},
		{"png named jpg", "a.jpg", chattest.PNG(t, 40, 30), "image/png", true},
		{"gif", "a.gif", gifBytes(t), "image/gif", true},
		{"pdf", "a.pdf", []byte("%PDF-1.7\n%âãÏÓ\n1 0 obj\n"), "application/pdf", false},
		{"text", "notes.txt", []byte("hello\nworld\n"), "text/plain; charset=utf-8", false},
		{"zip", "a.zip", zipHead, "application/zip", false},
		{"docx", "report.docx", zipHead, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", false},
		{"doc", "old.doc", ole, "application/msword", false},
		{"executable named png", "cat.png", chattest.Executable(), "", false},
		{"ole named png", "cat.png", ole, "", false},
		{"html", "page.txt", []byte("<!DOCTYPE html><script>alert(1)</script>"), "", false},
		{"svg", "a.svg", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>`), "", false},
		{"broken png", "a.png", chattest.PNG(t, 40, 30)[:60], "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := e.upload(t, tc.file, tc.data)
			if tc.want == "" {
				wantKind(t, err, chat.UnsupportedMedia, "unsupported_media_type")
				return
			}
			if err != nil {
				t.Fatalf("Upload: %v", err)
			}
			if m.ContentType != tc.want || m.HasThumb != tc.thumb || m.Size != int64(len(tc.data)) {
				t.Errorf("got %s thumb %v size %d, want %s thumb %v size %d", m.ContentType, m.HasThumb, m.Size, tc.want, tc.thumb, len(tc.data))
			}
		})
	}
}

func TestUploadLimits(t *testing.T) {
	e := newEnv(t, nil, media.Config{MaxBytes: 1000, AllowedTypes: []string{"text/plain", "image/png"}})
	if _, err := e.upload(t, "a.txt", bytes.Repeat([]byte("a"), 1000)); err != nil {
		t.Errorf("exactly the limit: %v", err)
	}
	_, err := e.upload(t, "a.txt", bytes.Repeat([]byte("a"), 1001))
	wantKind(t, err, chat.TooLarge, "media_too_large")
	// A reader that a caller limits itself (api, the request body) stops with TooLarge.
	_, err = e.svc.Upload(t.Context(), e.user, e.room, "a.txt", io.MultiReader(strings.NewReader("aa"), iotest.ErrReader(media.TooLarge(1000))))
	wantKind(t, err, chat.TooLarge, "media_too_large")
	_, err = e.upload(t, "a.txt", nil)
	wantKind(t, err, chat.Invalid, "empty_file")
	_, err = e.upload(t, "a.pdf", []byte("%PDF-1.7\n"))
	wantKind(t, err, chat.UnsupportedMedia, "unsupported_media_type") // not in this allow-list
	_, err = e.upload(t, "bomb.png", chattest.PNGBomb(t, 100_000, 100_000))
	wantKind(t, err, chat.TooLarge, "image_too_large")
	_, err = e.svc.Upload(t.Context(), e.user, e.other, "a.txt", strings.NewReader("hi"))
	wantKind(t, err, chat.NotFound, "room_not_found")
	_, err = e.svc.Upload(t.Context(), e.user, chat.NewID(), "a.txt", strings.NewReader("hi"))
	wantKind(t, err, chat.NotFound, "room_not_found")
}

// TestUploadDecodeBudget checks that an image whose decoding would take more memory than
// the budget is refused before it is decoded, though its pixels are within the pixel
// limit: a progressive JPEG keeps every DCT coefficient until its last scan.
func TestUploadDecodeBudget(t *testing.T) {
	e := newEnv(t, nil, media.Config{MaxDecodeBytes: 32 << 20})
	for _, tc := range []struct {
		name string
		data func() []byte
		fits bool
	}{
		// 4 megapixels at 15 bytes each: the image and its coefficients.
		{"progressive 4:4:4", func() []byte { return chattest.ProgressiveJPEG(2048, 2048, 3, 0x11, false) }, false},
		// The same pixels, baseline 4:2:0: 1.5 bytes each and the thumbnail's scaling.
		{"baseline 4:2:0", func() []byte { return chattest.JPEG(t, 2048, 2048, 0) }, true},
		{"small progressive", func() []byte { return chattest.ProgressiveJPEG(1024, 1024, 3, 0x11, false) }, true},
		{"16-bit RGBA PNG", func() []byte {
			var b bytes.Buffer
			if err := chattest.WriteFlatPNG(&b, chattest.PNGSpec{W: 2048, H: 2048, Colour: 6, Depth: 16}); err != nil {
				t.Fatal(err)
			}
			return b.Bytes()
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := e.upload(t, "a", tc.data())
			if !tc.fits {
				wantKind(t, err, chat.TooLarge, "image_too_large")
				return
			}
			if err != nil || !m.HasThumb {
				t.Fatalf("Upload = %+v, %v; want a thumbnail", m, err)
			}
		})
	}
}

func TestAttach(t *testing.T) {
	e := newEnv(t, nil, media.Config{})
	ctx := t.Context()
	m, err := e.upload(t, "a.txt", []byte("some text"))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = e.svc.AttachMedia(ctx, e.other, e.user, m.ID)
	wantKind(t, err, chat.Invalid, "media_not_in_room")
	_, _, err = e.svc.AttachMedia(ctx, e.room, e.user, chat.NewID())
	wantKind(t, err, chat.Invalid, "media_not_in_room")
	got, was, err := e.svc.AttachMedia(ctx, e.room, e.user, m.ID)
	if err != nil || was || got.ID != m.ID || !got.Attached || got.ContentType != "text/plain; charset=utf-8" {
		t.Fatalf("AttachMedia = %+v, was attached %v, %v", got, was, err)
	}
	if _, was, err := e.svc.AttachMedia(ctx, e.room, e.user, m.ID); err != nil || !was {
		t.Errorf("attaching again (a second message, or a retried send): was attached %v, %v", was, err)
	}

	msg := chat.Message{ID: chat.NewID(), MediaID: m.ID}
	e.svc.DescribeMedia(ctx, &msg)
	if msg.Media == nil || msg.Media.URL == "" || msg.Media.ThumbURL != "" || msg.Media.Filename != "a.txt" {
		t.Errorf("described = %+v", msg.Media)
	}
}

func TestCollectOrphans(t *testing.T) {
	e := newEnv(t, nil, media.Config{OrphanAge: 24 * time.Hour})
	ctx := t.Context()
	used, _ := e.upload(t, "used.png", chattest.PNG(t, 10, 10))
	orphan, _ := e.upload(t, "orphan.png", chattest.PNG(t, 10, 10))
	if _, _, err := e.svc.AttachMedia(ctx, e.room, e.user, used.ID); err != nil {
		t.Fatal(err)
	}
	e.now = e.now.Add(23 * time.Hour)
	young, _ := e.upload(t, "young.png", chattest.PNG(t, 10, 10))
	if n, err := e.svc.CollectOrphans(ctx); err != nil || n != 0 {
		t.Errorf("before a day: collected %d, %v", n, err)
	}
	e.now = e.now.Add(2 * time.Hour)
	if n, err := e.svc.CollectOrphans(ctx); err != nil || n != 1 {
		t.Errorf("after a day: collected %d, %v; want 1", n, err)
	}
	if _, err := e.store.Media(ctx, orphan.ID); !chat.IsNotFound(err) {
		t.Errorf("orphan record: %v", err)
	}
	for _, v := range []string{"/orig", "/thumb"} {
		if _, err := e.blobs.Stat(ctx, orphan.ID+v); !chat.IsNotFound(err) {
			t.Errorf("orphan blob %s: %v", v, err)
		}
		for _, kept := range []string{used.ID, young.ID} {
			if _, err := e.blobs.Stat(ctx, kept+v); err != nil {
				t.Errorf("kept blob %s%s: %v", kept, v, err)
			}
		}
	}
	_, _, err := e.svc.AttachMedia(ctx, e.room, e.user, orphan.ID)
	wantKind(t, err, chat.Invalid, "media_not_in_room")
}

// TestRunCollectorStops checks that the collector's loop ends with its context.
func TestRunCollectorStops(t *testing.T) {
	e := newEnv(t, nil, media.Config{})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { e.svc.RunCollector(ctx, time.Hour); close(done) }()
	cancel()
	<-done
}

// TestPresigned runs the S3 flow against an in-process S3 server: presign, PUT, and the
// check of the bytes when a message refers to the media.
func TestPresigned(t *testing.T) {
	blobs, srvURL := fakeS3(t)
	e := newEnv(t, blobs, media.Config{MaxBytes: 1 << 20})
	ctx := t.Context()

	put := func(p media.Presigned, data []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPut, p.UploadURL, bytes.NewReader(data))
		for k, v := range p.UploadHeaders {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("PUT: %v %v", resp, err)
		}
		resp.Body.Close()
	}

	img := chattest.JPEG(t, 640, 480, 6)
	p, err := e.svc.Presign(ctx, e.user, e.room, media.PresignRequest{Filename: "cam.jpg", ContentType: "image/jpeg", Size: int64(len(img))})
	if err != nil {
		t.Fatalf("Presign: %v", err)
	}
	if p.UploadURL == "" || p.UploadHeaders["Content-Type"] != "image/jpeg" || p.URL != "" {
		t.Fatalf("presigned = %+v", p)
	}
	_, _, err = e.svc.AttachMedia(ctx, e.room, e.user, p.ID)
	wantKind(t, err, chat.Invalid, "media_not_uploaded")
	put(p, img)
	m, _, err := e.svc.AttachMedia(ctx, e.room, e.user, p.ID)
	if err != nil {
		t.Fatalf("AttachMedia: %v", err)
	}
	if m.Pending || !m.HasThumb || m.Width != 480 || m.Height != 640 || m.ContentType != "image/jpeg" {
		t.Errorf("after the check: %+v", m)
	}
	msg := chat.Message{MediaID: m.ID}
	e.svc.DescribeMedia(ctx, &msg)
	if !strings.HasPrefix(msg.Media.URL, srvURL+"/b/m/"+m.ID+"/orig?") || !strings.Contains(msg.Media.ThumbURL, "/thumb?") {
		t.Errorf("URLs = %s, %s; want presigned S3 URLs", msg.Media.URL, msg.Media.ThumbURL)
	}

	// A program declared as an image is refused when the message refers to it, and gone.
	exe := chattest.Executable()
	p, err = e.svc.Presign(ctx, e.user, e.room, media.PresignRequest{Filename: "cat.png", ContentType: "image/png", Size: int64(len(exe))})
	if err != nil {
		t.Fatal(err)
	}
	put(p, exe)
	_, _, err = e.svc.AttachMedia(ctx, e.room, e.user, p.ID)
	wantKind(t, err, chat.UnsupportedMedia, "unsupported_media_type")
	if _, err := e.store.Media(ctx, p.ID); !chat.IsNotFound(err) {
		t.Errorf("refused upload's record: %v", err)
	}
	if _, err := blobs.Stat(ctx, p.ID+"/orig"); !chat.IsNotFound(err) {
		t.Errorf("refused upload's bytes: %v", err)
	}

	_, err = e.svc.Presign(ctx, e.user, e.room, media.PresignRequest{Filename: "a.exe", ContentType: "application/x-msdownload", Size: 10})
	wantKind(t, err, chat.UnsupportedMedia, "unsupported_media_type")
	_, err = e.svc.Presign(ctx, e.user, e.room, media.PresignRequest{Filename: "big.zip", ContentType: "application/zip", Size: 2 << 20})
	wantKind(t, err, chat.TooLarge, "media_too_large")
	_, err = e.svc.Presign(ctx, e.user, e.other, media.PresignRequest{Filename: "a.zip", ContentType: "application/zip", Size: 10})
	wantKind(t, err, chat.NotFound, "room_not_found")
}

// fakeS3 is an S3 blob store (bucket b, prefix m/) on an in-process S3 server at url.
func fakeS3(t *testing.T) (blobs chat.BlobStore, url string) {
	t.Helper()
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"} {
		t.Setenv(k, v)
	}
	backend := s3mem.New()
	if err := backend.CreateBucket("b"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	st, err := s3.New(t.Context(), s3.Config{Bucket: "b", Prefix: "m/", Endpoint: srv.URL, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	return st, srv.URL
}

func TestPresignNeedsS3(t *testing.T) {
	e := newEnv(t, nil, media.Config{})
	_, err := e.svc.Presign(t.Context(), e.user, e.room, media.PresignRequest{Filename: "a.png", ContentType: "image/png", Size: 10})
	wantKind(t, err, chat.Invalid, "presign_unavailable")
}

func TestNewNeedsKey(t *testing.T) {
	if _, err := media.New(media.Config{SigningKey: []byte("short")}, nil, nil, nil); err == nil {
		t.Error("New accepted a short signing key")
	}
	k1, err := media.SigningKey([]byte("a token secret of some length....."))
	k2, _ := media.SigningKey([]byte("another token secret of some len.."))
	if err != nil || len(k1) != 32 || bytes.Equal(k1, k2) {
		t.Errorf("SigningKey = %x, %x, %v", k1, k2, err)
	}
}

func decodeBlob(tb testing.TB, blobs chat.BlobStore, key string) image.Image {
	tb.Helper()
	rc, _, err := blobs.Open(tb.Context(), key)
	if err != nil {
		tb.Fatalf("open %s: %v", key, err)
	}
	defer rc.Close()
	img, _, err := image.Decode(rc)
	if err != nil {
		tb.Fatalf("decode %s: %v", key, err)
	}
	return img
}

func colourName(c color.Color) string {
	r, g, b, _ := c.RGBA()
	switch {
	case r > 0xC000 && g < 0x4000 && b < 0x4000:
		return "red"
	case b > 0xC000 && r < 0x4000 && g < 0x4000:
		return "blue"
	}
	return "other"
}

func gifBytes(tb testing.TB) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := encodeGIF(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func encodeGIF(w io.Writer) error {
	img := image.NewPaletted(image.Rect(0, 0, 20, 10), color.Palette{color.White, color.Black})
	return gif.Encode(w, img, nil)
}
