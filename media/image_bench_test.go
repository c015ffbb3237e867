package media

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"testing"
)

// BenchmarkPhotoThumbnail measures the work an upload of a 12-megapixel photo costs the
// server: decoding the JPEG, scaling it into the 320 px box, encoding the thumbnail.
func BenchmarkPhotoThumbnail(b *testing.B) {
	src := image.NewRGBA(image.Rect(0, 0, 4000, 3000))
	for y := 0; y < 3000; y++ {
		for x := 0; x < 4000; x++ {
			src.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8(x ^ y), 255})
		}
	}
	var photo bytes.Buffer
	if err := jpeg.Encode(&photo, src, &jpeg.Options{Quality: 85}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(photo.Len()))
	b.ReportAllocs()
	for b.Loop() {
		img, err := jpeg.Decode(bytes.NewReader(photo.Bytes()))
		if err != nil {
			b.Fatal(err)
		}
		var out bytes.Buffer
		if err := jpeg.Encode(&out, thumbnail(img, 6, 320), &jpeg.Options{Quality: 80}); err != nil {
			b.Fatal(err)
		}
	}
}
