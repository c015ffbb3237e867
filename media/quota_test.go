package media_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/media"
)

func wantRetryAfter(tb testing.TB, err error, want time.Duration) {
	tb.Helper()
	var e *chat.Error
	if !errors.As(err, &e) {
		tb.Errorf("error %v, want one with RetryAfter %v", err, want)
	} else if e.RetryAfter != want {
		tb.Errorf("error %v: RetryAfter = %v, want %v", err, e.RetryAfter, want)
	}
}

// TestUploadQuotaPerHour checks the hourly count: any hour, multipart and presigned
// alike, with a Retry-After for when the oldest upload of the hour leaves it.
func TestUploadQuotaPerHour(t *testing.T) {
	blobs, _ := fakeS3(t)
	e := newEnv(t, blobs, media.Config{UploadsPerHour: 3})
	start := e.now
	for range 2 {
		if _, err := e.upload(t, "a.txt", []byte("hello")); err != nil {
			t.Fatal(err)
		}
	}
	e.now = start.Add(20 * time.Minute)
	in := media.PresignRequest{Filename: "a.txt", ContentType: "text/plain", Size: 5}
	if _, err := e.svc.Presign(t.Context(), e.user, e.room, in); err != nil {
		t.Fatal(err)
	}
	e.now = start.Add(30 * time.Minute)
	_, err := e.upload(t, "a.txt", []byte("hello"))
	wantKind(t, err, chat.RateLimited, "upload_quota")
	wantRetryAfter(t, err, 30*time.Minute)
	_, err = e.svc.Presign(t.Context(), e.user, e.room, in)
	wantKind(t, err, chat.RateLimited, "upload_quota")

	// Another user has a quota of their own.
	if _, err := e.svc.Upload(t.Context(), e.stranger, e.other, "b.txt", bytes.NewReader([]byte("hi"))); err != nil {
		t.Errorf("another user's upload: %v", err)
	}
	// An hour after the first two, two more fit, not three.
	e.now = start.Add(time.Hour + time.Millisecond)
	for range 2 {
		if _, err := e.upload(t, "a.txt", []byte("hello")); err != nil {
			t.Fatalf("after an hour: %v", err)
		}
	}
	_, err = e.upload(t, "a.txt", []byte("hello"))
	wantKind(t, err, chat.RateLimited, "upload_quota")
	wantRetryAfter(t, err, 20*time.Minute-time.Millisecond)
}

// TestUploadQuotaBytes checks the bytes one user keeps: refused once at the limit
// without reading the upload, and freed when unused uploads are collected.
func TestUploadQuotaBytes(t *testing.T) {
	e := newEnv(t, nil, media.Config{MaxUserBytes: 1000, OrphanAge: time.Hour})
	ctx := t.Context()
	used, err := e.upload(t, "a.txt", bytes.Repeat([]byte("a"), 600))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.AttachMedia(ctx, e.room, e.user, used.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.upload(t, "b.txt", bytes.Repeat([]byte("b"), 401))
	wantKind(t, err, chat.TooLarge, "storage_quota")
	if _, err := e.upload(t, "b.txt", bytes.Repeat([]byte("b"), 400)); err != nil {
		t.Fatalf("up to the limit: %v", err)
	}
	_, err = e.svc.Upload(ctx, e.user, e.room, "c.txt", unread{t})
	wantKind(t, err, chat.TooLarge, "storage_quota")

	e.now = e.now.Add(2 * time.Hour)
	if n, err := e.svc.CollectOrphans(ctx); err != nil || n != 1 {
		t.Fatalf("CollectOrphans = %d, %v; want the unsent upload", n, err)
	}
	if _, err := e.upload(t, "c.txt", bytes.Repeat([]byte("c"), 400)); err != nil {
		t.Errorf("after the unsent upload was collected: %v", err)
	}
}

// unread is an upload that fails the test if it is read.
type unread struct{ tb testing.TB }

func (u unread) Read([]byte) (int, error) {
	u.tb.Error("an upload over the quota was read")
	return 0, io.EOF
}

// staleUsage answers the check before an upload as another API process would that has not
// seen an upload racing this one: with nothing recent.
type staleUsage struct {
	media.Store
	stale bool
}

func (s *staleUsage) MediaUsage(ctx context.Context, uploaderID string, since time.Time) (chat.MediaUsage, error) {
	if s.stale {
		s.stale = false
		return chat.MediaUsage{}, nil
	}
	return s.Store.MediaUsage(ctx, uploaderID, since)
}

// TestUploadQuotaRace checks the second count, after the record is created: an upload
// that passed the first check only because a racing one was not counted yet is refused,
// and its record and bytes are gone.
func TestUploadQuotaRace(t *testing.T) {
	e := newEnv(t, nil, media.Config{})
	ctx := t.Context()
	store := &staleUsage{Store: e.store}
	svc, err := media.New(media.Config{
		UploadsPerHour: 1, SigningKey: bytes.Repeat([]byte("k"), 32), TempDir: t.TempDir(),
		Now: func() time.Time { return e.now },
	}, store, e.blobs, e.store)
	if err != nil {
		t.Fatal(err)
	}
	first, err := svc.Upload(ctx, e.user, e.room, "a.txt", bytes.NewReader([]byte("first")))
	if err != nil {
		t.Fatal(err)
	}
	store.stale = true
	_, err = svc.Upload(ctx, e.user, e.room, "b.txt", bytes.NewReader([]byte("second")))
	wantKind(t, err, chat.RateLimited, "upload_quota")
	u, err := e.store.MediaUsage(ctx, e.user, e.now.Add(-time.Hour))
	if err != nil || u.Recent != 1 || u.Bytes != first.Size {
		t.Errorf("usage after the refused race = %+v, %v; want the first upload only", u, err)
	}
	ms, err := e.store.UnattachedMedia(ctx, e.now.Add(time.Hour), 10)
	if err != nil || len(ms) != 1 {
		t.Fatalf("records = %d, %v; want 1", len(ms), err)
	}
	for _, m := range ms {
		if m.ID != first.ID {
			t.Errorf("the refused upload's record %s is kept", m.ID)
		}
	}
}
