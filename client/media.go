package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/chatchat/chatchat/chat"
)

// UploadMedia uploads a file to a room as multipart form data, the file in field "file"
// (POST /rooms/{roomId}/media). The content is read into memory first so that the upload can
// be sent again after a token refresh; the server refuses more than its limit (20 MiB by
// default) with 413 anyway.
func (c *Client) UploadMedia(ctx context.Context, roomID, filename string, content io.Reader) (chat.Media, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", mime.FormatMediaType("form-data", map[string]string{
		"name": "file", "filename": filename,
	}))
	// The server sniffs the type from the bytes; the part's type is only a hint.
	ctype := mime.TypeByExtension(strings.ToLower(filepath.Ext(filename)))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	h.Set("Content-Type", ctype)
	part, err := mw.CreatePart(h)
	if err != nil {
		return chat.Media{}, fmt.Errorf("client: upload media: %w", err)
	}
	if _, err := io.Copy(part, content); err != nil {
		return chat.Media{}, fmt.Errorf("client: upload media: read content: %w", err)
	}
	if err := mw.Close(); err != nil {
		return chat.Media{}, fmt.Errorf("client: upload media: %w", err)
	}
	r := request{
		method: http.MethodPost,
		path:   roomPath(roomID, "/media"),
		body:   buf.Bytes(),
		ctype:  mw.FormDataContentType(),
	}
	var m chat.Media
	_, err = c.call(ctx, r, &m)
	return m, err
}

// Presign is the body of PresignMedia: what the caller is about to upload.
type Presign struct {
	Filename    string `json:"filename"`
	ContentType string `json:"contentType"`
	Size        int64  `json:"size"`
}

// PresignedMedia is the answer of PresignMedia: the media record, and where and how to
// upload its bytes without the API server in the way.
type PresignedMedia struct {
	chat.Media
	UploadURL     string            `json:"uploadUrl"`
	UploadHeaders map[string]string `json:"uploadHeaders,omitempty"`
}

// PresignMedia asks for a presigned upload (POST /rooms/{roomId}/media with a JSON body).
func (c *Client) PresignMedia(ctx context.Context, roomID string, p Presign) (PresignedMedia, error) {
	var pm PresignedMedia
	_, err := c.callJSON(ctx, http.MethodPost, roomPath(roomID, "/media"), p, &pm)
	return pm, err
}

// UploadPresigned sends content to a presigned upload URL with PUT, the method of S3's
// presigned uploads, and the headers the server listed. It sends no Authorization header:
// the URL carries its own signature.
func (c *Client) UploadPresigned(ctx context.Context, pm PresignedMedia, content io.Reader, size int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, pm.UploadURL, content)
	if err != nil {
		return fmt.Errorf("client: presigned upload: %w", err)
	}
	req.ContentLength = size
	for k, v := range pm.UploadHeaders {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("client: presigned upload: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return fmt.Errorf("client: presigned upload: %w", readAPIError(resp))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	return resp.Body.Close()
}

// Blob is downloaded media: its bytes and the headers they came with (Content-Type,
// Content-Disposition, X-Content-Type-Options).
type Blob struct {
	Data   []byte
	Header http.Header
}

// Media downloads a media item, or its thumbnail (GET /media/{mediaId}[?thumb=1]).
// A redirect to a short-lived URL is followed; the http.Client does not carry the
// Authorization header to another host, and the signed URL needs none.
func (c *Client) Media(ctx context.Context, mediaID string, thumb bool) (Blob, error) {
	r := request{method: http.MethodGet, path: APIPrefix + "/media/" + url.PathEscape(mediaID),
		headers: http.Header{"Accept": {"*/*"}}}
	if thumb {
		r.query = url.Values{"thumb": {"1"}}
	}
	resp, err := c.do(ctx, r)
	if err != nil {
		return Blob{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return Blob{}, fmt.Errorf("client: get media %s: %w", mediaID, err)
	}
	return Blob{Data: b, Header: resp.Header}, nil
}

// FetchSigned downloads a media item's signed URL (a message's media.url or
// media.thumbUrl) without an access token, as an <img src> would. A URL relative to the
// server, as a server without --public-url gives, is resolved against the Client's base.
func (c *Client) FetchSigned(ctx context.Context, signedURL string) (Blob, error) {
	u, err := url.Parse(signedURL)
	if err != nil {
		return Blob{}, fmt.Errorf("client: signed media URL: %w", err)
	}
	if !u.IsAbs() {
		base, err := url.Parse(c.base + "/")
		if err != nil {
			return Blob{}, fmt.Errorf("client: base URL: %w", err)
		}
		u = base.ResolveReference(u)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return Blob{}, fmt.Errorf("client: signed media URL: %w", err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return Blob{}, fmt.Errorf("client: get signed media: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Blob{}, fmt.Errorf("client: get signed media: %w", readAPIError(resp))
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return Blob{}, fmt.Errorf("client: get signed media: %w", err)
	}
	return Blob{Data: b, Header: resp.Header}, nil
}
