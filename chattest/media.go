package chattest

import (
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// TestMediaStore runs the contract every chat.MediaStore implementation must meet, as
// documented in chat/media.go. Each subtest gets a fresh, empty store from newStore.
func TestMediaStore(t *testing.T, newStore func(t *testing.T) chat.MediaStore) {
	tests := []struct {
		name string
		run  func(t *testing.T, s chat.MediaStore)
	}{
		{"CreateAndLookUp", testMediaCreate},
		{"DuplicateIDConflicts", testMediaDuplicate},
		{"NotFound", testMediaNotFound},
		{"Update", testMediaUpdate},
		{"Attach", testMediaAttach},
		{"Unattached", testMediaUnattached},
		{"DeleteUnattached", testMediaDeleteUnattached},
		{"ConcurrentAttachAndDelete", testMediaAttachDeleteRace},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newStore(t)) })
	}
}

// mediaAt returns a media record created n minutes after storeEpoch.
func mediaAt(n int) chat.Media {
	return chat.Media{
		ID: chat.NewID(), RoomID: chat.NewID(), UploaderID: chat.NewID(), Filename: "photo.jpg",
		ContentType: "image/jpeg", Size: 12345, Width: 640, Height: 480, HasThumb: true,
		CreatedAt: chat.At(storeAt(n)),
	}
}

func createMedia(tb testing.TB, s chat.MediaStore, m chat.Media) chat.Media {
	tb.Helper()
	if err := s.CreateMedia(tb.Context(), m); err != nil {
		tb.Fatalf("CreateMedia(%s): %v", m.ID, err)
	}
	return m
}

func getMedia(tb testing.TB, s chat.MediaStore, id string) chat.Media {
	tb.Helper()
	m, err := s.Media(tb.Context(), id)
	if err != nil {
		tb.Fatalf("Media(%s): %v", id, err)
	}
	return m
}

func testMediaCreate(t *testing.T, s chat.MediaStore) {
	m := mediaAt(0)
	m.CreatedAt = chat.At(storeEpoch.Add(1234567 * time.Microsecond))
	createMedia(t, s, m)
	got := getMedia(t, s, m.ID)
	if !got.CreatedAt.Equal(m.CreatedAt.Time) || got.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %v, want %v in UTC", got.CreatedAt, m.CreatedAt)
	}
	got.CreatedAt = m.CreatedAt
	if !reflect.DeepEqual(got, m) {
		t.Errorf("Media = %+v\nwant    %+v", got, m)
	}

	p := mediaAt(1)
	p.Filename, p.ContentType, p.Width, p.Height, p.HasThumb, p.Pending = "report.pdf", "application/pdf", 0, 0, false, true
	createMedia(t, s, p)
	if got := getMedia(t, s, p.ID); !got.Pending || got.HasThumb || got.Attached || got.Filename != "report.pdf" {
		t.Errorf("pending media = %+v", got)
	}
}

func testMediaDuplicate(t *testing.T, s chat.MediaStore) {
	m := createMedia(t, s, mediaAt(0))
	other := mediaAt(1)
	other.ID = m.ID
	if err := s.CreateMedia(t.Context(), other); !chat.IsConflict(err) {
		t.Errorf("CreateMedia with a taken id: %v, want conflict", err)
	}
	if got := getMedia(t, s, m.ID); got.RoomID != m.RoomID {
		t.Errorf("the duplicate replaced the media: %+v", got)
	}
}

func testMediaNotFound(t *testing.T, s chat.MediaStore) {
	ctx := t.Context()
	id := chat.NewID()
	if _, err := s.Media(ctx, id); !chat.IsNotFound(err) {
		t.Errorf("Media: %v, want not found", err)
	}
	if err := s.AttachMedia(ctx, id); !chat.IsNotFound(err) {
		t.Errorf("AttachMedia: %v, want not found", err)
	}
	if err := s.UpdateMedia(ctx, chat.Media{ID: id, ContentType: "image/png"}); !chat.IsNotFound(err) {
		t.Errorf("UpdateMedia: %v, want not found", err)
	}
	if deleted, err := s.DeleteUnattachedMedia(ctx, id); err != nil || deleted {
		t.Errorf("DeleteUnattachedMedia = %v, %v; want false, nil", deleted, err)
	}
}

func testMediaUpdate(t *testing.T, s chat.MediaStore) {
	m := mediaAt(0)
	m.Pending, m.HasThumb, m.Width, m.Height, m.ContentType = true, false, 0, 0, "image/png"
	createMedia(t, s, m)
	upd := m
	upd.Pending, upd.HasThumb, upd.Width, upd.Height, upd.ContentType, upd.Size = false, true, 800, 600, "image/jpeg", 999
	// Fields that checking the bytes does not establish are not changed.
	upd.RoomID, upd.UploaderID, upd.Filename = "other-room", "other-user", "renamed.png"
	if err := s.UpdateMedia(t.Context(), upd); err != nil {
		t.Fatalf("UpdateMedia: %v", err)
	}
	got := getMedia(t, s, m.ID)
	want := m
	want.Pending, want.HasThumb, want.Width, want.Height, want.ContentType, want.Size = false, true, 800, 600, "image/jpeg", 999
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after UpdateMedia: %+v\nwant %+v", got, want)
	}
}

func testMediaAttach(t *testing.T, s chat.MediaStore) {
	m := createMedia(t, s, mediaAt(0))
	if getMedia(t, s, m.ID).Attached {
		t.Fatal("new media is attached")
	}
	for range 2 { // again is fine
		if err := s.AttachMedia(t.Context(), m.ID); err != nil {
			t.Fatalf("AttachMedia: %v", err)
		}
	}
	if !getMedia(t, s, m.ID).Attached {
		t.Error("media not attached after AttachMedia")
	}
	// A send that failed after attaching gives the upload back to its uploader alone, and
	// to collection when never sent.
	if err := s.DetachMedia(t.Context(), m.ID); err != nil {
		t.Fatalf("DetachMedia: %v", err)
	}
	if getMedia(t, s, m.ID).Attached {
		t.Error("media attached after DetachMedia")
	}
	got, err := s.UnattachedMedia(t.Context(), storeAt(1), 10)
	if err != nil || len(got) != 1 || got[0].ID != m.ID {
		t.Errorf("UnattachedMedia after DetachMedia = %v, %v; want the media", mediaIDs(got), err)
	}
	if err := s.DetachMedia(t.Context(), chat.NewID()); err != nil {
		t.Errorf("DetachMedia(unknown) = %v, want no error", err)
	}
}

func testMediaUnattached(t *testing.T, s chat.MediaStore) {
	ctx := t.Context()
	old1 := createMedia(t, s, mediaAt(0))
	old2 := createMedia(t, s, mediaAt(1))
	attached := createMedia(t, s, mediaAt(2))
	if err := s.AttachMedia(ctx, attached.ID); err != nil {
		t.Fatal(err)
	}
	createMedia(t, s, mediaAt(10)) // at the cutoff: not before it
	createMedia(t, s, mediaAt(20))

	got, err := s.UnattachedMedia(ctx, storeAt(10), 100)
	if err != nil {
		t.Fatalf("UnattachedMedia: %v", err)
	}
	if ids := mediaIDs(got); !reflect.DeepEqual(ids, []string{old1.ID, old2.ID}) {
		t.Errorf("UnattachedMedia = %v, want the two older unattached %v", ids, []string{old1.ID, old2.ID})
	}
	if len(got) > 0 && (got[0].Filename != old1.Filename || got[0].RoomID != old1.RoomID) {
		t.Errorf("UnattachedMedia returns partial records: %+v", got[0])
	}
	got, err = s.UnattachedMedia(ctx, storeAt(10), 1)
	if err != nil || len(got) != 1 || got[0].ID != old1.ID {
		t.Errorf("UnattachedMedia with limit 1 = %v, %v; want the oldest", mediaIDs(got), err)
	}
	got, err = s.UnattachedMedia(ctx, storeAt(-1), 100)
	if err != nil || len(got) != 0 {
		t.Errorf("UnattachedMedia before everything = %v, %v; want none", mediaIDs(got), err)
	}
}

func testMediaDeleteUnattached(t *testing.T, s chat.MediaStore) {
	ctx := t.Context()
	m := createMedia(t, s, mediaAt(0))
	kept := createMedia(t, s, mediaAt(0))
	if err := s.AttachMedia(ctx, kept.ID); err != nil {
		t.Fatal(err)
	}
	if deleted, err := s.DeleteUnattachedMedia(ctx, m.ID); err != nil || !deleted {
		t.Fatalf("DeleteUnattachedMedia = %v, %v; want true", deleted, err)
	}
	if _, err := s.Media(ctx, m.ID); !chat.IsNotFound(err) {
		t.Errorf("Media after delete: %v, want not found", err)
	}
	if deleted, err := s.DeleteUnattachedMedia(ctx, m.ID); err != nil || deleted {
		t.Errorf("second DeleteUnattachedMedia = %v, %v; want false", deleted, err)
	}
	if deleted, err := s.DeleteUnattachedMedia(ctx, kept.ID); err != nil || deleted {
		t.Errorf("DeleteUnattachedMedia of attached media = %v, %v; want false", deleted, err)
	}
	getMedia(t, s, kept.ID)
}

// testMediaAttachDeleteRace races a message attaching media against the orphan
// collector deleting it: either the attach wins and the media stays, or the delete wins
// and the attach finds nothing; never a message pointing at deleted media.
func testMediaAttachDeleteRace(t *testing.T, s chat.MediaStore) {
	ctx := t.Context()
	for range 20 {
		m := createMedia(t, s, mediaAt(0))
		var (
			wg        sync.WaitGroup
			attachErr error
			deleted   bool
			deleteErr error
		)
		wg.Go(func() { attachErr = s.AttachMedia(ctx, m.ID) })
		wg.Go(func() { deleted, deleteErr = s.DeleteUnattachedMedia(ctx, m.ID) })
		wg.Wait()
		if deleteErr != nil {
			t.Fatalf("DeleteUnattachedMedia: %v", deleteErr)
		}
		_, getErr := s.Media(ctx, m.ID)
		switch {
		case deleted && !chat.IsNotFound(attachErr):
			t.Fatalf("deleted, yet AttachMedia = %v", attachErr)
		case deleted && !chat.IsNotFound(getErr):
			t.Fatalf("deleted, yet Media = %v", getErr)
		case !deleted && (attachErr != nil || getErr != nil):
			t.Fatalf("kept, yet AttachMedia = %v, Media = %v", attachErr, getErr)
		}
	}
}

func mediaIDs(ms []chat.Media) []string {
	ids := []string{}
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	return ids
}

// MediaUsageStore is what TestMediaUsageStore holds to its contract: the usage it reports
// of the records a chat.MediaStore keeps.
type MediaUsageStore interface {
	chat.MediaStore
	chat.MediaUsageStore
}

// TestMediaUsageStore runs the contract of chat.MediaUsageStore, as documented in
// chat/media.go. Each subtest gets a fresh, empty store from newStore.
func TestMediaUsageStore(t *testing.T, newStore func(t *testing.T) MediaUsageStore) {
	tests := []struct {
		name string
		run  func(t *testing.T, s MediaUsageStore)
	}{
		{"Nothing", testUsageNothing},
		{"CountsAndBytes", testUsageCounts},
		{"FollowsChanges", testUsageFollowsChanges},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newStore(t)) })
	}
}

func usage(tb testing.TB, s MediaUsageStore, uploaderID string, since time.Time) chat.MediaUsage {
	tb.Helper()
	u, err := s.MediaUsage(tb.Context(), uploaderID, since)
	if err != nil {
		tb.Fatalf("MediaUsage(%s): %v", uploaderID, err)
	}
	return u
}

func testUsageNothing(t *testing.T, s MediaUsageStore) {
	if u := usage(t, s, chat.NewID(), storeAt(0)); u != (chat.MediaUsage{}) {
		t.Errorf("usage of a user who uploaded nothing = %+v, want zero", u)
	}
}

func testUsageCounts(t *testing.T, s MediaUsageStore) {
	ctx := t.Context()
	user, other := chat.NewID(), chat.NewID()
	var mine []chat.Media
	for i, at := range []int{0, 10, 50, 70} {
		m := mediaAt(at)
		m.UploaderID, m.Size = user, int64(100*(i+1))
		mine = append(mine, createMedia(t, s, m))
	}
	theirs := mediaAt(20)
	theirs.UploaderID, theirs.Size = other, 5000
	createMedia(t, s, theirs)
	if err := s.AttachMedia(ctx, mine[1].ID); err != nil { // attached or not, it counts
		t.Fatal(err)
	}
	p := mediaAt(60) // a presigned upload counts with the size the client declared
	p.UploaderID, p.Size, p.Pending = user, 1000, true
	createMedia(t, s, p)

	got := usage(t, s, user, storeAt(10)) // since is inclusive
	want := chat.MediaUsage{Recent: 4, OldestRecent: storeAt(10), Bytes: 2000}
	if got.Recent != want.Recent || !got.OldestRecent.Equal(want.OldestRecent) || got.Bytes != want.Bytes {
		t.Errorf("usage since 10 = %+v, want %+v", got, want)
	}
	got = usage(t, s, user, storeAt(71))
	if got.Recent != 0 || !got.OldestRecent.IsZero() || got.Bytes != 2000 {
		t.Errorf("usage since after the last = %+v, want no recent, 2000 bytes", got)
	}
	got = usage(t, s, other, storeAt(0))
	if got.Recent != 1 || !got.OldestRecent.Equal(storeAt(20)) || got.Bytes != 5000 {
		t.Errorf("other user's usage = %+v", got)
	}
}

func testUsageFollowsChanges(t *testing.T, s MediaUsageStore) {
	ctx := t.Context()
	user := chat.NewID()
	a, b := mediaAt(0), mediaAt(5)
	a.UploaderID, b.UploaderID, a.Size, b.Size, b.Pending = user, user, 300, 700, true
	createMedia(t, s, a)
	createMedia(t, s, b)
	b.Size, b.Pending = 650, false // the bytes put were checked: their real size
	if err := s.UpdateMedia(ctx, b); err != nil {
		t.Fatal(err)
	}
	if got := usage(t, s, user, storeAt(0)); got.Recent != 2 || got.Bytes != 950 {
		t.Errorf("after UpdateMedia = %+v, want 2 recent, 950 bytes", got)
	}
	if deleted, err := s.DeleteUnattachedMedia(ctx, a.ID); err != nil || !deleted {
		t.Fatalf("DeleteUnattachedMedia = %v, %v", deleted, err)
	}
	got := usage(t, s, user, storeAt(0))
	if got.Recent != 1 || !got.OldestRecent.Equal(storeAt(5)) || got.Bytes != 650 {
		t.Errorf("after the collector deleted one = %+v, want 1 recent from 5, 650 bytes", got)
	}
}
