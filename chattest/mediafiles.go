package chattest

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"testing"
)

// Files for media tests, made in code so that no test depends on fixtures on disk.

// JPEG returns a w×h JPEG whose left half is red and right half blue, with an EXIF
// orientation tag when orientation is 1–8 (none otherwise).
func JPEG(tb testing.TB, w, h, orientation int) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, halves(w, h), &jpeg.Options{Quality: 90}); err != nil {
		tb.Fatalf("encode JPEG: %v", err)
	}
	b := buf.Bytes()
	if orientation < 1 || orientation > 8 {
		return b
	}
	// APP1 "Exif": a big-endian TIFF header and IFD0 with the one Orientation entry.
	tiff := []byte{'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1,
		0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, byte(orientation), 0, 0,
		0, 0, 0, 0}
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	seg = append(seg, payload...)
	out := append([]byte{}, b[:2]...) // SOI
	out = append(out, seg...)
	return append(out, b[2:]...)
}

// PNG returns a w×h PNG, left half red and right half blue.
func PNG(tb testing.TB, w, h int) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, halves(w, h)); err != nil {
		tb.Fatalf("encode PNG: %v", err)
	}
	return buf.Bytes()
}

// PNGBomb returns a small, valid-looking PNG whose header claims w×h pixels: a
// decompression bomb to whoever decodes it without looking at the header first.
func PNGBomb(tb testing.TB, w, h uint32) []byte {
	tb.Helper()
	b := PNG(tb, 1, 1)
	// The IHDR chunk: length at 8, type at 12, width at 16, height at 20, CRC at 29.
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

// Executable returns the start of a Linux ELF executable: what a disguised program
// named "cat.png" looks like.
func Executable() []byte {
	b := []byte{0x7F, 'E', 'L', 'F', 2, 1, 1, 0}
	return append(b, make([]byte, 120)...)
}

func halves(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{R: 255, A: 255}
			if x >= w/2 {
				c = color.RGBA{B: 255, A: 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// ProgressiveJPEG returns a flat w×h progressive JPEG of comps components (1, 3 or 4)
// with luma sampling factors hv (0x11 for 4:4:4, 0x22 for 4:2:0; chroma is 0x11): one DC
// scan of all-zero differences, one bit a block. adobe adds an Adobe APP14 segment of
// transform 0, which makes 3 components RGB and 4 CMYK (without it, image/jpeg refuses 4).
// It is tiny for its size, like the 293 KB 7071×7071 file that once took the server to
// 838 MiB, and it decodes: every coefficient buffer of a progressive decode is allocated.
func ProgressiveJPEG(w, h, comps int, hv byte, adobe bool) []byte {
	if comps == 1 {
		hv = 0x11
	}
	var b bytes.Buffer
	seg := func(marker byte, payload ...byte) {
		b.Write([]byte{0xFF, marker, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)})
		b.Write(payload)
	}
	b.Write([]byte{0xFF, 0xD8})
	if adobe {
		seg(0xEE, 'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, 0)
	}
	seg(0xDB, append([]byte{0}, bytes.Repeat([]byte{1}, 64)...)...) // quantisation table 0
	sof := []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), byte(comps)}
	sos := []byte{byte(comps)}
	for i := range comps {
		f := byte(0x11)
		if i == 0 || i == 3 { // image/jpeg wants K sampled as Y
			f = hv
		}
		sof = append(sof, byte(i+1), f, 0)
		sos = append(sos, byte(i+1), 0x00)
	}
	seg(0xC2, sof...)
	// A DC table of one code, "0", for difference category 0.
	seg(0xC4, append(append([]byte{0x00, 1}, make([]byte, 15)...), 0)...)
	seg(0xDA, append(sos, 0, 0, 0)...) // Ss=0, Se=0, Ah=Al=0: the first DC scan
	h0, v0 := int(hv>>4), int(hv&0x0f)
	mcus := ((w + 8*h0 - 1) / (8 * h0)) * ((h + 8*v0 - 1) / (8 * v0))
	blocks := mcus * (h0*v0 + min(comps-1, 2))
	if comps == 4 {
		blocks += mcus * h0 * v0
	}
	b.Write(make([]byte, (blocks+7)/8))
	b.Write([]byte{0xFF, 0xD9})
	return b.Bytes()
}

// PNGSpec describes a PNG for WriteFlatPNG.
type PNGSpec struct {
	W, H       int
	Colour     byte // PNG colour type: 0 grey, 2 true colour, 3 paletted, 4 and 6 with alpha
	Depth      byte // bits a channel
	Interlaced bool // Adam7
	// Transparent adds a tRNS chunk (grey and true colour only), which makes image/png
	// decode to NRGBA.
	Transparent bool
}

// WriteFlatPNG writes a PNG of all-zero pixels as s says, streaming: a header may claim
// any size, and the pixels of a large one never sit in memory.
func WriteFlatPNG(out io.Writer, s PNGSpec) error {
	w, h, colourType, depth := s.W, s.H, s.Colour, s.Depth
	bw := bufio.NewWriter(out)
	chunk := func(typ string, data []byte) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(data)))
		bw.Write(n[:])
		crc := crc32.NewIEEE()
		io.WriteString(crc, typ)
		crc.Write(data)
		bw.WriteString(typ)
		bw.Write(data)
		binary.BigEndian.PutUint32(n[:], crc.Sum32())
		bw.Write(n[:])
	}
	bw.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = depth, colourType
	if s.Interlaced {
		ihdr[12] = 1
	}
	chunk("IHDR", ihdr)
	switch {
	case colourType == 3:
		chunk("PLTE", []byte{0, 0, 0})
	case s.Transparent && colourType == 0:
		chunk("tRNS", make([]byte, 2))
	case s.Transparent && colourType == 2:
		chunk("tRNS", make([]byte, 6))
	}
	channels := map[byte]int{0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colourType]
	bits := channels * int(depth)
	idat := &idatWriter{chunk: chunk}
	zw, err := zlib.NewWriterLevel(idat, zlib.BestSpeed)
	if err != nil {
		return err
	}
	passes := [][4]int{{0, 0, 1, 1}} // x and y offset, x and y step
	if s.Interlaced {
		passes = [][4]int{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}}
	}
	for _, p := range passes {
		pw, ph := (w-p[0]+p[2]-1)/p[2], (h-p[1]+p[3]-1)/p[3]
		if pw <= 0 || ph <= 0 {
			continue
		}
		row := make([]byte, 1+(pw*bits+7)/8) // filter byte 0, then zeros
		for range ph {
			if _, err := zw.Write(row); err != nil {
				return err
			}
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	idat.flush()
	chunk("IEND", nil)
	return bw.Flush()
}

// idatWriter cuts a zlib stream into IDAT chunks of at most 64 KiB.
type idatWriter struct {
	chunk func(typ string, data []byte)
	buf   []byte
}

func (w *idatWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for len(w.buf) >= 64<<10 {
		w.chunk("IDAT", w.buf[:64<<10])
		w.buf = w.buf[64<<10:]
	}
	return len(p), nil
}

func (w *idatWriter) flush() {
	if len(w.buf) > 0 {
		w.chunk("IDAT", w.buf)
	}
	w.buf = nil
}
