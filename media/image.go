package media

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"runtime"

	"github.com/chatchat/chatchat/chat"

	"golang.org/x/image/draw"
	"golang.org/x/image/webp"
)

// codec reads one image format. The decoders are called directly, by the sniffed type,
// rather than through image.Decode's registry: only what was sniffed is ever parsed.
type codec struct {
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}

var codecs = map[string]codec{
	"image/jpeg": {jpeg.DecodeConfig, jpeg.Decode},
	"image/png":  {png.DecodeConfig, png.Decode},
	"image/gif":  {gif.DecodeConfig, gif.Decode}, // the first frame
	"image/webp": {webp.DecodeConfig, webp.Decode},
}

// image reads the image's header first and refuses one whose pixels, or the memory its
// decoding would take, would not fit the limits (a decompression bomb: a small file that
// decodes to gigabytes) before decoding it for the thumbnail.
func (s *Service) image(ctx context.Context, f *os.File, m *chat.Media, c codec) ([]byte, error) {
	notImage := chat.Errorf(chat.UnsupportedMedia, "unsupported_media_type", "the file is not a valid %s image", m.ContentType)
	cfg, err := c.config(io.NewSectionReader(f, 0, m.Size))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, notImage
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > s.cfg.MaxPixels {
		return nil, chat.Errorf(chat.TooLarge, "image_too_large",
			"the image is %d×%d pixels; at most %d megapixels are accepted", cfg.Width, cfg.Height, s.cfg.MaxPixels/1_000_000)
	}
	cost, err := decodeCost(m.ContentType, cfg, f, m.Size, s.cfg.ThumbSize)
	if err != nil {
		return nil, notImage
	}
	if cost > s.cfg.MaxDecodeBytes {
		return nil, chat.Errorf(chat.TooLarge, "image_too_large",
			"decoding this %d×%d image would take about %d MiB; at most %d MiB is allowed",
			cfg.Width, cfg.Height, (cost+1<<20-1)>>20, s.cfg.MaxDecodeBytes>>20)
	}
	select {
	case s.decodes <- struct{}{}:
		defer func() { <-s.decodes }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	thumb, err := s.decodeThumbnail(f, m, c, cfg)
	if cost >= s.cfg.MaxDecodeBytes/4 {
		// The decoded image is garbage now, and the collector's pacing would let the
		// next decodes grow the heap to twice what was live (sustained uploads then
		// peak far above MaxDecodes budgets). Collecting it before this decode's slot
		// is free keeps the peak at the budgets; it costs a collection per large image.
		runtime.GC()
	}
	if err != nil {
		return nil, err
	}
	return thumb, nil
}

// decodeThumbnail decodes the image and returns its encoded thumbnail; when it returns, all
// that the decoding allocated is garbage.
func (s *Service) decodeThumbnail(f *os.File, m *chat.Media, c codec, cfg image.Config) ([]byte, error) {
	img, err := c.decode(io.NewSectionReader(f, 0, m.Size))
	if err != nil {
		return nil, chat.Errorf(chat.UnsupportedMedia, "unsupported_media_type", "the file is not a valid %s image", m.ContentType)
	}
	orientation := 1
	if m.ContentType == "image/jpeg" {
		orientation = exifOrientation(io.NewSectionReader(f, 0, m.Size))
	}
	m.Width, m.Height = cfg.Width, cfg.Height
	if orientation >= 5 { // shown turned a quarter
		m.Width, m.Height = cfg.Height, cfg.Width
	}
	t := thumbnail(img, orientation, s.cfg.ThumbSize)
	var buf bytes.Buffer
	if thumbType(*m) == "image/jpeg" {
		err = jpeg.Encode(&buf, t, &jpeg.Options{Quality: 80})
	} else {
		err = png.Encode(&buf, t) // keeps transparency
	}
	if err != nil {
		return nil, fmt.Errorf("media: encode thumbnail: %w", err)
	}
	return buf.Bytes(), nil
}

// thumbType is the content type of m's thumbnail: JPEG for photos, PNG for the formats
// that may be transparent.
func thumbType(m chat.Media) string {
	if m.ContentType == "image/jpeg" {
		return "image/jpeg"
	}
	return "image/png"
}

// thumbnail scales img to fit a size×size box (never up), then applies the EXIF
// orientation, so that the thumbnail shows the picture the right way up. Orienting after
// scaling turns a few thousand pixels rather than millions.
func thumbnail(img image.Image, orientation, size int) *image.RGBA {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	tw, th := w, h
	if w > size || h > size {
		if w >= h {
			tw, th = size, max(1, (h*size+w/2)/w)
		} else {
			tw, th = max(1, (w*size+h/2)/h), size
		}
	}
	dst := image.NewRGBA(image.Rect(0, 0, tw, th))
	// BiLinear widens its kernel with the scale factor, so a large reduction averages
	// every source pixel rather than sampling a few.
	draw.BiLinear.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	return orient(dst, orientation)
}

// orient returns src transformed by an EXIF orientation (1–8): what the camera meant
// as the top-left corner becomes the top-left corner.
func orient(src *image.RGBA, o int) *image.RGBA {
	if o < 2 || o > 8 {
		return src
	}
	w, h := src.Bounds().Dx(), src.Bounds().Dy()
	dw, dh := w, h
	if o >= 5 { // the transposing ones
		dw, dh = h, w
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for y := range dh {
		for x := range dw {
			var sx, sy int
			switch o {
			case 2: // mirrored
				sx, sy = w-1-x, y
			case 3: // upside down
				sx, sy = w-1-x, h-1-y
			case 4: // mirrored upside down
				sx, sy = x, h-1-y
			case 5: // transposed
				sx, sy = y, x
			case 6: // turned left: rotate 90° clockwise
				sx, sy = y, h-1-x
			case 7: // transversed
				sx, sy = w-1-y, h-1-x
			case 8: // turned right: rotate 90° counter-clockwise
				sx, sy = w-1-y, x
			}
			si, di := src.PixOffset(sx, sy), dst.PixOffset(x, y)
			copy(dst.Pix[di:di+4], src.Pix[si:si+4])
		}
	}
	return dst
}

// exifOrientation returns the orientation tag (1–8) of a JPEG's EXIF block, or 1 when
// there is none or it cannot be read. It reads the APP1 segment only, and at most the
// segments before the image data.
func exifOrientation(r io.Reader) int {
	br := bufio.NewReader(r)
	var soi [2]byte
	if _, err := io.ReadFull(br, soi[:]); err != nil || soi != [2]byte{0xFF, 0xD8} {
		return 1
	}
	for range 64 {
		b, err := br.ReadByte()
		if err != nil || b != 0xFF {
			return 1
		}
		marker, err := br.ReadByte()
		for err == nil && marker == 0xFF { // fill bytes
			marker, err = br.ReadByte()
		}
		if err != nil {
			return 1
		}
		switch {
		case marker == 0xDA || marker == 0xD9: // start of scan, end of image: no EXIF before
			return 1
		case marker == 0x01 || marker >= 0xD0 && marker <= 0xD7: // no length
			continue
		}
		var l [2]byte
		if _, err := io.ReadFull(br, l[:]); err != nil {
			return 1
		}
		n := int(binary.BigEndian.Uint16(l[:])) - 2
		if n < 0 {
			return 1
		}
		if marker != 0xE1 {
			if _, err := br.Discard(n); err != nil {
				return 1
			}
			continue
		}
		seg := make([]byte, n)
		if _, err := io.ReadFull(br, seg); err != nil {
			return 1
		}
		if bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			return tiffOrientation(seg[6:])
		}
	}
	return 1
}

// tiffOrientation reads tag 0x0112 of IFD0 of a TIFF structure (EXIF's container).
func tiffOrientation(b []byte) int {
	if len(b) < 8 {
		return 1
	}
	var order binary.ByteOrder
	switch string(b[:2]) {
	case "II":
		order = binary.LittleEndian
	case "MM":
		order = binary.BigEndian
	default:
		return 1
	}
	if order.Uint16(b[2:4]) != 42 {
		return 1
	}
	ifd := int(order.Uint32(b[4:8]))
	if ifd < 8 || ifd+2 > len(b) {
		return 1
	}
	n := int(order.Uint16(b[ifd:]))
	for i := range n {
		e := ifd + 2 + 12*i
		if e+12 > len(b) {
			return 1
		}
		if order.Uint16(b[e:]) != 0x0112 {
			continue
		}
		// Type SHORT (3), count 1: the value sits in the first two bytes of the field.
		if order.Uint16(b[e+2:]) != 3 || order.Uint32(b[e+4:]) != 1 {
			return 1
		}
		if v := int(order.Uint16(b[e+8:])); v >= 1 && v <= 8 {
			return v
		}
		return 1
	}
	return 1
}
