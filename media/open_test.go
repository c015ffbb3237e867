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
	again, _, _ := e.svc.AttachMedia(t.Context(), e.room, e.user, m.ID)
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

// TestOpen checks who may open a media item with a token: an upload no message uses yet
// its uploader only; once a message of its room refers to it, the room's members; and no
// one else learns that it exists.
func TestOpen(t *testing.T) {
	e := newEnv(t, nil, media.Config{})
	ctx := t.Context()
	mate := chat.User{ID: chat.NewID(), Username: "cat", DisplayName: "cat", CreatedAt: chat.At(e.now)}
	if err := e.store.CreateUser(ctx, mate, "h"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.AddMembers(ctx, e.room, []string{mate.ID}, e.now); err != nil {
		t.Fatal(err)
	}
	img, err := e.upload(t, "a.png", chattest.PNG(t, 10, 10))
	if err != nil {
		t.Fatal(err)
	}
	txt, err := e.upload(t, "a.txt", []byte("some text"))
	if err != nil {
		t.Fatal(err)
	}
	mayOpen := func(user, id, variant string) bool {
		t.Helper()
		d, err := e.svc.Open(ctx, user, id, variant)
		if err != nil {
			wantKind(t, err, chat.NotFound, "media_not_found")
			return false
		}
		d.Body.Close()
		return true
	}

	// Unattached: the uploader only, though the others are members of its room.
	if !mayOpen(e.user, img.ID, media.Thumbnail) || !mayOpen(e.user, txt.ID, media.Original) {
		t.Fatal("the uploader cannot open an upload of theirs that no message uses yet")
	}
	if mayOpen(mate.ID, img.ID, media.Original) || mayOpen(mate.ID, txt.ID, media.Original) {
		t.Error("a member of the room opens an upload that no message uses")
	}

	for _, id := range []string{img.ID, txt.ID} {
		if _, _, err := e.svc.AttachMedia(ctx, e.room, e.user, id); err != nil {
			t.Fatal(err)
		}
	}
	// Attached: the members of its room.
	for _, user := range []string{e.user, mate.ID} {
		if !mayOpen(user, img.ID, media.Original) || !mayOpen(user, txt.ID, media.Original) {
			t.Errorf("member %s cannot open media a message of the room uses", user)
		}
	}
	d, err := e.svc.Open(ctx, mate.ID, img.ID, media.Thumbnail)
	if err != nil {
		t.Fatalf("member opens the thumbnail: %v", err)
	}
	d.Body.Close()
	if d.Media.ID != img.ID || d.Headers.ContentType != "image/png" || !strings.HasPrefix(d.Headers.ContentDisposition, "inline") {
		t.Errorf("thumbnail = %+v", d)
	}
	d, err = e.svc.Open(ctx, mate.ID, txt.ID, media.Original)
	if err != nil {
		t.Fatalf("member opens a file: %v", err)
	}
	d.Body.Close()
	if !strings.HasPrefix(d.Headers.ContentDisposition, "attachment") {
		t.Errorf("a text file is not downloaded: %q", d.Headers.ContentDisposition)
	}
	// The uploader leaves: attached media is the room's, no longer theirs.
	if err := e.store.RemoveMember(ctx, e.room, e.user); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct{ user, id, variant string }{
		"not a member":           {chat.NewID(), img.ID, media.Original},
		"uploader who left":      {e.user, img.ID, media.Original},
		"no such media":          {mate.ID, chat.NewID(), media.Original},
		"no thumbnail":           {mate.ID, txt.ID, media.Thumbnail},
		"no such variant":        {mate.ID, img.ID, "x"},
		"member of another room": {e.stranger, img.ID, media.Original},
	} {
		if mayOpen(tc.user, tc.id, tc.variant) {
			t.Errorf("%s opens it", name)
		}
	}
}
