// Package localfs keeps media blobs as files in a local directory: the storage of the
// single-node mode.
package localfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/chatchat/chatchat/internal/ctxio"

	"github.com/chatchat/chatchat/chat"
)

var _ chat.BlobStore = (*Store)(nil)

// Store is a chat.BlobStore in a directory: the blob with key "a/b" is the file DIR/a/b.
// It is safe for concurrent use.
type Store struct {
	dir string
}

// New returns a Store in dir, creating the directory when missing.
func New(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("localfs: no directory")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("localfs: %w", err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("localfs: %w", err)
	}
	return &Store{dir: abs}, nil
}

// path maps a checked key into the directory.
func (s *Store) path(key string) (string, error) {
	if err := chat.CheckBlobKey(key); err != nil {
		return "", err
	}
	return filepath.Join(s.dir, filepath.FromSlash(key)), nil
}

// Put implements chat.BlobStore. The bytes go to a temporary file beside the target,
// which is renamed into place once complete: readers never see a partial blob, and a
// crash leaves at most a stray temporary file.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, _ string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("localfs: put %s: %w", key, err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".put-*")
	if err != nil {
		return fmt.Errorf("localfs: put %s: %w", key, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once renamed
	n, err := io.Copy(f, io.LimitReader(ctxio.Reader(ctx, r), size+1))
	if err == nil && n != size {
		err = fmt.Errorf("read %d bytes, want %d", n, size)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		return fmt.Errorf("localfs: put %s: %w", key, err)
	}
	return nil
}

// Open implements chat.BlobStore; the reader is an *os.File.
func (s *Store) Open(_ context.Context, key string) (io.ReadCloser, chat.BlobInfo, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, chat.BlobInfo{}, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, chat.BlobInfo{}, fmt.Errorf("localfs: open %s: %w", key, notFound(err))
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, chat.BlobInfo{}, fmt.Errorf("localfs: open %s: %w", key, err)
	}
	return f, chat.BlobInfo{Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// Stat implements chat.BlobStore.
func (s *Store) Stat(_ context.Context, key string) (chat.BlobInfo, error) {
	p, err := s.path(key)
	if err != nil {
		return chat.BlobInfo{}, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return chat.BlobInfo{}, fmt.Errorf("localfs: stat %s: %w", key, notFound(err))
	}
	if !fi.Mode().IsRegular() {
		return chat.BlobInfo{}, fmt.Errorf("localfs: stat %s: %w", key, chat.ErrNotFound)
	}
	return chat.BlobInfo{Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// Delete implements chat.BlobStore. The emptied parent directory is removed too, so that
// deleted media leave no directories behind.
func (s *Store) Delete(_ context.Context, key string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("localfs: delete %s: %w", key, err)
	}
	for d := filepath.Dir(p); d != s.dir && len(d) > len(s.dir); d = filepath.Dir(d) {
		if os.Remove(d) != nil { // not empty (or gone): stop climbing
			break
		}
	}
	return nil
}

func notFound(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return chat.ErrNotFound
	}
	return err
}
