package media_test

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/chatchat/chatchat/chattest"
	"github.com/chatchat/chatchat/media"
)

// peakEnv names the case a child process of TestDecodePeakRSS measures, and peakFileEnv
// the image files it uploads.
const (
	peakEnv     = "CHATCHAT_DECODE_PEAK_CASE"
	peakFileEnv = "CHATCHAT_DECODE_PEAK_FILE"
)

// TestDecodePeakRSS measures the real peak resident memory (VmHWM) of a process that
// uploads the worst images the default budget accepts: the largest square progressive
// JPEG (4:4:4, the most coefficients a pixel) and PNG (16-bit RGBA, interlaced: the most
// bytes a pixel), one at a time and two at once, each case in a fresh process. It only
// reports; docs/benchmarks.md keeps the figures. Run it without -race:
//
//	CHATCHAT_SLOW=1 go test -count=1 -run TestDecodePeakRSS -v ./media/
func TestDecodePeakRSS(t *testing.T) {
	if c := os.Getenv(peakEnv); c != "" {
		peakChild(t, c, strings.Split(os.Getenv(peakFileEnv), ","))
		return
	}
	if os.Getenv("CHATCHAT_SLOW") != "1" {
		t.Skip("slow: set CHATCHAT_SLOW=1")
	}
	if raceEnabled {
		t.Skip("a measurement: run it without -race")
	}
	dir := t.TempDir()
	jpegSide, jpegMiB := largestSide(t, "image/jpeg", func(s int) []byte { return chattest.ProgressiveJPEG(s, s, 3, 0x11, false) })
	jpegFile := filepath.Join(dir, "worst.jpg")
	if err := os.WriteFile(jpegFile, chattest.ProgressiveJPEG(jpegSide, jpegSide, 3, 0x11, false), 0o600); err != nil {
		t.Fatal(err)
	}
	spec := chattest.PNGSpec{Colour: 6, Depth: 16, Interlaced: true}
	pngSide, pngMiB := largestSide(t, "image/png", func(s int) []byte {
		spec.W, spec.H = s, s
		return pngHeader(t, spec)
	})
	spec.W, spec.H = pngSide, pngSide
	pngFile := filepath.Join(dir, "worst.png")
	f, err := os.Create(pngFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := chattest.WriteFlatPNG(f, spec); err != nil {
		t.Fatal(err)
	}
	f.Close()
	probeFile := filepath.Join(dir, "probe.jpg") // the reported 7071×7071 file: refused
	if err := os.WriteFile(probeFile, chattest.ProgressiveJPEG(7071, 7071, 3, 0x11, false), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Logf("default budget %d MiB; worst accepted: progressive 4:4:4 JPEG %d×%d (estimated %.1f MiB), "+
		"16-bit RGBA interlaced PNG %d×%d (estimated %.1f MiB)",
		media.DefaultMaxDecodeBytes>>20, jpegSide, jpegSide, jpegMiB, pngSide, pngSide, pngMiB)
	t.Logf("%-40s %10s", "case", "VmHWM MiB")
	for _, c := range []struct{ name, files string }{
		{"idle (the service, no upload)", ""},
		{"7071×7071 progressive JPEG (refused)", probeFile},
		{"worst progressive JPEG", jpegFile},
		{"worst PNG", pngFile},
		{"two worst JPEGs at once", jpegFile + "," + jpegFile},
		{"worst JPEG and worst PNG at once", jpegFile + "," + pngFile},
		{"eight worst JPEGs, two at a time", strings.Repeat(jpegFile+",", 7) + jpegFile},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestDecodePeakRSS$", "-test.v")
		cmd.Env = append(os.Environ(), peakEnv+"="+c.name, peakFileEnv+"="+c.files)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", c.name, err, out)
		}
		kb := -1
		for _, line := range strings.Split(string(out), "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "VmHWM-kB: "); ok {
				kb, _ = strconv.Atoi(v)
			}
		}
		if kb < 0 {
			t.Fatalf("%s: no VmHWM in\n%s", c.name, out)
		}
		t.Logf("%-40s %10.0f", c.name, float64(kb)/1024)
	}
}

// peakChild uploads files at once (MaxDecodes 2, the default) and prints its VmHWM.
func peakChild(t *testing.T, name string, files []string) {
	e := newEnv(t, nil, media.Config{})
	var wg sync.WaitGroup
	for _, path := range files {
		if path == "" {
			continue
		}
		wg.Go(func() {
			f, err := os.Open(path)
			if err != nil {
				t.Error(err)
				return
			}
			defer f.Close()
			m, err := e.svc.Upload(t.Context(), e.user, e.room, filepath.Base(path), bufio.NewReader(f))
			if strings.Contains(name, "refused") {
				wantKind(t, err, 6, "image_too_large")
			} else if err != nil || !m.HasThumb {
				t.Errorf("%s: %+v, %v", path, m, err)
			}
		})
	}
	wg.Wait()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			fmt.Printf("VmHWM-kB: %s\n", strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
}

// largestSide is the side of the largest square image of make's kind that the default
// budget accepts, and its estimate in MiB.
func largestSide(tb testing.TB, ct string, make func(side int) []byte) (int, float64) {
	tb.Helper()
	cost := func(s int) int64 {
		b := make(s)
		n, err := media.DecodeCost(ct, image.Config{Width: s, Height: s}, bytes.NewReader(b), int64(len(b)), 320)
		if err != nil {
			tb.Fatal(err)
		}
		return n
	}
	lo, hi := 1, 1<<15 // lo fits, hi does not
	for hi-lo > 1 {
		if mid := (lo + hi) / 2; cost(mid) <= media.DefaultMaxDecodeBytes {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, float64(cost(lo)) / (1 << 20)
}

// pngHeader is the start of the PNG spec describes, up to its first IDAT: all that
// decodeCost reads.
func pngHeader(tb testing.TB, spec chattest.PNGSpec) []byte {
	tb.Helper()
	var b bytes.Buffer
	w, h := spec.W, spec.H
	spec.W, spec.H = 1, 1
	if err := chattest.WriteFlatPNG(&b, spec); err != nil {
		tb.Fatal(err)
	}
	out := b.Bytes()
	copy(out[16:], []byte{byte(w >> 24), byte(w >> 16), byte(w >> 8), byte(w)})
	copy(out[20:], []byte{byte(h >> 24), byte(h >> 16), byte(h >> 8), byte(h)})
	return out
}
