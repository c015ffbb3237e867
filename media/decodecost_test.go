package media

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/chatchat/chatchat/chattest"
)

// costCases are images of every kind the decoders treat differently, at sizes that are not
// whole blocks or macroblocks.
func costCases(tb testing.TB) map[string]struct {
	ct   string
	data []byte
} {
	tb.Helper()
	cases := map[string]struct {
		ct   string
		data []byte
	}{}
	add := func(name, ct string, data []byte) {
		cases[name] = struct {
			ct   string
			data []byte
		}{ct, data}
	}
	add("jpeg baseline 4:2:0", "image/jpeg", chattest.JPEG(tb, 333, 217, 6))
	var gray bytes.Buffer
	if err := jpeg.Encode(&gray, image.NewGray(image.Rect(0, 0, 333, 217)), nil); err != nil {
		tb.Fatal(err)
	}
	add("jpeg baseline grey", "image/jpeg", gray.Bytes())
	add("jpeg progressive grey", "image/jpeg", chattest.ProgressiveJPEG(333, 217, 1, 0x11, false))
	add("jpeg progressive 4:4:4", "image/jpeg", chattest.ProgressiveJPEG(333, 217, 3, 0x11, false))
	add("jpeg progressive 4:2:0", "image/jpeg", chattest.ProgressiveJPEG(333, 217, 3, 0x22, false))
	add("jpeg progressive RGB", "image/jpeg", chattest.ProgressiveJPEG(333, 217, 3, 0x11, true))
	add("jpeg progressive CMYK", "image/jpeg", chattest.ProgressiveJPEG(333, 217, 4, 0x11, true))
	add("jpeg progressive CMYK 2×2", "image/jpeg", chattest.ProgressiveJPEG(333, 217, 4, 0x22, true))
	for _, s := range []chattest.PNGSpec{
		{Colour: 0, Depth: 1}, {Colour: 0, Depth: 8}, {Colour: 0, Depth: 16},
		{Colour: 0, Depth: 8, Transparent: true}, {Colour: 0, Depth: 16, Transparent: true},
		{Colour: 2, Depth: 8}, {Colour: 2, Depth: 16}, {Colour: 2, Depth: 8, Transparent: true},
		{Colour: 3, Depth: 4}, {Colour: 4, Depth: 8}, {Colour: 4, Depth: 16},
		{Colour: 6, Depth: 8}, {Colour: 6, Depth: 16}, {Colour: 6, Depth: 16, Interlaced: true},
		{Colour: 0, Depth: 8, Interlaced: true},
	} {
		s.W, s.H = 333, 217
		var b bytes.Buffer
		if err := chattest.WriteFlatPNG(&b, s); err != nil {
			tb.Fatal(err)
		}
		add("png "+pngName(s), "image/png", b.Bytes())
	}
	var g bytes.Buffer
	pal := image.NewPaletted(image.Rect(0, 0, 333, 217), color.Palette{color.Black, color.White})
	if err := gif.Encode(&g, pal, nil); err != nil {
		tb.Fatal(err)
	}
	add("gif", "image/gif", g.Bytes())
	files, err := filepath.Glob("testdata/images/*.webp")
	if err != nil || len(files) == 0 {
		tb.Fatalf("no WebP test files: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		add("webp "+filepath.Base(f), "image/webp", b)
	}
	return cases
}

func pngName(s chattest.PNGSpec) string {
	name := []byte("colour0 depth00")
	name[6] += s.Colour
	name[13] += s.Depth / 10
	name[14] += s.Depth % 10
	if s.Transparent {
		name = append(name, " tRNS"...)
	}
	if s.Interlaced {
		name = append(name, " interlaced"...)
	}
	return string(name)
}

// TestDecodeCostCoversDecoders holds the estimate to what the decoders really allocate:
// every byte a decode allocates is at most the estimate of the decoder, and every byte the
// thumbnail's scaling allocates at most the estimate of the scaling, for the sources that
// draw scales without allocating a colour a pixel (the others' garbage is not held at
// once).
func TestDecodeCostCoversDecoders(t *testing.T) {
	for name, tc := range costCases(t) {
		t.Run(name, func(t *testing.T) {
			c := codecs[tc.ct]
			cfg, err := c.config(bytes.NewReader(tc.data))
			if err != nil {
				t.Fatalf("config: %v", err)
			}
			est, err := decoderCost(tc.ct, cfg, bytes.NewReader(tc.data), int64(len(tc.data)))
			if err != nil {
				t.Fatalf("decoderCost: %v", err)
			}
			var img image.Image
			got := allocated(func() { img, err = c.decode(bytes.NewReader(tc.data)) })
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if got > est {
				t.Errorf("decoding %T allocated %d bytes, estimated %d", img, got, est)
			}
			// Far above is a wrong formula too: it refuses images that fit.
			if est > 2*got+decoderOverhead {
				t.Errorf("decoding %T allocated %d bytes, estimated %d: over twice", img, got, est)
			}
			switch img.(type) {
			case *image.YCbCr, *image.RGBA, *image.NRGBA, *image.Gray:
				scale := scaleCost(int64(cfg.Width), int64(cfg.Height), 100)
				if got := allocated(func() { thumbnail(img, 6, 100) }); got > scale {
					t.Errorf("scaling %T allocated %d bytes, estimated %d", img, got, scale)
				}
			}
		})
	}
}

// allocated returns the bytes f allocates on the heap.
func allocated(f func()) int64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return int64(after.TotalAlloc - before.TotalAlloc)
}

// TestDecodeCostLargeProgressive is the reported probe: a 7071×7071 progressive JPEG of a
// few hundred KB. Its pixels are under the pixel limit; its coefficients are not under
// the memory budget.
func TestDecodeCostLargeProgressive(t *testing.T) {
	data := chattest.ProgressiveJPEG(7071, 7071, 3, 0x11, false)
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	n, err := decodeCost("image/jpeg", cfg, bytes.NewReader(data), int64(len(data)), 320)
	if err != nil {
		t.Fatal(err)
	}
	// 3 planes of a byte and 3 of 64 int32 per 8×8 block: 15 bytes a pixel.
	if min := int64(15 * 7072 * 7072); n < min {
		t.Errorf("decodeCost = %d MiB, want at least %d MiB", n>>20, min>>20)
	}
	if n <= DefaultMaxDecodeBytes {
		t.Errorf("decodeCost = %d MiB is within the default budget of %d MiB", n>>20, DefaultMaxDecodeBytes>>20)
	}
}
