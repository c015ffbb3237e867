package ociimage_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chatchat/chatchat/internal/ociimage"
)

// TestReproducible builds the same inputs twice: the digests must match, so that a rebuild
// of an unchanged revision pushes nothing new. A later Created changes them.
func TestReproducible(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "chatchat")
	if err := os.WriteFile(bin, []byte("not really a binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	digest := func(created time.Time) string {
		t.Helper()
		b, err := ociimage.NewBuilder(ociimage.Config{Binary: bin, Created: created})
		if err != nil {
			t.Fatal(err)
		}
		img, err := b.Image(ociimage.Roles()[0])
		if err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d.String()
	}
	first, second := digest(time.Time{}), digest(time.Time{})
	if first != second {
		t.Errorf("same inputs, digests %s and %s", first, second)
	}
	if later := digest(time.Unix(1_700_000_000, 0)); later == first {
		t.Error("a different creation time gave the same digest")
	}
}

func TestNewBuilderErrors(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "chatchat")
	if err := os.WriteFile(bin, []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]ociimage.Config{
		"no binary":         {},
		"missing binary":    {Binary: bin + ".missing"},
		"missing CA bundle": {Binary: bin, CABundle: bin + ".missing"},
		"relative extra":    {Binary: bin, Extra: []ociimage.File{{Source: bin, Path: "etc/x"}}},
		"duplicate path":    {Binary: bin, Extra: []ociimage.File{{Source: bin, Path: ociimage.CABundlePath}}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ociimage.NewBuilder(cfg); err == nil {
				t.Error("NewBuilder succeeded, want an error")
			}
		})
	}
}
