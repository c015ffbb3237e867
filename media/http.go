package media

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/chatchat/chatchat/api"
	"github.com/chatchat/chatchat/chat"
)

// Handler serves the media endpoints of PROTOCOL.md on the API server.
type Handler struct {
	svc *Service
	log *slog.Logger
}

// NewHandler returns a Handler; Register adds its routes.
func NewHandler(svc *Service, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	return &Handler{svc: svc, log: log}
}

// Register adds the routes; it fits api.Server.Extend.
func (h *Handler) Register(rt *api.Router, authed func(http.HandlerFunc) http.Handler) {
	rt.Handle("POST /api/v1/rooms/{roomId}/media", authed(h.upload))
	rt.Handle("GET /api/v1/media/{mediaId}", h.signedOr(authed(h.download)))
}

// multipartSlack is what a multipart body may hold beyond the file: boundaries, part
// headers, small fields.
const multipartSlack = 64 << 10

// upload takes a multipart file, or a JSON description for a presigned upload.
func (h *Handler) upload(w http.ResponseWriter, r *http.Request) {
	roomID, userID := r.PathValue("roomId"), api.UserID(r)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		var in PresignRequest
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			h.fail(w, r, chat.Errorf(chat.Invalid, "bad_json", "the body is not a JSON {filename, contentType, size}"))
			return
		}
		p, err := h.svc.Presign(r.Context(), userID, roomID, in)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, p)
	case "multipart/form-data":
		limit := h.svc.cfg.MaxBytes + multipartSlack
		if r.ContentLength > limit { // refuse before reading a byte
			h.fail(w, r, tooLarge(h.svc.cfg.MaxBytes))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		mr, err := r.MultipartReader()
		if err != nil {
			h.fail(w, r, chat.Errorf(chat.Invalid, "bad_request", "the body is not multipart form data"))
			return
		}
		for {
			part, err := mr.NextPart()
			var tooBig *http.MaxBytesError
			switch {
			case errors.As(err, &tooBig):
				h.fail(w, r, tooLarge(h.svc.cfg.MaxBytes))
				return
			case errors.Is(err, io.EOF):
				h.fail(w, r, chat.Errorf(chat.Invalid, "bad_request", `the form has no field "file"`))
				return
			case err != nil:
				h.fail(w, r, chat.Errorf(chat.Invalid, "bad_request", "the multipart body is malformed"))
				return
			}
			if part.FormName() != "file" {
				part.Close()
				continue
			}
			m, err := h.svc.Upload(r.Context(), userID, roomID, part.FileName(), part)
			part.Close()
			if err != nil {
				h.fail(w, r, err)
				return
			}
			writeJSON(w, http.StatusCreated, m)
			return
		}
	default:
		h.fail(w, r, chat.Errorf(chat.Invalid, "bad_request",
			`send the file as multipart/form-data in field "file", or JSON {filename, contentType, size} for a presigned upload`))
	}
}

// signedOr serves requests that carry a signature without a token, and passes the others
// to next, which requires one.
func (h *Handler) signedOr(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if !q.Has("sig") {
			next.ServeHTTP(w, r)
			return
		}
		id, variant := r.PathValue("mediaId"), q.Get("variant")
		if err := h.svc.verify(id, variant, q.Get("exp"), q.Get("sig")); err != nil {
			h.fail(w, r, err)
			return
		}
		m, err := h.svc.store.Media(r.Context(), id)
		if err != nil {
			h.fail(w, r, mediaNotFound(err))
			return
		}
		h.serve(w, r, m, variant)
	})
}

// download serves a room member with a token.
func (h *Handler) download(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("mediaId")
	m, err := h.svc.store.Media(r.Context(), id)
	if err != nil {
		h.fail(w, r, mediaNotFound(err))
		return
	}
	// Anyone outside the room learns nothing, not even that the id exists.
	if _, err := h.svc.members.Member(r.Context(), m.RoomID, api.UserID(r)); err != nil {
		h.fail(w, r, mediaNotFound(err))
		return
	}
	variant := Original
	if q := r.URL.Query(); q.Get("thumb") == "1" || q.Get("variant") == Thumbnail {
		variant = Thumbnail
	}
	h.serve(w, r, m, variant)
}

// serve sends a variant's bytes, or a redirect to a presigned URL of the blob store.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, m chat.Media, variant string) {
	if m.Pending || variant == Thumbnail && !m.HasThumb {
		h.fail(w, r, mediaNotFound(chat.ErrNotFound))
		return
	}
	s := h.svc
	o := s.getOptions(m, variant)
	if s.presign != nil {
		u, err := s.presign.PresignGet(r.Context(), blobKey(m.ID, variant), 5*time.Minute, o)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, u, http.StatusFound)
		return
	}
	rc, info, err := s.blobs.Open(r.Context(), blobKey(m.ID, variant))
	if err != nil {
		h.fail(w, r, mediaNotFound(err))
		return
	}
	defer rc.Close()
	hd := w.Header()
	hd.Set("Content-Type", o.ContentType)
	hd.Set("Content-Disposition", o.ContentDisposition)
	hd.Set("X-Content-Type-Options", "nosniff")
	// Should a browser render the bytes anyway, they run no script and load nothing.
	hd.Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox")
	hd.Set("Cache-Control", "private, max-age=3600")
	// A media item's bytes never change: its id and variant are a strong validator.
	hd.Set("ETag", `"`+m.ID+"-"+variant+`"`)
	if rs, ok := rc.(io.ReadSeeker); ok {
		http.ServeContent(w, r, "", info.ModTime, rs) // ranges, conditional requests
		return
	}
	hd.Set("Content-Length", strconv.FormatInt(info.Size, 10))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		if _, err := io.Copy(w, rc); err != nil {
			h.log.Debug("media download interrupted", "media", m.ID, "err", err)
		}
	}
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

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	api.WriteError(w, r, h.log, err)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
