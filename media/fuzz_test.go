package media

import (
	"bytes"
	"image"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/chatchat/chatchat/chattest"
)

// Fuzz targets for what a client controls: the bytes and name of an upload (sniffing,
// the image header and the memory estimate read from it) and the parameters of a signed
// URL. Run one for a while with, for example:
//
//	go test -run XXX -fuzz FuzzImageHeader -fuzztime 60s ./media/
//
// Their seeds are added below; inputs they once failed on live in testdata/fuzz.

// FuzzSniff holds sniff and cleanName to their promises for any bytes and name: an office
// format only where the bytes prove its container, and a stored name that is one short,
// printable path element.
func FuzzSniff(f *testing.F) {
	f.Add([]byte("%PDF-1.7\n"), "report.pdf")
	f.Add([]byte("PK\x03\x04\x14\x00\x06\x00"), "budget.xlsx")
	f.Add(append(oleMagic, make([]byte, 32)...), "old.doc")
	f.Add([]byte("\x89PNG\r\n\x1a\n"), "../../etc/passwd")
	f.Add([]byte("hello"), "a\x00b\"c\\d/é.txt")
	f.Add(chattest.Executable(), "cat.png")
	f.Add([]byte("<html><script>"), strings.Repeat("é", 200))
	f.Fuzz(func(t *testing.T, head []byte, name string) {
		if len(head) > 512 {
			head = head[:512]
		}
		ct := sniff(head, name)
		if ct != sniff(head, name) {
			t.Fatal("sniff is not deterministic")
		}
		for _, t2 := range zipFormats {
			if ct == t2 && !bytes.HasPrefix(head, []byte("PK\x03\x04")) {
				t.Fatalf("%s without a zip container", ct)
			}
		}
		for _, t2 := range oleFormats {
			if ct == t2 && !bytes.HasPrefix(head, oleMagic) {
				t.Fatalf("%s without an OLE container", ct)
			}
		}
		if bt := baseType(ct); bt != strings.ToLower(bt) || strings.ContainsAny(bt, "; ") {
			t.Fatalf("baseType(%q) = %q", ct, bt)
		}
		n := cleanName(name)
		switch {
		case n == "" || n == "." || n == ".." || len(n) > 255 || !utf8.ValidString(n):
			t.Fatalf("cleanName(%q) = %q", name, n)
		case strings.ContainsAny(n, "/\\\"\x7f") || strings.ContainsFunc(n, func(r rune) bool { return r < 0x20 }):
			t.Fatalf("cleanName(%q) = %q keeps a separator, quote or control character", name, n)
		case n != strings.TrimSpace(n):
			t.Fatalf("cleanName(%q) = %q has surrounding space", name, n)
		}
	})
}

// imageSeeds are small images of every kind decodeCost tells apart.
func imageSeeds(f *testing.F) [][]byte {
	var out [][]byte
	for _, tc := range costCases(f) {
		out = append(out, tc.data)
	}
	out = append(out, chattest.PNGBomb(f, 100_000, 100_000), chattest.JPEG(f, 16, 16, 8))
	files, _ := filepath.Glob("testdata/images/*")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			out = append(out, b)
		}
	}
	return out
}

// maxFuzzDecode bounds the images FuzzImageHeader decodes, to keep an iteration short.
const maxFuzzDecode = 8 << 20

// FuzzImageHeader feeds any bytes to each image codec's header reader and to decodeCost:
// whatever a codec accepts, decodeCost estimates without error; and an image small
// enough to decode here holds no more pixel memory than estimated, and makes a thumbnail.
// EXIF orientation reading is fed the same bytes.
func FuzzImageHeader(f *testing.F) {
	for _, b := range imageSeeds(f) {
		f.Add(b)
	}
	types := []string{"image/jpeg", "image/png", "image/gif", "image/webp"}
	f.Fuzz(func(t *testing.T, data []byte) {
		if o := exifOrientation(bytes.NewReader(data)); o < 1 || o > 8 {
			t.Fatalf("exifOrientation = %d", o)
		}
		for _, ct := range types {
			c := codecs[ct]
			cfg, err := c.config(bytes.NewReader(data))
			if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
				continue
			}
			cost, err := decodeCost(ct, cfg, bytes.NewReader(data), int64(len(data)), 32)
			if err != nil {
				t.Fatalf("%s: the codec reads a %d×%d header, decodeCost fails: %v", ct, cfg.Width, cfg.Height, err)
			}
			if px := int64(cfg.Width) * int64(cfg.Height); cost < px {
				t.Fatalf("%s: %d×%d estimated at %d bytes, less than a byte a pixel", ct, cfg.Width, cfg.Height, cost)
			}
			if cost > maxFuzzDecode {
				continue
			}
			img, err := c.decode(bytes.NewReader(data))
			if err != nil {
				continue
			}
			if held := pixelBytes(img); held > cost {
				t.Fatalf("%s: decoded %T holds %d bytes, estimated %d", ct, img, held, cost)
			}
			if b := img.Bounds(); b.Dx() != cfg.Width || b.Dy() != cfg.Height {
				t.Fatalf("%s: header says %d×%d, image is %v", ct, cfg.Width, cfg.Height, b)
			}
			thumbnail(img, 6, 32)
		}
	})
}

// pixelBytes is the memory of an image's pixel buffers.
func pixelBytes(img image.Image) int64 {
	switch m := img.(type) {
	case *image.Gray:
		return int64(cap(m.Pix))
	case *image.Gray16:
		return int64(cap(m.Pix))
	case *image.RGBA:
		return int64(cap(m.Pix))
	case *image.RGBA64:
		return int64(cap(m.Pix))
	case *image.NRGBA:
		return int64(cap(m.Pix))
	case *image.NRGBA64:
		return int64(cap(m.Pix))
	case *image.CMYK:
		return int64(cap(m.Pix))
	case *image.Paletted:
		return int64(cap(m.Pix))
	case *image.YCbCr:
		return int64(cap(m.Y) + cap(m.Cb) + cap(m.Cr))
	case *image.NYCbCrA:
		return int64(cap(m.Y) + cap(m.Cb) + cap(m.Cr) + cap(m.A))
	}
	return 0
}

// FuzzVerify holds the signed-URL check to its promise for any parameters: it accepts
// exactly the URLs this server signed, unexpired, spelled as it spells them.
func FuzzVerify(f *testing.F) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := &Service{cfg: Config{SigningKey: bytes.Repeat([]byte("k"), 32), Now: func() time.Time { return now }}}
	exp := now.Add(time.Hour).Unix()
	for _, v := range []string{Original, Thumbnail} {
		sig := s.signature("01jmedia", v, exp)
		e := strconv.FormatInt(exp, 10)
		f.Add("01jmedia", v, e, sig)
		f.Add("01jmedia", v, "+"+e, sig)                                       // another spelling of exp
		f.Add("01jmedia", v, "0"+e, sig)                                       // another
		f.Add("01jmedia", v, e, sig[:len(sig)-1]+"B")                          // the last character's spare bits
		f.Add("01jmedia", v, strconv.FormatInt(now.Unix(), 10), sig)           // expired now
		f.Add("01jmedia\n"+v, v, e, sig)                                       // a newline in the id
		f.Add("01jmedia", v, e, sig+"=")                                       // padded
		f.Add("01jmedia", v, "99999999999999999999", sig)                      // overflow
		f.Add("01jmedia", v, e, strings.Repeat("A", 43))                       // the wrong signature
		f.Add("01jmedia", v, e, strings.ToUpper(sig))                          // another
		f.Add("01jmedia", "orig\n", e, s.signature("01jmedia", "orig\n", exp)) // variant outside the two
	}
	f.Fuzz(func(t *testing.T, id, variant, exp, sig string) {
		err := s.verify(id, variant, exp, sig)
		if err == nil {
			e, perr := strconv.ParseInt(exp, 10, 64)
			switch {
			case variant != Original && variant != Thumbnail:
				t.Fatalf("accepted variant %q", variant)
			case perr != nil || strconv.FormatInt(e, 10) != exp:
				t.Fatalf("accepted exp %q, not as this server writes it", exp)
			case sig != s.signature(id, variant, e):
				t.Fatalf("accepted signature %q for %q %q %q, not the one this server makes", sig, id, variant, exp)
			case e <= now.Unix():
				t.Fatalf("accepted an expired URL (exp %d)", e)
			}
		}
	})
}
