package media

import (
	"context"
	"io"
	"mime"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// downloadURLTTL is how long the blob store's URL that a download is redirected to works:
// the client follows it at once.
const downloadURLTTL = 5 * time.Minute

// Download is one variant of a media item, ready to send: either a redirect to the blob
// store (S3), or the bytes.
type Download struct {
	Media   chat.Media
	Variant string // Original or Thumbnail
	// RedirectURL, when not empty, is a short-lived URL of the blob store that serves the
	// bytes; Body is nil then.
	RedirectURL string
	// Body holds the bytes otherwise; the caller closes it. It is an io.ReadSeeker where
	// the blob store gives one (a local file), for range requests.
	Body io.ReadCloser
	Info chat.BlobInfo
	// Headers are the type and disposition to send: inline for safe images, attachment
	// for everything else.
	Headers chat.GetOptions
}

// MaxUploadBytes is the largest file Upload and Presign accept.
func (s *Service) MaxUploadBytes() int64 { return s.cfg.MaxBytes }

// TooLarge is the error of a file over limit bytes, for a caller that refuses one before
// handing it to Upload.
func TooLarge(limit int64) error { return tooLarge(limit) }

// Open returns a variant of a media item for userID. An upload that no message uses yet
// is its uploader's alone; once a message of its room refers to it (AttachMedia), it is
// for the members of that room. Anyone else gets media_not_found, as for an id that does
// not exist: they learn nothing, not even that it does.
func (s *Service) Open(ctx context.Context, userID, mediaID, variant string) (Download, error) {
	m, err := s.store.Media(ctx, mediaID)
	if err != nil {
		return Download{}, mediaNotFound(err)
	}
	if err := s.mayOpen(ctx, m, userID); err != nil {
		return Download{}, err
	}
	return s.open(ctx, m, variant)
}

// mayOpen asks the rule of chat.MayOpenMedia, with the membership read only when needed.
func (s *Service) mayOpen(ctx context.Context, m chat.Media, userID string) error {
	return chat.MayOpenMedia(m, userID, func() (chat.Access, error) {
		_, err := s.members.Member(ctx, m.RoomID, userID)
		if chat.IsNotFound(err) {
			return chat.Access{}, nil
		}
		return chat.Access{Member: err == nil}, err
	})
}

// OpenSigned returns the variant of a media item that a signed URL (the exp and sig
// parameters of the URLs in messages) names: 403 when the signature does not match or
// the URL has expired.
func (s *Service) OpenSigned(ctx context.Context, mediaID, variant, exp, sig string) (Download, error) {
	if err := s.verify(mediaID, variant, exp, sig); err != nil {
		return Download{}, err
	}
	m, err := s.store.Media(ctx, mediaID)
	if err != nil {
		return Download{}, mediaNotFound(err)
	}
	return s.open(ctx, m, variant)
}

// open finds a variant's bytes, or a presigned URL of them where the blob store has one.
// A presigned upload whose bytes are not checked yet is not served.
func (s *Service) open(ctx context.Context, m chat.Media, variant string) (Download, error) {
	if m.Pending || variant == Thumbnail && !m.HasThumb {
		return Download{}, mediaNotFound(chat.ErrNotFound)
	}
	d := Download{Media: m, Variant: variant, Headers: s.getOptions(m, variant)}
	if s.presign != nil {
		u, err := s.presign.PresignGet(ctx, blobKey(m.ID, variant), downloadURLTTL, d.Headers)
		if err != nil {
			return Download{}, err
		}
		d.RedirectURL = u
		return d, nil
	}
	rc, info, err := s.blobs.Open(ctx, blobKey(m.ID, variant))
	if err != nil {
		return Download{}, mediaNotFound(err)
	}
	d.Body, d.Info = rc, info
	return d, nil
}

// getOptions are the response headers of a variant: its type, and whether a browser may
// show it (safe images) or must download it (everything else).
func (s *Service) getOptions(m chat.Media, variant string) chat.GetOptions {
	ct := m.ContentType
	if variant == Thumbnail {
		ct = thumbType(m)
	}
	disp := "attachment"
	if safeImages[baseType(ct)] {
		disp = "inline"
	}
	if d := mime.FormatMediaType(disp, map[string]string{"filename": m.Filename}); d != "" {
		disp = d
	}
	return chat.GetOptions{ContentType: ct, ContentDisposition: disp}
}

func mediaNotFound(err error) error {
	if chat.IsNotFound(err) {
		return chat.Errorf(chat.NotFound, "media_not_found", "no such media")
	}
	return err
}
