package chat

import (
	"context"
	"io"
	"strings"
	"time"
)

// MediaStore keeps the metadata of uploaded media; the bytes live in a BlobStore.
type MediaStore interface {
	// CreateMedia stores m. An id that exists gives ErrConflict.
	CreateMedia(ctx context.Context, m Media) error
	// Media returns the media with the id, or ErrNotFound.
	Media(ctx context.Context, id string) (Media, error)
	// UpdateMedia replaces what checking the bytes establishes: ContentType, Size, Width,
	// Height, HasThumb and Pending. ErrNotFound when there is no such media.
	UpdateMedia(ctx context.Context, m Media) error
	// AttachMedia marks the media as referenced by a message (again is fine). ErrNotFound
	// when there is no such media.
	AttachMedia(ctx context.Context, id string) error
	// DetachMedia undoes AttachMedia for a send that failed after attaching, so that the
	// upload is again its uploader's only and collected if never sent. Unknown: no error.
	DetachMedia(ctx context.Context, id string) error
	// UnattachedMedia returns up to limit media created before the time that no message
	// references, oldest first.
	UnattachedMedia(ctx context.Context, before time.Time, limit int) ([]Media, error)
	// DeleteUnattachedMedia deletes the media unless a message references it, atomically
	// with respect to AttachMedia, and reports whether it deleted it.
	DeleteUnattachedMedia(ctx context.Context, id string) (bool, error)
}

// MediaUsage is how much one user has uploaded, for the upload quotas.
type MediaUsage struct {
	// Recent counts the user's media created at or after the time asked about, and
	// OldestRecent is when the oldest of them was created (zero when Recent is 0).
	Recent       int
	OldestRecent time.Time
	// Bytes is the total Size of all the user's media, attached or not.
	Bytes int64
}

// MediaUsageStore counts what a user has uploaded, across every process that shares the
// store. Each adapter implements it and passes chattest.TestMediaUsageStore.
type MediaUsageStore interface {
	// MediaUsage returns the usage of uploaderID, counting as recent their media created
	// at or after since. It reads an index on (uploader, creation time), so that it costs
	// one index range however the store grows.
	MediaUsage(ctx context.Context, uploaderID string, since time.Time) (MediaUsage, error)
}

// BlobInfo describes a stored blob.
type BlobInfo struct {
	Size int64
	// ContentType is the type given to Put, or "" where the store does not keep it.
	ContentType string
	ModTime     time.Time
}

// BlobStore keeps media bytes under keys (see CheckBlobKey). Each adapter implements it and
// passes chattest.TestBlobStore.
type BlobStore interface {
	// Put stores size bytes read from r under key, replacing what was there. A reader
	// sees either the old blob or the whole new one, never a part.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
	// Open returns the blob's bytes and description, or ErrNotFound. The reader is an
	// io.ReadSeeker where the store can give one (a local file), for range requests.
	Open(ctx context.Context, key string) (io.ReadCloser, BlobInfo, error)
	// Stat describes the blob, or returns ErrNotFound.
	Stat(ctx context.Context, key string) (BlobInfo, error)
	// Delete removes the blob; a missing one is not an error.
	Delete(ctx context.Context, key string) error
}

// GetOptions are the response headers a presigned GET makes the blob server send.
type GetOptions struct {
	ContentType        string
	ContentDisposition string
}

// BlobPresigner is implemented by blob stores that clients can reach directly (S3): the
// API hands out short-lived URLs instead of carrying the bytes.
type BlobPresigner interface {
	// PresignGet returns a URL that fetches the blob until ttl passes.
	PresignGet(ctx context.Context, key string, ttl time.Duration, o GetOptions) (string, error)
	// PresignPut returns a URL that stores exactly size bytes of contentType under key
	// with PUT until ttl passes, and the headers the PUT must carry.
	PresignPut(ctx context.Context, key string, ttl time.Duration, contentType string, size int64) (url string, headers map[string]string, err error)
}

// CheckBlobKey refuses keys that could leave a blob store's namespace: a key is one or
// more '/'-separated segments of [A-Za-z0-9._-], none of them "." or "..".
func CheckBlobKey(key string) error {
	if key == "" || len(key) > 512 {
		return Errorf(Invalid, "bad_blob_key", "blob key %q is empty or too long", key)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return Errorf(Invalid, "bad_blob_key", "blob key %q has an empty, . or .. segment", key)
		}
		for _, c := range seg {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
				return Errorf(Invalid, "bad_blob_key", "blob key %q has a character outside [A-Za-z0-9._-/]", key)
			}
		}
	}
	return nil
}
