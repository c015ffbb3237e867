package media_test

import (
	"net/url"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/chattest"
	"github.com/chatchat/chatchat/media"
)

// TestSignedURLs checks the local mode's URLs: scoped to one media item and variant,
// expiring, and rounded so that they repeat within a window. api's TestSignedMediaURLs
// checks the same through the download endpoint.
func TestSignedURLs(t *testing.T) {
	e := newEnv(t, nil, media.Config{URLTTL: time.Hour, BaseURL: "https://chat.example"})
	m, err := e.upload(t, "a.png", chattest.PNG(t, 10, 10))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(m.URL, "https://chat.example/api/v1/media/"+m.ID+"?") {
		t.Fatalf("URL = %s", m.URL)
	}
	if d := m.URLExpiresAt.Sub(e.now); d <= 45*time.Minute || d > time.Hour {
		t.Errorf("URLs expire in %v, want within (45m, 1h]", d)
	}
	again, _ := e.svc.AttachMedia(t.Context(), e.room, m.ID)
	msg := chat.Message{MediaID: m.ID, Media: &again}
	e.now = e.now.Add(time.Minute)
	e.svc.DescribeMedia(t.Context(), &msg)
	if msg.Media.URL != m.URL {
		t.Errorf("a minute later the URL changed: caches cannot keep it")
	}

	open := func(rawURL string) (media.Download, error) {
		t.Helper()
		u, err := url.Parse(rawURL)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		d, err := e.svc.OpenSigned(t.Context(), path.Base(u.Path), q.Get("variant"), q.Get("exp"), q.Get("sig"))
		if err == nil {
			d.Body.Close()
		}
		return d, err
	}
	if d, err := open(m.URL); err != nil || d.Variant != media.Original || d.Headers.ContentType != "image/png" || d.Info.Size != m.Size {
		t.Errorf("signed original: %+v, %v", d, err)
	}
	if d, err := open(m.ThumbURL); err != nil || d.Variant != media.Thumbnail {
		t.Errorf("signed thumbnail: %+v, %v", d, err)
	}
	for name, u := range map[string]string{
		"other variant":   strings.Replace(m.URL, "variant=orig", "variant=thumb", 1),
		"other media":     strings.Replace(m.URL, m.ID, chat.NewID(), 1),
		"later expiry":    strings.Replace(m.URL, "exp=", "exp=9", 1),
		"changed sig":     m.URL[:len(m.URL)-2] + "AA",
		"no sig":          m.URL[:strings.Index(m.URL, "&sig=")],
		"unknown variant": strings.Replace(m.URL, "variant=orig", "variant=x", 1),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := open(u)
			wantKind(t, err, chat.Forbidden, "bad_signature")
		})
	}
	e.now = m.URLExpiresAt.Time
	_, err = open(m.URL)
	wantKind(t, err, chat.Forbidden, "url_expired")
}

// TestOpen checks who may open a media item with a token: members of its room, and no
// one else learns that it exists.
func TestOpen(t *testing.T) {
	e := newEnv(t, nil, media.Config{})
	ctx := t.Context()
	img, err := e.upload(t, "a.png", chattest.PNG(t, 10, 10))
	if err != nil {
		t.Fatal(err)
	}
	txt, err := e.upload(t, "a.txt", []byte("some text"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.svc.Open(ctx, e.user, img.ID, media.Thumbnail)
	if err != nil {
		t.Fatalf("member opens the thumbnail: %v", err)
	}
	d.Body.Close()
	if d.Media.ID != img.ID || d.Headers.ContentType != "image/png" || !strings.HasPrefix(d.Headers.ContentDisposition, "inline") {
		t.Errorf("thumbnail = %+v", d)
	}
	d, err = e.svc.Open(ctx, e.user, txt.ID, media.Original)
	if err != nil {
		t.Fatalf("member opens a file: %v", err)
	}
	d.Body.Close()
	if !strings.HasPrefix(d.Headers.ContentDisposition, "attachment") {
		t.Errorf("a text file is not downloaded: %q", d.Headers.ContentDisposition)
	}
	for name, tc := range map[string]struct{ user, id, variant string }{
		"not a member":      {chat.NewID(), img.ID, media.Original},
		"no such media":     {e.user, chat.NewID(), media.Original},
		"no thumbnail":      {e.user, txt.ID, media.Thumbnail},
		"no such variant":   {e.user, img.ID, "x"},
		"member of another": {e.other, img.ID, media.Original},
	} {
		_, err := e.svc.Open(ctx, tc.user, tc.id, tc.variant)
		wantKind(t, err, chat.NotFound, "media_not_found")
		if t.Failed() {
			t.Fatalf("%s", name)
		}
	}
}
