package chattest

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// TestBlobStore runs the contract every chat.BlobStore implementation must meet, as
// documented in chat/media.go. Each subtest gets a fresh, empty store from newStore.
func TestBlobStore(t *testing.T, newStore func(t *testing.T) chat.BlobStore) {
	tests := []struct {
		name string
		run  func(t *testing.T, s chat.BlobStore)
	}{
		{"PutOpen", testBlobPutOpen},
		{"Stat", testBlobStat},
		{"Missing", testBlobMissing},
		{"Overwrite", testBlobOverwrite},
		{"Delete", testBlobDelete},
		{"Large", testBlobLarge},
		{"Empty", testBlobEmpty},
		{"BadKeys", testBlobBadKeys},
		{"ConcurrentPutsAreWhole", testBlobConcurrentPuts},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newStore(t)) })
	}
}

func putBlob(tb testing.TB, s chat.BlobStore, key string, data []byte, ctype string) {
	tb.Helper()
	if err := s.Put(tb.Context(), key, bytes.NewReader(data), int64(len(data)), ctype); err != nil {
		tb.Fatalf("Put(%s): %v", key, err)
	}
}

// readBlob returns the blob's bytes and description.
func readBlob(tb testing.TB, s chat.BlobStore, key string) ([]byte, chat.BlobInfo) {
	tb.Helper()
	rc, info, err := s.Open(tb.Context(), key)
	if err != nil {
		tb.Fatalf("Open(%s): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		tb.Fatalf("read %s: %v", key, err)
	}
	return b, info
}

func testBlobPutOpen(t *testing.T, s chat.BlobStore) {
	data := []byte("hello, blob")
	putBlob(t, s, "01abc/orig", data, "text/plain; charset=utf-8")
	got, info := readBlob(t, s, "01abc/orig")
	if !bytes.Equal(got, data) {
		t.Errorf("Open = %q, want %q", got, data)
	}
	if info.Size != int64(len(data)) {
		t.Errorf("Size = %d, want %d", info.Size, len(data))
	}
	if info.ContentType != "" && info.ContentType != "text/plain; charset=utf-8" {
		t.Errorf("ContentType = %q, want the one put (or none)", info.ContentType)
	}
	if info.ModTime.IsZero() || time.Since(info.ModTime) > time.Hour || time.Until(info.ModTime) > time.Hour {
		t.Errorf("ModTime = %v, want about now", info.ModTime)
	}
	// A sibling key is another blob.
	putBlob(t, s, "01abc/thumb", []byte("small"), "image/png")
	if got, _ := readBlob(t, s, "01abc/orig"); !bytes.Equal(got, data) {
		t.Errorf("after putting a sibling, Open = %q", got)
	}
}

func testBlobStat(t *testing.T, s chat.BlobStore) {
	putBlob(t, s, "a/b/c.bin", []byte{1, 2, 3, 4, 5}, "application/octet-stream")
	info, err := s.Stat(t.Context(), "a/b/c.bin")
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if info.Size != 5 {
		t.Errorf("Size = %d, want 5", info.Size)
	}
	if info.ContentType != "" && info.ContentType != "application/octet-stream" {
		t.Errorf("ContentType = %q", info.ContentType)
	}
}

func testBlobMissing(t *testing.T, s chat.BlobStore) {
	if _, _, err := s.Open(t.Context(), "nothing/here"); !chat.IsNotFound(err) {
		t.Errorf("Open of a missing blob: %v, want not found", err)
	}
	if _, err := s.Stat(t.Context(), "nothing/here"); !chat.IsNotFound(err) {
		t.Errorf("Stat of a missing blob: %v, want not found", err)
	}
	// A prefix of a key is not a blob.
	putBlob(t, s, "dir/file", []byte("x"), "text/plain")
	if _, err := s.Stat(t.Context(), "dir"); !chat.IsNotFound(err) {
		t.Errorf("Stat of a key prefix: %v, want not found", err)
	}
}

func testBlobOverwrite(t *testing.T, s chat.BlobStore) {
	putBlob(t, s, "k/orig", []byte("first version"), "text/plain")
	putBlob(t, s, "k/orig", []byte("v2"), "text/plain")
	if got, info := readBlob(t, s, "k/orig"); string(got) != "v2" || info.Size != 2 {
		t.Errorf("after overwrite: %q size %d, want \"v2\" size 2", got, info.Size)
	}
}

func testBlobDelete(t *testing.T, s chat.BlobStore) {
	ctx := t.Context()
	putBlob(t, s, "d/orig", []byte("bye"), "text/plain")
	putBlob(t, s, "d/thumb", []byte("bye small"), "text/plain")
	if err := s.Delete(ctx, "d/orig"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Stat(ctx, "d/orig"); !chat.IsNotFound(err) {
		t.Errorf("Stat after Delete: %v, want not found", err)
	}
	if _, err := s.Stat(ctx, "d/thumb"); err != nil {
		t.Errorf("deleting a blob removed its sibling: %v", err)
	}
	if err := s.Delete(ctx, "d/orig"); err != nil {
		t.Errorf("Delete of a missing blob: %v, want nil", err)
	}
	if err := s.Delete(ctx, "d/thumb"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	// The key can be used again.
	putBlob(t, s, "d/orig", []byte("back"), "text/plain")
	if got, _ := readBlob(t, s, "d/orig"); string(got) != "back" {
		t.Errorf("after re-put: %q", got)
	}
}

func testBlobLarge(t *testing.T, s chat.BlobStore) {
	data := make([]byte, 3<<20+17) // several buffers and an odd tail
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	putBlob(t, s, "big/orig", data, "application/zip")
	got, info := readBlob(t, s, "big/orig")
	if !bytes.Equal(got, data) || info.Size != int64(len(data)) {
		t.Errorf("large blob: read %d bytes (size %d), want %d identical", len(got), info.Size, len(data))
	}
}

func testBlobEmpty(t *testing.T, s chat.BlobStore) {
	putBlob(t, s, "e/orig", nil, "text/plain")
	if got, info := readBlob(t, s, "e/orig"); len(got) != 0 || info.Size != 0 {
		t.Errorf("empty blob: %q size %d", got, info.Size)
	}
}

func testBlobBadKeys(t *testing.T, s chat.BlobStore) {
	ctx := t.Context()
	for _, key := range []string{"", "/abs", "a//b", "../up", "a/../b", "a/.", "sp ace", "a\\b", "tab\tx", "trail/"} {
		if err := s.Put(ctx, key, bytes.NewReader([]byte("x")), 1, "text/plain"); chat.ErrorKind(err) != chat.Invalid {
			t.Errorf("Put(%q) = %v, want an Invalid error", key, err)
		}
		if _, _, err := s.Open(ctx, key); chat.ErrorKind(err) != chat.Invalid {
			t.Errorf("Open(%q) = %v, want an Invalid error", key, err)
		}
		if err := s.Delete(ctx, key); chat.ErrorKind(err) != chat.Invalid {
			t.Errorf("Delete(%q) = %v, want an Invalid error", key, err)
		}
	}
}

// testBlobConcurrentPuts writes one key from several goroutines while others read it:
// every read sees one writer's bytes, whole.
func testBlobConcurrentPuts(t *testing.T, s chat.BlobStore) {
	const writers = 4
	versions := make([][]byte, writers)
	for i := range versions {
		versions[i] = bytes.Repeat([]byte{byte('a' + i)}, 256<<10)
	}
	putBlob(t, s, "c/orig", versions[0], "text/plain")
	var wg sync.WaitGroup
	errs := make(chan error, 2*writers*5)
	for i := range writers {
		wg.Go(func() {
			for range 5 {
				if err := s.Put(t.Context(), "c/orig", bytes.NewReader(versions[i]), int64(len(versions[i])), "text/plain"); err != nil {
					errs <- fmt.Errorf("Put: %w", err)
				}
			}
		})
		wg.Go(func() {
			for range 5 {
				rc, _, err := s.Open(t.Context(), "c/orig")
				if err != nil {
					errs <- fmt.Errorf("Open: %w", err)
					continue
				}
				b, err := io.ReadAll(rc)
				rc.Close()
				if err != nil {
					errs <- fmt.Errorf("read: %w", err)
					continue
				}
				if len(b) != len(versions[0]) || !bytes.Equal(b, bytes.Repeat(b[:1], len(b))) {
					errs <- fmt.Errorf("read %d bytes that are not one version whole", len(b))
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
