package media

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"io"
	"math"
)

// The memory an image costs the server is what its decoder allocates plus what scaling it
// into a thumbnail holds at the same time. Both are fixed by the header: the figures below
// follow the allocations of the decoders this package calls (image/jpeg, image/png,
// image/gif, golang.org/x/image/webp) and of draw.BiLinear, and round up where the header
// cannot tell, so that a file cannot claim less than its decoding takes. A pixel limit
// alone is not enough: a progressive JPEG keeps every DCT coefficient as an int32 until its
// last scan, 12 bytes a pixel for 4:4:4 colour on top of the image itself.

// DefaultMaxDecodeBytes is Config.MaxDecodeBytes when it is not set: with the default
// MaxDecodes of 2, two decodes at once and the server's own working set fit a 512 MiB
// container (docs/security.md, "Media", has the measured figures).
const DefaultMaxDecodeBytes = 160 << 20

var errNoHeader = errors.New("media: no image header")

// decodeCost estimates the bytes that decoding an image of type ct (whose header says
// cfg) and making its thumbnail (longest side thumbSize) hold at once.
func decodeCost(ct string, cfg image.Config, r io.ReaderAt, size int64, thumbSize int) (int64, error) {
	n, err := decoderCost(ct, cfg, r, size)
	if err != nil {
		return 0, err
	}
	return add(n, scaleCost(int64(cfg.Width), int64(cfg.Height), int64(thumbSize))), nil
}

// decoderOverhead is what a decoder allocates whatever the image's size: its state,
// Huffman tables, zlib's window, buffered readers.
const decoderOverhead = 256 << 10

// decoderCost estimates what the decoder of ct allocates for the image.
func decoderCost(ct string, cfg image.Config, r io.ReaderAt, size int64) (int64, error) {
	w, h := int64(cfg.Width), int64(cfg.Height)
	if w <= 0 || h <= 0 {
		return 0, errNoHeader
	}
	var (
		n   int64
		err error
	)
	switch ct {
	case "image/jpeg":
		n, err = jpegCost(io.NewSectionReader(r, 0, size), w, h)
	case "image/png":
		n, err = pngCost(r, size)
	case "image/gif":
		n = mul(w, h) // the first frame, paletted, within the logical screen
	case "image/webp":
		n, err = webpCost(r, w, h)
	default:
		return 0, errNoHeader
	}
	if err != nil {
		return 0, err
	}
	return add(n, decoderOverhead), nil
}

// scaleCost is what thumbnail holds besides the source: draw.BiLinear's intermediate
// buffer of 4 float64s for each thumbnail column of every source row, its weight tables,
// the thumbnail itself twice (scaled, then oriented), and its encoder's state.
func scaleCost(w, h, size int64) int64 {
	tw, th := min(w, size), min(h, size)
	if w > size || h > size {
		if w >= h {
			tw, th = size, max(1, (h*size+w/2)/w)
		} else {
			tw, th = max(1, (w*size+h/2)/h), size
		}
	}
	n := add(mul(32, mul(tw, h)), mul(48, add(w, h)))
	return add(add(n, mul(64, tw+th)), add(mul(8, mul(tw, th)), 64<<10))
}

// jpegCost walks a JPEG's markers as image/jpeg does, up to the first scan, and adds up
// what makeImg and the progressive coefficient buffers allocate for the frame found, and
// the RGBA image that a CMYK, YCbCrK or RGB file is converted to at the end.
func jpegCost(r io.Reader, w, h int64) (int64, error) {
	br := bufio.NewReader(r)
	var soi [2]byte
	if _, err := io.ReadFull(br, soi[:]); err != nil || soi != [2]byte{0xFF, 0xD8} {
		return 0, errNoHeader
	}
	var (
		sof         []byte // the frame header: precision, height, width, components
		progressive bool
		adobe       bool // an Adobe APP14 segment: its transform may make the file RGB
	)
	for {
		marker, err := nextMarker(br)
		if err != nil || marker == 0xD9 { // EOI
			break
		}
		if marker >= 0xD0 && marker <= 0xD7 { // RST: no length
			continue
		}
		var l [2]byte
		if _, err := io.ReadFull(br, l[:]); err != nil {
			break
		}
		n := int(binary.BigEndian.Uint16(l[:])) - 2
		if n < 0 {
			break
		}
		switch {
		case marker == 0xDA: // SOS: the pixel data starts; nothing before it changes now
			if sof != nil {
				return jpegFrameCost(sof, progressive, adobe || anyAPP14(br), w, h)
			}
			return 0, errNoHeader
		case (marker == 0xC0 || marker == 0xC1 || marker == 0xC2) && sof == nil:
			seg := make([]byte, n)
			if _, err := io.ReadFull(br, seg); err != nil {
				return 0, errNoHeader
			}
			sof, progressive = seg, marker == 0xC2
			continue
		case marker == 0xEE:
			adobe = true
		}
		if _, err := br.Discard(n); err != nil {
			break
		}
	}
	// No scan: image/jpeg will refuse the file, but count the worst for the frame found.
	if sof == nil {
		return 0, errNoHeader
	}
	return jpegFrameCost(sof, progressive, true, w, h)
}

// nextMarker reads up to and including the next marker code, skipping what image/jpeg
// skips: bytes that are not 0xFF, "\xFF\x00", and fill bytes.
func nextMarker(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		if b != 0xFF {
			continue
		}
		m, err := br.ReadByte()
		for err == nil && m == 0xFF {
			m, err = br.ReadByte()
		}
		if err != nil {
			return 0, err
		}
		if m != 0 {
			return m, nil
		}
	}
}

// anyAPP14 reports whether an APP14 marker follows in the rest of the file. image/jpeg
// reads markers between scans too, and an Adobe segment there can still turn the output
// into RGB; entropy-coded data never holds 0xFF 0xEE, so a match is a marker or inside
// another segment (which only overestimates).
func anyAPP14(br *bufio.Reader) bool {
	prevFF := false
	for {
		b, err := br.ReadByte()
		if err != nil {
			return false
		}
		if prevFF && b == 0xEE {
			return true
		}
		prevFF = b == 0xFF
	}
}

// jpegFrameCost is the allocation of image/jpeg for a frame header sof: the YCbCr (or
// Gray) image at whole MCUs, the black plane of 4-component files, a progressive file's
// coefficient blocks (64 int32 each), and the 4-byte-a-pixel image that CMYK, YCbCrK
// and (when rgbPossible) RGB files are converted to.
func jpegFrameCost(sof []byte, progressive, rgbPossible bool, w, h int64) (int64, error) {
	if len(sof) < 6 {
		return 0, errNoHeader
	}
	nComp := int(sof[5])
	if nComp != 1 && nComp != 3 && nComp != 4 || len(sof) < 6+3*nComp {
		return 0, errNoHeader
	}
	hs, vs := make([]int64, nComp), make([]int64, nComp)
	for i := range nComp {
		hv := sof[7+3*i]
		hs[i], vs[i] = max(1, int64(hv>>4)), max(1, int64(hv&0x0f))
		if nComp == 1 { // image/jpeg decodes a single component as 1×1 whatever it says
			hs[i], vs[i] = 1, 1
		}
	}
	mxx := (w + 8*hs[0] - 1) / (8 * hs[0])
	myy := (h + 8*vs[0] - 1) / (8 * vs[0])
	lumaW, lumaH := 8*hs[0]*mxx, 8*vs[0]*myy
	n := mul(lumaW, lumaH)
	if nComp > 1 {
		hr, vr := max(1, hs[0]/hs[1]), max(1, vs[0]/vs[1])
		n = add(n, mul(2, mul((lumaW+hr-1)/hr, (lumaH+vr-1)/vr)))
	}
	if nComp == 4 {
		n = add(n, mul(64, mul(mul(hs[3], vs[3]), mul(mxx, myy))))
	}
	if progressive {
		for i := range nComp {
			n = add(n, mul(256, mul(mul(hs[i], vs[i]), mul(mxx, myy))))
		}
	}
	if nComp == 4 || nComp == 3 && (rgbPossible || string([]byte{sof[6], sof[9], sof[12]}) == "RGB") {
		n = add(n, mul(4, mul(w, h)))
	}
	return n, nil
}

// pngCost reads a PNG's IHDR and the chunks before its first IDAT (where a tRNS turns
// grey and true colour into NRGBA): bytes a pixel of the image image/png allocates, the
// seven pass images of an interlaced file (together the size of the image; only one is
// held at a time, but the others are garbage not yet collected), and two rows.
func pngCost(r io.ReaderAt, size int64) (int64, error) {
	var hdr [33]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil || !bytes.HasPrefix(hdr[:], []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR")) {
		return 0, errNoHeader
	}
	w, h := int64(binary.BigEndian.Uint32(hdr[16:])), int64(binary.BigEndian.Uint32(hdr[20:]))
	depth, colour, interlaced := hdr[24], hdr[25], hdr[28] == 1
	trns := false
	for off := int64(33); off+8 <= size; {
		var ch [8]byte
		if _, err := r.ReadAt(ch[:], off); err != nil {
			break
		}
		typ := string(ch[4:])
		if typ == "IDAT" || typ == "IEND" {
			break
		}
		if typ == "tRNS" {
			trns = true
		}
		off += 12 + int64(binary.BigEndian.Uint32(ch[:4]))
	}
	bpp := int64(8) // what no valid header asks for is decoded by nobody; count the most
	switch {
	case colour == 3 || colour == 0 && depth <= 8 && !trns: // paletted, grey
		bpp = 1
	case colour == 0 && depth == 16 && !trns:
		bpp = 2
	case depth <= 8 && (colour == 0 || colour == 2 || colour == 4 || colour == 6):
		bpp = 4
	}
	n := mul(bpp, mul(w, h))
	if interlaced {
		n = mul(2, n)
	}
	return add(n, mul(2, add(mul(8, w), 1))), nil
}

// webpCost: a lossy ("VP8 ") file decodes to 4:2:0 YCbCr at whole macroblocks; a lossless
// one ("VP8L") to NRGBA, and a colour-indexed one keeps its packed pixels while it
// expands them (8 bytes a pixel); an extended one ("VP8X") may hold either, and its alpha
// plane is decoded losslessly to NRGBA before its green channel is copied out.
func webpCost(r io.ReaderAt, w, h int64) (int64, error) {
	var hdr [16]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil || string(hdr[:4]) != "RIFF" || string(hdr[8:12]) != "WEBP" {
		return 0, errNoHeader
	}
	lossy := mul(3, mul(16*((w+15)/16), 16*((h+15)/16))) / 2
	switch string(hdr[12:]) {
	case "VP8 ":
		return lossy, nil
	case "VP8L":
		return mul(8, mul(w, h)), nil
	case "VP8X":
		return add(lossy, mul(9, mul(w, h))), nil
	}
	return 0, errNoHeader
}

// mul and add saturate rather than overflow: a header may claim 2³¹ × 2³¹ pixels.
func mul(a, b int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	if a > math.MaxInt64/b {
		return math.MaxInt64
	}
	return a * b
}

func add(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
