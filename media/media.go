// Package media lets people send images and files: uploads (multipart, or presigned PUTs
// straight to S3), content sniffing against an allow-list, thumbnails, short-lived signed
// URLs, who may open a file, per-user upload quotas, and the collection of uploads no
// message used. It keeps metadata in a Store and bytes in a chat.BlobStore, and is the chat.Service's
// chat.MediaResolver. It speaks no HTTP: api's upload and download endpoints call it.
package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"os"
	"time"

	"github.com/chatchat/chatchat/internal/ctxio"

	"github.com/chatchat/chatchat/chat"
)

var _ chat.MediaResolver = (*Service)(nil)

// Config configures a Service. Zero values take the defaults noted.
type Config struct {
	MaxBytes  int64 // largest upload; default 20 MiB
	MaxPixels int64 // largest image, width×height, refused before decoding; default 50 megapixels
	// MaxDecodeBytes bounds the memory that decoding one image and making its thumbnail
	// take, estimated from the image's header (see decodeCost); a larger image is refused
	// before decoding. Default DefaultMaxDecodeBytes.
	MaxDecodeBytes int64
	ThumbSize      int // longest side of a thumbnail; default 320
	// URLTTL is how long the signed URLs in messages work; default 1 h.
	URLTTL time.Duration
	// UploadURLTTL is how long a presigned upload URL works; default 15 min.
	UploadURLTTL time.Duration
	// AllowedTypes are the sniffed content types accepted (without parameters); default
	// DefaultAllowedTypes.
	AllowedTypes []string
	// OrphanAge is how long an upload may wait for a message before it is collected;
	// default 24 h.
	OrphanAge time.Duration
	// UploadsPerHour bounds one user's uploads (multipart and presigned) in any hour;
	// default DefaultUploadsPerHour, negative for no limit.
	UploadsPerHour int
	// MaxUserBytes bounds the bytes of all the media one user keeps (uploads no message
	// used stop counting when they are collected); default DefaultMaxUserBytes, negative
	// for no limit.
	MaxUserBytes int64
	// BaseURL is put before the signed URLs this server serves itself (local storage),
	// e.g. "https://chat.example.com"; empty gives URLs relative to this server.
	BaseURL string
	// SigningKey signs those URLs (see SigningKey); at least 32 bytes. Required.
	SigningKey []byte
	// TempDir holds uploads while they are checked; default os.TempDir().
	TempDir string
	// MaxDecodes is how many images are decoded at once, each within MaxDecodeBytes.
	// Default 2.
	MaxDecodes int
	Now        func() time.Time // default time.Now
	Logger     *slog.Logger     // default slog.Default()
}

// Members tells whether a user is in a room (chat.RoomStore has it).
type Members interface {
	// Member returns the membership, or an error of kind NotFound.
	Member(ctx context.Context, roomID, userID string) (chat.Member, error)
}

// Service stores, checks, describes and serves media. It is safe for concurrent use.
type Service struct {
	cfg     Config
	store   Store
	blobs   chat.BlobStore
	presign chat.BlobPresigner // nil when the blob store cannot be reached by clients
	members Members
	allowed map[string]bool
	decodes chan struct{}
	log     *slog.Logger
}

// New returns a Service. Blob stores that implement chat.BlobPresigner (S3) get presigned
// uploads and downloads; the others are served through this server with signed URLs.
func New(cfg Config, store Store, blobs chat.BlobStore, members Members) (*Service, error) {
	if len(cfg.SigningKey) < 32 {
		return nil, errors.New("media: the URL signing key must be at least 32 bytes")
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 20 << 20
	}
	if cfg.MaxPixels <= 0 {
		cfg.MaxPixels = 50_000_000
	}
	if cfg.MaxDecodeBytes <= 0 {
		cfg.MaxDecodeBytes = DefaultMaxDecodeBytes
	}
	if cfg.ThumbSize <= 0 {
		cfg.ThumbSize = 320
	}
	if cfg.URLTTL <= 0 {
		cfg.URLTTL = time.Hour
	}
	if cfg.UploadURLTTL <= 0 {
		cfg.UploadURLTTL = 15 * time.Minute
	}
	if len(cfg.AllowedTypes) == 0 {
		cfg.AllowedTypes = DefaultAllowedTypes
	}
	if cfg.OrphanAge <= 0 {
		cfg.OrphanAge = 24 * time.Hour
	}
	if cfg.UploadsPerHour == 0 {
		cfg.UploadsPerHour = DefaultUploadsPerHour
	}
	if cfg.MaxUserBytes == 0 {
		cfg.MaxUserBytes = DefaultMaxUserBytes
	}
	if cfg.TempDir == "" {
		cfg.TempDir = os.TempDir()
	}
	if cfg.MaxDecodes <= 0 {
		cfg.MaxDecodes = 2
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Service{
		cfg: cfg, store: store, blobs: blobs, members: members,
		allowed: map[string]bool{}, decodes: make(chan struct{}, cfg.MaxDecodes), log: cfg.Logger,
	}
	s.presign, _ = blobs.(chat.BlobPresigner)
	for _, t := range cfg.AllowedTypes {
		s.allowed[baseType(t)] = true
	}
	return s, nil
}

// Variants of a media item's bytes.
const (
	Original  = "orig"
	Thumbnail = "thumb"
)

func blobKey(id, variant string) string { return id + "/" + variant }

// Upload stores a file a room member sends: it spools r (at most MaxBytes) to a
// temporary file, sniffs and checks its type, makes a thumbnail of an image, and stores
// both. The answer carries signed URLs.
func (s *Service) Upload(ctx context.Context, userID, roomID, filename string, r io.Reader) (chat.Media, error) {
	if err := s.checkMember(ctx, roomID, userID); err != nil {
		return chat.Media{}, err
	}
	kept, err := s.quotaBefore(ctx, userID, 0)
	if err != nil {
		return chat.Media{}, err
	}
	f, size, err := s.spool(ctx, r)
	if err != nil {
		return chat.Media{}, err
	}
	defer s.removeTemp(f)
	if err := s.overQuota(chat.MediaUsage{Bytes: kept}, 0, size); err != nil {
		return chat.Media{}, err
	}
	m := chat.Media{
		ID: chat.NewID(), RoomID: roomID, UploaderID: userID, Filename: cleanName(filename),
		Size: size, CreatedAt: chat.At(s.cfg.Now()),
	}
	if err := s.inspectAndStore(ctx, f, &m, true); err != nil {
		return chat.Media{}, err
	}
	if err := s.store.CreateMedia(ctx, m); err != nil {
		s.deleteBlobs(ctx, m.ID)
		return chat.Media{}, fmt.Errorf("media: upload: %w", err)
	}
	if err := s.quotaAfter(ctx, m); err != nil {
		return chat.Media{}, err
	}
	s.describe(ctx, &m)
	return m, nil
}

// PresignRequest is what a client is about to upload straight to the blob store.
type PresignRequest struct {
	Filename    string `json:"filename"`
	ContentType string `json:"contentType"`
	Size        int64  `json:"size"`
}

// Presigned is a media record waiting for its bytes, and where and how to PUT them.
type Presigned struct {
	chat.Media
	UploadURL     string            `json:"uploadUrl"`
	UploadHeaders map[string]string `json:"uploadHeaders,omitempty"`
}

// Presign records an upload the client sends straight to S3. Its bytes are checked like
// any upload when a message first refers to it.
func (s *Service) Presign(ctx context.Context, userID, roomID string, in PresignRequest) (Presigned, error) {
	if err := s.checkMember(ctx, roomID, userID); err != nil {
		return Presigned{}, err
	}
	if s.presign == nil {
		return Presigned{}, chat.Errorf(chat.Invalid, "presign_unavailable",
			"presigned uploads need S3 storage; send the file as multipart/form-data in field \"file\"")
	}
	if in.Size <= 0 {
		return Presigned{}, chat.Errorf(chat.Invalid, "bad_request", "size must be positive")
	}
	if in.Size > s.cfg.MaxBytes {
		return Presigned{}, tooLarge(s.cfg.MaxBytes)
	}
	ct, _, err := mime.ParseMediaType(in.ContentType)
	if err != nil {
		return Presigned{}, chat.Errorf(chat.Invalid, "bad_request", "contentType is not a media type")
	}
	if !s.allowed[ct] {
		return Presigned{}, unsupported(ct)
	}
	if _, err := s.quotaBefore(ctx, userID, in.Size); err != nil {
		return Presigned{}, err
	}
	m := chat.Media{
		ID: chat.NewID(), RoomID: roomID, UploaderID: userID, Filename: cleanName(in.Filename),
		ContentType: ct, Size: in.Size, Pending: true, CreatedAt: chat.At(s.cfg.Now()),
	}
	if err := s.store.CreateMedia(ctx, m); err != nil {
		return Presigned{}, fmt.Errorf("media: presign: %w", err)
	}
	if err := s.quotaAfter(ctx, m); err != nil {
		return Presigned{}, err
	}
	u, headers, err := s.presign.PresignPut(ctx, blobKey(m.ID, Original), s.cfg.UploadURLTTL, ct, in.Size)
	if err != nil {
		return Presigned{}, fmt.Errorf("media: presign: %w", err)
	}
	return Presigned{Media: m, UploadURL: u, UploadHeaders: headers}, nil
}

// AttachMedia implements chat.MediaResolver: the media must have been uploaded to the
// room. A presigned upload is checked now, the first time a message refers to it.
func (s *Service) AttachMedia(ctx context.Context, roomID, senderID, mediaID string) (chat.Media, bool, error) {
	// One answer for unknown media and another room's, so that a message cannot probe
	// which ids exist elsewhere.
	notHere := chat.Errorf(chat.Invalid, "media_not_in_room", "no media %s in this room", mediaID)
	m, err := s.store.Media(ctx, mediaID)
	if chat.IsNotFound(err) {
		return chat.Media{}, false, notHere
	}
	if err != nil {
		return chat.Media{}, false, fmt.Errorf("media: attach: %w", err)
	}
	if err := chat.MayAttachMedia(m, roomID, senderID); err != nil {
		return chat.Media{}, false, err
	}
	if m.Pending {
		if m, err = s.finishPresigned(ctx, m); err != nil {
			return chat.Media{}, false, err
		}
	}
	if err := s.store.AttachMedia(ctx, m.ID); chat.IsNotFound(err) { // collected meanwhile
		return chat.Media{}, false, notHere
	} else if err != nil {
		return chat.Media{}, false, fmt.Errorf("media: attach: %w", err)
	}
	was := m.Attached
	m.Attached = true
	return m, was, nil
}

// DetachMedia implements chat.MediaResolver.
func (s *Service) DetachMedia(ctx context.Context, mediaID string) error {
	if err := s.store.DetachMedia(ctx, mediaID); err != nil {
		return fmt.Errorf("media: detach: %w", err)
	}
	return nil
}

// DescribeMedia implements chat.MediaResolver: it loads the message's media if need be
// and fills in fresh signed URLs.
func (s *Service) DescribeMedia(ctx context.Context, msg *chat.Message) {
	if msg.Media == nil {
		m, err := s.store.Media(ctx, msg.MediaID)
		if err != nil {
			s.log.Warn("media of a message not found", "message", msg.ID, "media", msg.MediaID, "err", err)
			return
		}
		msg.Media = &m
	}
	s.describe(ctx, msg.Media)
}

// describe fills in m's signed URLs. The expiry is rounded to a quarter of the lifetime,
// so that the URLs of a message stay the same for a while and browsers can cache them.
func (s *Service) describe(ctx context.Context, m *chat.Media) {
	if m.Pending {
		return
	}
	ttl := s.cfg.URLTTL
	step := max(ttl/4, time.Second)
	exp := s.cfg.Now().Truncate(step).Add(ttl)
	url := func(variant string) (string, error) {
		if s.presign != nil {
			return s.presign.PresignGet(ctx, blobKey(m.ID, variant), exp.Sub(s.cfg.Now()), s.getOptions(*m, variant))
		}
		return s.signedURL(m.ID, variant, exp), nil
	}
	var err error
	if m.URL, err = url(Original); err == nil && m.HasThumb {
		m.ThumbURL, err = url(Thumbnail)
	}
	if err != nil {
		s.log.Warn("media URLs", "media", m.ID, "err", err)
		m.URL, m.ThumbURL = "", ""
		return
	}
	at := chat.At(exp)
	m.URLExpiresAt = &at
}

// finishPresigned checks the bytes a client PUT to S3 as an upload is checked, and
// records what they are. Bytes that are refused are deleted with their record.
func (s *Service) finishPresigned(ctx context.Context, m chat.Media) (chat.Media, error) {
	info, err := s.blobs.Stat(ctx, blobKey(m.ID, Original))
	if chat.IsNotFound(err) {
		return chat.Media{}, chat.Errorf(chat.Invalid, "media_not_uploaded", "media %s has not been uploaded yet", m.ID)
	}
	if err != nil {
		return chat.Media{}, fmt.Errorf("media: check upload: %w", err)
	}
	refuse := func(err error) (chat.Media, error) {
		if ok, derr := s.store.DeleteUnattachedMedia(ctx, m.ID); derr != nil {
			s.log.Warn("delete refused upload", "media", m.ID, "err", derr)
		} else if ok {
			s.deleteBlobs(ctx, m.ID)
		}
		return chat.Media{}, err
	}
	if info.Size > s.cfg.MaxBytes {
		return refuse(tooLarge(s.cfg.MaxBytes))
	}
	rc, _, err := s.blobs.Open(ctx, blobKey(m.ID, Original))
	if err != nil {
		return chat.Media{}, fmt.Errorf("media: check upload: %w", err)
	}
	f, size, err := s.spool(ctx, rc)
	rc.Close()
	if err != nil {
		if k := chat.ErrorKind(err); k == chat.TooLarge || k == chat.Invalid {
			return refuse(err)
		}
		return chat.Media{}, err
	}
	defer s.removeTemp(f)
	m.Size = size
	if err := s.inspectAndStore(ctx, f, &m, false); err != nil {
		if k := chat.ErrorKind(err); k == chat.TooLarge || k == chat.UnsupportedMedia {
			return refuse(err)
		}
		return chat.Media{}, err
	}
	m.Pending = false
	if err := s.store.UpdateMedia(ctx, m); err != nil {
		return chat.Media{}, fmt.Errorf("media: check upload: %w", err)
	}
	return m, nil
}

// spool copies r into a temporary file, at most MaxBytes, and returns it with its size.
func (s *Service) spool(ctx context.Context, r io.Reader) (*os.File, int64, error) {
	f, err := os.CreateTemp(s.cfg.TempDir, "chatchat-upload-*")
	if err != nil {
		return nil, 0, fmt.Errorf("media: spool: %w", err)
	}
	n, err := io.Copy(f, io.LimitReader(ctxio.Reader(ctx, r), s.cfg.MaxBytes+1))
	switch {
	case err == nil && n > s.cfg.MaxBytes:
		err = tooLarge(s.cfg.MaxBytes)
	case chat.ErrorKind(err) == chat.TooLarge:
		// The caller's own limit on r stopped it first (api's limit on the request body).
	case err != nil:
		err = fmt.Errorf("media: spool: %w", err)
	case n == 0:
		err = chat.Errorf(chat.Invalid, "empty_file", "the file is empty")
	}
	if err != nil {
		s.removeTemp(f)
		return nil, 0, err
	}
	return f, n, nil
}

func (s *Service) removeTemp(f *os.File) {
	f.Close()
	if err := os.Remove(f.Name()); err != nil {
		s.log.Warn("remove temporary upload", "path", f.Name(), "err", err)
	}
}

// inspectAndStore sniffs the spooled file, refuses what is not allowed, reads an
// image's dimensions and makes its thumbnail, and stores the thumbnail and (when
// putOriginal) the file itself. It fills in m's content type, dimensions and HasThumb.
func (s *Service) inspectAndStore(ctx context.Context, f *os.File, m *chat.Media, putOriginal bool) error {
	head := make([]byte, 512)
	n, err := f.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("media: sniff: %w", err)
	}
	m.ContentType = sniff(head[:n], m.Filename)
	if !s.allowed[baseType(m.ContentType)] {
		return unsupported(baseType(m.ContentType))
	}
	var thumb []byte
	if c, ok := codecs[m.ContentType]; ok {
		if thumb, err = s.image(ctx, f, m, c); err != nil {
			return err
		}
	}
	if putOriginal {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("media: store: %w", err)
		}
		if err := s.blobs.Put(ctx, blobKey(m.ID, Original), f, m.Size, m.ContentType); err != nil {
			return fmt.Errorf("media: store: %w", err)
		}
	}
	if thumb != nil {
		if err := s.blobs.Put(ctx, blobKey(m.ID, Thumbnail), bytes.NewReader(thumb), int64(len(thumb)), thumbType(*m)); err != nil {
			if putOriginal {
				s.deleteBlobs(ctx, m.ID)
			}
			return fmt.Errorf("media: store thumbnail: %w", err)
		}
		m.HasThumb = true
	}
	return nil
}

// RemoveMedia deletes a deleted message's file and its thumbnail from the blob store
// (chat.MediaRemover). The media's record stays, so that its id is never reused; opening
// it then finds no bytes and answers media_not_found.
func (s *Service) RemoveMedia(ctx context.Context, id string) error {
	var errs []error
	for _, v := range []string{Original, Thumbnail} {
		if err := s.blobs.Delete(ctx, blobKey(id, v)); err != nil && !chat.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("media: remove %s %s: %w", id, v, err))
		}
	}
	return errors.Join(errs...)
}

func (s *Service) deleteBlobs(ctx context.Context, id string) {
	for _, v := range []string{Original, Thumbnail} {
		if err := s.blobs.Delete(ctx, blobKey(id, v)); err != nil {
			s.log.Warn("delete media blob", "media", id, "variant", v, "err", err)
		}
	}
}

// checkMember reports a room the user is not in exactly like a room that does not exist.
func (s *Service) checkMember(ctx context.Context, roomID, userID string) error {
	if _, err := s.members.Member(ctx, roomID, userID); chat.IsNotFound(err) {
		return chat.Errorf(chat.NotFound, "room_not_found", "no such room")
	} else if err != nil {
		return fmt.Errorf("media: membership: %w", err)
	}
	return nil
}

func tooLarge(limit int64) error {
	return chat.Errorf(chat.TooLarge, "media_too_large", "the file is larger than %d bytes", limit)
}

func unsupported(ct string) error {
	return chat.Errorf(chat.UnsupportedMedia, "unsupported_media_type", "files of type %s are not accepted", ct)
}
