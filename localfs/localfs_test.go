package localfs_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/chattest"
	"github.com/chatchat/chatchat/localfs"
)

func newStore(tb testing.TB, dir string) *localfs.Store {
	tb.Helper()
	s, err := localfs.New(dir)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return s
}

func TestBlobStore(t *testing.T) {
	chattest.TestBlobStore(t, func(t *testing.T) chat.BlobStore { return newStore(t, t.TempDir()) })
}

// TestLayout checks that blobs are plain files under the directory, that nothing escapes
// it, and that deleting a media item's last blob leaves no empty directory behind.
func TestLayout(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "media")
	s := newStore(t, dir) // created when missing
	ctx := t.Context()
	if err := s.Put(ctx, "m1/orig", bytes.NewReader([]byte("abc")), 3, "text/plain"); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "m1", "orig")); err != nil || string(b) != "abc" {
		t.Fatalf("file on disk: %q %v", b, err)
	}
	if err := s.Put(ctx, "m1/orig", bytes.NewReader([]byte("abcdef")), 3, "text/plain"); err == nil {
		t.Error("Put with more bytes than the size succeeded")
	}
	if err := s.Put(ctx, "m1/orig", bytes.NewReader([]byte("a")), 3, "text/plain"); err == nil {
		t.Error("Put with fewer bytes than the size succeeded")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "m1", "orig")); string(b) != "abc" {
		t.Errorf("a failed Put changed the blob to %q", b)
	}
	if err := s.Delete(ctx, "m1/orig"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "m1")); !os.IsNotExist(err) {
		t.Errorf("the emptied media directory is still there: %v", err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("the store's own directory went: %v", err)
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 1 {
		t.Errorf("files outside the store's directory: %v", entries)
	}
}
