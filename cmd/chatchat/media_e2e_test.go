package main

import (
	"bytes"
	"context"
	"errors"
	"image"
	_ "image/jpeg" // decodes the thumbnails
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/chattest"
	"github.com/chatchat/chatchat/client"
)

// mediaRoom is a direct room of alice and bob, bob connected, and carol outside it.
type mediaRoom struct {
	n                 *node
	alice, bob, carol *client.Client
	room              chat.Room
	bobConn           *client.Conn
}

func newMediaRoom(tb testing.TB, n *node) *mediaRoom {
	tb.Helper()
	r := &mediaRoom{n: n}
	r.alice, _ = newUser(tb, n, "alice")
	var bobAuth client.Auth
	r.bob, bobAuth = newUser(tb, n, "bob")
	r.carol, _ = newUser(tb, n, "carol")
	room, _, err := r.alice.CreateRoom(context.Background(), client.NewRoom{Type: "direct", MemberIDs: []string{bobAuth.User.ID}})
	if err != nil {
		tb.Fatal(err)
	}
	r.room = room
	r.bobConn = connect(tb, r.bob)
	return r
}

func wantAPIError(tb testing.TB, err error, status int, code string) {
	tb.Helper()
	if client.ErrorStatus(err) != status || client.ErrorCode(err) != code {
		tb.Fatalf("error = %v, want %d %s", err, status, code)
	}
}

// TestMediaImageMessage is the user's path: upload a photo, send it, the other member
// sees it with its thumbnail and loads both from the signed URLs, without a token.
func TestMediaImageMessage(t *testing.T) {
	ctx := context.Background()
	r := newMediaRoom(t, startNode(t, "", nil))
	photo := chattest.JPEG(t, 640, 480, 6) // taken with the camera turned
	up, err := r.alice.UploadMedia(ctx, r.room.ID, "IMG_0001.jpg", bytes.NewReader(photo))
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	if up.ContentType != "image/jpeg" || up.Width != 480 || up.Height != 640 || up.Size != int64(len(photo)) || up.RoomID != r.room.ID {
		t.Fatalf("uploaded = %+v", up)
	}
	// Until a message uses it, the upload is alice's alone.
	_, err = r.bob.Media(ctx, up.ID, false)
	wantAPIError(t, err, 404, "media_not_found")
	if _, err := r.alice.Media(ctx, up.ID, true); err != nil {
		t.Errorf("alice opens her own upload's thumbnail: %v", err)
	}
	sent, _, err := r.alice.SendMessage(ctx, r.room.ID, client.NewMessage{Type: "image", MediaID: up.ID, Text: "look"})
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if sent.Media == nil || sent.Media.ID != up.ID || sent.Media.URL == "" {
		t.Fatalf("sent message's media = %+v", sent.Media)
	}

	got, err := expect(t, r.bobConn, "MESSAGE_CREATED", isMessage(sent.Seq)).Message()
	if err != nil {
		t.Fatal(err)
	}
	m := got.Media
	if got.MediaID != up.ID || m == nil || m.URL == "" || m.ThumbURL == "" || m.URLExpiresAt == nil ||
		m.Filename != "IMG_0001.jpg" || m.Width != 480 || m.Height != 640 {
		t.Fatalf("bob's message media = %+v", m)
	}
	orig, err := r.bob.FetchSigned(ctx, m.URL) // no token
	if err != nil {
		t.Fatalf("fetch signed original: %v", err)
	}
	if !bytes.Equal(orig.Data, photo) {
		t.Errorf("original: %d bytes, not the %d uploaded", len(orig.Data), len(photo))
	}
	for k, want := range map[string]string{"Content-Type": "image/jpeg", "X-Content-Type-Options": "nosniff"} {
		if v := orig.Header.Get(k); v != want {
			t.Errorf("original %s = %q, want %q", k, v, want)
		}
	}
	if d := orig.Header.Get("Content-Disposition"); !strings.HasPrefix(d, "inline") {
		t.Errorf("a photo is served as %q, want inline", d)
	}
	thumb, err := r.bob.FetchSigned(ctx, m.ThumbURL)
	if err != nil {
		t.Fatalf("fetch signed thumbnail: %v", err)
	}
	img, _, err := image.Decode(bytes.NewReader(thumb.Data))
	if err != nil {
		t.Fatalf("thumbnail: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 240 || b.Dy() != 320 {
		t.Errorf("thumbnail is %v, want 240×320 (upright, longest side 320)", b)
	}

	// History carries the media too, and with a token the download endpoint works.
	msgs, _, err := r.bob.History(ctx, r.room.ID, chat.HistoryQuery{})
	if err != nil || len(msgs) != 1 || msgs[0].Media == nil || msgs[0].Media.ThumbURL == "" {
		t.Fatalf("history = %+v, %v", msgs, err)
	}
	if b, err := r.bob.Media(ctx, up.ID, true); err != nil || !bytes.Equal(b.Data, thumb.Data) {
		t.Errorf("thumbnail with a token: %d bytes, %v", len(b.Data), err)
	}

	// Nobody outside the room gets it, or learns that it exists.
	_, err = r.carol.Media(ctx, up.ID, false)
	wantAPIError(t, err, 404, "media_not_found")
	_, err = r.carol.Media(ctx, chat.NewID(), false)
	wantAPIError(t, err, 404, "media_not_found")
	_, err = r.carol.UploadMedia(ctx, r.room.ID, "x.txt", strings.NewReader("hello"))
	wantAPIError(t, err, 404, "room_not_found")
	_, err = r.carol.PresignMedia(ctx, r.room.ID, client.Presign{Filename: "x.png", ContentType: "image/png", Size: 10})
	wantAPIError(t, err, 404, "room_not_found")
	resp, err := http.Get(r.n.URL + "/api/v1/media/" + up.ID)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without a token or signature: %s, want 401", resp.Status)
	}

	// A signed URL names one item, one variant and an expiry; changing any is refused.
	for name, u := range map[string]string{
		"variant": strings.Replace(m.URL, "variant=orig", "variant=thumb", 1),
		"expiry":  strings.Replace(m.URL, "exp=", "exp=1", 1),
		"sig":     strings.Replace(m.URL, "sig=", "sig=A", 1),
	} {
		if _, err := r.carol.FetchSigned(ctx, u); client.ErrorStatus(err) != 403 || client.ErrorCode(err) != "bad_signature" {
			t.Errorf("changed %s: %v, want 403 bad_signature", name, err)
		}
	}
}

// TestMediaDownloadHeaders checks the local download: files that are not images are
// attachments, and ranges and validators work.
func TestMediaDownloadHeaders(t *testing.T) {
	ctx := context.Background()
	r := newMediaRoom(t, startNode(t, "", nil))
	pdf := []byte("%PDF-1.7\n" + strings.Repeat("0123456789", 100))
	up, err := r.alice.UploadMedia(ctx, r.room.ID, "report.pdf", bytes.NewReader(pdf))
	if err != nil {
		t.Fatal(err)
	}
	if up.ContentType != "application/pdf" || up.ThumbURL != "" {
		t.Fatalf("uploaded = %+v", up)
	}
	get := func(h http.Header) *http.Response {
		t.Helper()
		u, _ := url.Parse(r.n.URL)
		ref, _ := url.Parse(up.URL)
		req, _ := http.NewRequest(http.MethodGet, u.ResolveReference(ref).String(), nil)
		for k, v := range h {
			req.Header[k] = v
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	resp := get(nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/pdf" ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), "filename=report.pdf") ||
		resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.ContentLength != int64(len(pdf)) {
		t.Errorf("PDF download: %s %v", resp.Status, resp.Header)
	}
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	resp = get(http.Header{"Range": {"bytes=0-8"}})
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusPartialContent || string(body) != "%PDF-1.7\n" {
		t.Errorf("range: %s %q", resp.Status, body)
	}
	resp = get(http.Header{"If-None-Match": {etag}})
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %s, want 304", resp.Status)
	}
	// A message of the wrong type, and one in another room, are refused.
	_, _, err = r.alice.SendMessage(ctx, r.room.ID, client.NewMessage{Type: "image", MediaID: up.ID})
	wantAPIError(t, err, 400, "not_an_image")
	if _, _, err := r.alice.SendMessage(ctx, r.room.ID, client.NewMessage{Type: "file", MediaID: up.ID}); err != nil {
		t.Errorf("send file: %v", err)
	}
}

// TestMediaRefused covers what is not accepted: too big, a disguised program, a
// decompression bomb, an expired URL, and media of another room.
func TestMediaRefused(t *testing.T) {
	ctx := context.Background()
	n := startNode(t, "", nil, "--max-media-bytes", "100000", "--media-url-ttl", "1s")
	r := newMediaRoom(t, n)

	_, err := r.alice.UploadMedia(ctx, r.room.ID, "big.txt", bytes.NewReader(bytes.Repeat([]byte("a"), 100001)))
	wantAPIError(t, err, 413, "media_too_large")
	_, err = r.alice.UploadMedia(ctx, r.room.ID, "cat.png", bytes.NewReader(chattest.Executable()))
	wantAPIError(t, err, 415, "unsupported_media_type")
	_, err = r.alice.UploadMedia(ctx, r.room.ID, "bomb.png", bytes.NewReader(chattest.PNGBomb(t, 100_000, 100_000)))
	wantAPIError(t, err, 413, "image_too_large")

	// Media belongs to the room it was uploaded to.
	other, _, err := r.alice.CreateRoom(ctx, client.NewRoom{Type: "group", Name: "other"})
	if err != nil {
		t.Fatal(err)
	}
	up, err := r.alice.UploadMedia(ctx, other.ID, "a.png", bytes.NewReader(chattest.PNG(t, 20, 20)))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = r.alice.SendMessage(ctx, r.room.ID, client.NewMessage{Type: "image", MediaID: up.ID})
	wantAPIError(t, err, 400, "media_not_in_room")

	// URLs live a second here: after it, 403; with a token, the download still works.
	deadline := up.URLExpiresAt.Time
	time.Sleep(time.Until(deadline) + 100*time.Millisecond)
	_, err = r.alice.FetchSigned(ctx, up.URL)
	wantAPIError(t, err, 403, "url_expired")
	if _, err := r.alice.Media(ctx, up.ID, false); err != nil {
		t.Errorf("with a token after the URL expired: %v", err)
	}
}

// TestMediaUploadsClientFaults covers uploads that are the client's fault, through the
// real binary: the reported 293 KB progressive 7071×7071 JPEG (within the pixel limit,
// over the decoding memory budget) and a multipart body cut off inside the file.
func TestMediaUploadsClientFaults(t *testing.T) {
	ctx := context.Background()
	n := startNode(t, "", nil)
	r := newMediaRoom(t, n)
	probe := chattest.ProgressiveJPEG(7071, 7071, 3, 0x11, false)
	_, err := r.alice.UploadMedia(ctx, r.room.ID, "probe.jpg", bytes.NewReader(probe))
	wantAPIError(t, err, 413, "image_too_large")

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", "notes.txt")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(bytes.Repeat([]byte("a"), 4000))
	mw.Close()
	cut := body.Bytes()[:body.Len()-1000] // no closing boundary
	req, err := http.NewRequestWithContext(ctx, "POST", n.URL+"/api/v1/rooms/"+r.room.ID+"/media", bytes.NewReader(cut))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+r.alice.Tokens().AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 400 || !strings.Contains(string(b), `"bad_request"`) {
		t.Errorf("a multipart body cut off in the file: %d %s, want 400 bad_request", resp.StatusCode, b)
	}
}

// TestMediaQuotas runs the upload quotas through the binary's flags: uploads per user per
// hour (429) and the bytes a user keeps (413), each user with their own.
func TestMediaQuotas(t *testing.T) {
	ctx := context.Background()
	n := startNode(t, "", nil, "--media-uploads-per-hour", "2", "--media-max-user-bytes", "10000")
	r := newMediaRoom(t, n)
	for range 2 {
		if _, err := r.alice.UploadMedia(ctx, r.room.ID, "a.txt", strings.NewReader("hello")); err != nil {
			t.Fatal(err)
		}
	}
	_, err := r.alice.UploadMedia(ctx, r.room.ID, "a.txt", strings.NewReader("hello"))
	wantAPIError(t, err, 429, "upload_quota")
	// The oldest upload leaves the hour within it: Retry-After says when.
	if apiErr := (*client.APIError)(nil); !errors.As(err, &apiErr) || apiErr.RetryAfter < 59*time.Minute || apiErr.RetryAfter > time.Hour {
		t.Errorf("Retry-After of upload_quota: %v, want about an hour", err)
	}
	if _, err := r.bob.UploadMedia(ctx, r.room.ID, "b.txt", bytes.NewReader(bytes.Repeat([]byte("b"), 6000))); err != nil {
		t.Fatal(err)
	}
	_, err = r.bob.UploadMedia(ctx, r.room.ID, "b.txt", bytes.NewReader(bytes.Repeat([]byte("b"), 5000)))
	wantAPIError(t, err, 413, "storage_quota")
}

// TestMediaS3 runs the same binary with --s3-bucket against an in-process S3 server:
// uploads land in the bucket, messages carry presigned URLs, the download endpoint
// redirects, and a presigned upload is checked when a message refers to it.
func TestMediaS3(t *testing.T) {
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "test-key", "AWS_SECRET_ACCESS_KEY": "test-secret",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
	} {
		t.Setenv(k, v)
	}
	backend := s3mem.New()
	if err := backend.CreateBucket("chat-media"); err != nil {
		t.Fatal(err)
	}
	s3srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(s3srv.Close)
	n := startNode(t, "", nil, "--s3-bucket", "chat-media", "--s3-endpoint", s3srv.URL, "--s3-path-style", "--s3-region", "eu-west-1")
	r := newMediaRoom(t, n)
	ctx := context.Background()

	photo := chattest.PNG(t, 400, 200)
	up, err := r.alice.UploadMedia(ctx, r.room.ID, "a.png", bytes.NewReader(photo))
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	if !strings.HasPrefix(up.URL, s3srv.URL+"/chat-media/media/"+up.ID+"/orig?") || !strings.Contains(up.ThumbURL, "X-Amz-Signature=") {
		t.Fatalf("URLs = %s, %s; want presigned S3 URLs", up.URL, up.ThumbURL)
	}
	// Through the API: a redirect to the bucket, followed.
	if b, err := r.alice.Media(ctx, up.ID, false); err != nil || !bytes.Equal(b.Data, photo) {
		t.Fatalf("download through the redirect: %d bytes, %v", len(b.Data), err)
	}
	_, err = r.carol.Media(ctx, up.ID, false)
	wantAPIError(t, err, 404, "media_not_found")

	// The presigned flow: the bytes go straight to the bucket.
	pdf := []byte("%PDF-1.7\nhello")
	pm, err := r.alice.PresignMedia(ctx, r.room.ID, client.Presign{Filename: "r.pdf", ContentType: "application/pdf", Size: int64(len(pdf))})
	if err != nil {
		t.Fatalf("presign: %v", err)
	}
	if err := r.alice.UploadPresigned(ctx, pm, bytes.NewReader(pdf), int64(len(pdf))); err != nil {
		t.Fatalf("presigned upload: %v", err)
	}
	sent, _, err := r.alice.SendMessage(ctx, r.room.ID, client.NewMessage{Type: "file", MediaID: pm.ID})
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if sent.Media == nil || sent.Media.ContentType != "application/pdf" || sent.Media.URL == "" {
		t.Fatalf("sent media = %+v", sent.Media)
	}
	if b, err := r.bob.FetchSigned(ctx, sent.Media.URL); err != nil || !bytes.Equal(b.Data, pdf) {
		t.Errorf("bob fetches the presigned upload: %v", err)
	}
	_, err = r.carol.PresignMedia(ctx, r.room.ID, client.Presign{Filename: "x.png", ContentType: "image/png", Size: 10})
	wantAPIError(t, err, 404, "room_not_found")
}
