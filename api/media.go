package api

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/media"
)

// multipartSlack is what a multipart body may hold beyond the file: boundaries, part
// headers, small fields.
const multipartSlack = 64 << 10

// maxPresignBodyBytes bounds the JSON description of a presigned upload.
const maxPresignBodyBytes = 64 << 10

// uploadMedia takes a multipart file, or a JSON description for a presigned upload.
func (s *Server) uploadMedia(w http.ResponseWriter, r *http.Request) {
	roomID, userID := r.PathValue("roomId"), callerID(r)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		var in media.PresignRequest
		if err := decodeJSON(w, r, maxPresignBodyBytes, &in); err != nil {
			s.fail(w, r, err)
			return
		}
		p, err := s.cfg.Media.Presign(r.Context(), userID, roomID, in)
		s.reply(w, r, http.StatusCreated, p, err)
	case "multipart/form-data":
		maxBytes := s.cfg.Media.MaxUploadBytes()
		limit := maxBytes + multipartSlack
		if r.ContentLength > limit { // refuse before reading a byte
			s.fail(w, r, media.TooLarge(maxBytes))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		mr, err := r.MultipartReader()
		if err != nil {
			s.fail(w, r, chat.Errorf(chat.Invalid, "bad_request", "the body is not multipart form data"))
			return
		}
		for {
			part, err := mr.NextPart()
			var tooBig *http.MaxBytesError
			switch {
			case errors.As(err, &tooBig):
				s.fail(w, r, media.TooLarge(maxBytes))
				return
			case errors.Is(err, io.EOF):
				s.fail(w, r, chat.Errorf(chat.Invalid, "bad_request", `the form has no field "file"`))
				return
			case err != nil:
				s.fail(w, r, chat.Errorf(chat.Invalid, "bad_request", "the multipart body is malformed"))
				return
			}
			if part.FormName() != "file" {
				part.Close()
				continue
			}
			m, err := s.cfg.Media.Upload(r.Context(), userID, roomID, part.FileName(), limitedPart{part, maxBytes})
			part.Close()
			s.reply(w, r, http.StatusCreated, m, err)
			return
		}
	default:
		s.fail(w, r, chat.Errorf(chat.Invalid, "bad_request",
			`send the file as multipart/form-data in field "file", or JSON {filename, contentType, size} for a presigned upload`))
	}
}

// signedOr serves requests that carry a signature without a token, and passes the others
// to next, which requires one.
func (s *Server) signedOr(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if !q.Has("sig") {
			next.ServeHTTP(w, r)
			return
		}
		d, err := s.cfg.Media.OpenSigned(r.Context(), r.PathValue("mediaId"), q.Get("variant"), q.Get("exp"), q.Get("sig"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.sendMedia(w, r, d)
	})
}

// downloadMedia serves a caller with a token whom the media service lets open it.
func (s *Server) downloadMedia(w http.ResponseWriter, r *http.Request) {
	variant := media.Original
	if q := r.URL.Query(); q.Get("thumb") == "1" || q.Get("variant") == media.Thumbnail {
		variant = media.Thumbnail
	}
	d, err := s.cfg.Media.Open(r.Context(), callerID(r), r.PathValue("mediaId"), variant)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.sendMedia(w, r, d)
}

// sendMedia sends a variant's bytes, or a redirect to the blob store's URL of them.
func (s *Server) sendMedia(w http.ResponseWriter, r *http.Request, d media.Download) {
	if d.RedirectURL != "" {
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, d.RedirectURL, http.StatusFound)
		return
	}
	defer d.Body.Close()
	hd := w.Header()
	hd.Set("Content-Type", d.Headers.ContentType)
	hd.Set("Content-Disposition", d.Headers.ContentDisposition)
	hd.Set("X-Content-Type-Options", "nosniff")
	// Should a browser render the bytes anyway, they run no script and load nothing.
	hd.Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox")
	hd.Set("Cache-Control", "private, max-age=3600")
	// A media item's bytes never change: its id and variant are a strong validator.
	hd.Set("ETag", `"`+d.Media.ID+"-"+d.Variant+`"`)
	if rs, ok := d.Body.(io.ReadSeeker); ok {
		http.ServeContent(w, r, "", d.Info.ModTime, rs) // ranges, conditional requests
		return
	}
	hd.Set("Content-Length", strconv.FormatInt(d.Info.Size, 10))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		if _, err := io.Copy(w, d.Body); err != nil {
			s.log.Debug("media download interrupted", "media", d.Media.ID, "err", err)
		}
	}
}

// limitedPart reports the request body's faults as client errors, so that the service
// need not know that its bytes came over HTTP: a file that runs past the body's limit is
// media's own TooLarge, and a body that ends (or breaks off) before the file's closing
// boundary is bad input, not a server error.
type limitedPart struct {
	r        io.Reader
	maxBytes int64
}

func (p limitedPart) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	var tooBig *http.MaxBytesError
	switch {
	case err == nil || errors.Is(err, io.EOF):
	case errors.As(err, &tooBig):
		err = media.TooLarge(p.maxBytes)
	default: // io.ErrUnexpectedEOF, a malformed part, a read that failed or timed out
		err = chat.Errorf(chat.Invalid, "bad_request", "the multipart body ended before the file did")
	}
	return n, err
}
