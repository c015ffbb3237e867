package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/chatchat/chatchat/internal/ociimage"
)

// TestBuildImages builds the three images from a stand-in binary into a temporary
// directory and reads them back as a registry client would. It builds no Go code, so that
// a first `make test` does not wait for a static build of its own (see
// TestBuildImagesFromSource).
func TestBuildImages(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "chatchat")
	standIn := []byte("stand-in for the chatchat binary")
	if err := os.WriteFile(bin, standIn, 0o755); err != nil {
		t.Fatal(err)
	}
	out := buildImages(t, "--binary", bin)
	checkImages(t, out, func(t *testing.T, data []byte) {
		if !bytes.Equal(data, standIn) {
			t.Errorf("the image's /chatchat is %d bytes, not the --binary given", len(data))
		}
	})
}

// TestBuildImagesFromSource builds the real binary as `make images` does and runs the one
// found in the image. Its static build (CGO_ENABLED=0, -trimpath) shares nothing with the
// build cache of the other tests: about ten minutes on two cores when the cache is cold.
// So it belongs to the slow suite.
func TestBuildImagesFromSource(t *testing.T) {
	if os.Getenv("CHATCHAT_SLOW") != "1" {
		t.Skip("the static build of the real binary runs with CHATCHAT_SLOW=1 (minutes with a cold build cache)")
	}
	out := buildImages(t, "--src", "../..")
	checkImages(t, out, func(t *testing.T, data []byte) {
		// The binary from the image runs on this machine (linux/amd64, static).
		bin := filepath.Join(t.TempDir(), "chatchat")
		if err := os.WriteFile(bin, data, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.CommandContext(t.Context(), bin, "--help")
		help, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("chatchat --help from the image: %v\n%s", err, help)
		}
		if !strings.Contains(string(help), "chatchat serve") {
			t.Errorf("--help printed %q", help)
		}
	})
}

// buildImages runs chatchat-image with the given binary flags into a temporary directory,
// with a stand-in DocumentDB bundle (the real one cannot be downloaded here), tarballs and a
// revision label, and returns the output directory.
func buildImages(t *testing.T, binaryFlags ...string) string {
	t.Helper()
	out := t.TempDir()
	docdbCA := filepath.Join(t.TempDir(), "global-bundle.pem")
	if err := os.WriteFile(docdbCA, []byte("-----BEGIN CERTIFICATE-----\nstand-in\n-----END CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	args := append([]string{
		"--out", out, "--tag", "test", "--revision", "abc123", "--docdb-ca", docdbCA, "--tarball",
	}, binaryFlags...)
	if err := run(t.Context(), args, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	if got := strings.Count(stdout.String(), "oci:"); got != 3 {
		t.Errorf("output lists %d layouts, want 3:\n%s", got, stdout.String())
	}
	return out
}

// checkImages checks the three images under out: configuration, layers, files, and the
// docker-load tarball; checkBinary checks the bytes of each image's /chatchat.
func checkImages(t *testing.T, out string, checkBinary func(t *testing.T, data []byte)) {
	t.Helper()
	binaryLayers := map[v1.Hash]bool{}
	for _, r := range ociimage.Roles() {
		t.Run(r.Name, func(t *testing.T) {
			img := readLayout(t, filepath.Join(out, r.Name), r.Name+":test")
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			c := cf.Config
			if want := []string{"/chatchat", "serve", "--roles", r.Role}; !slices.Equal(c.Entrypoint, want) {
				t.Errorf("entrypoint %q, want %q", c.Entrypoint, want)
			}
			if c.User != "65532:65532" {
				t.Errorf("user %q, want 65532:65532 (non-root)", c.User)
			}
			if !slices.Contains(c.Env, "CHATCHAT_ADDR=0.0.0.0:8080") {
				t.Errorf("env %q lacks CHATCHAT_ADDR=0.0.0.0:8080", c.Env)
			}
			if _, ok := c.ExposedPorts["8080/tcp"]; !ok {
				t.Errorf("exposed ports %v, want 8080/tcp", c.ExposedPorts)
			}
			if c.Labels["io.chatchat.role"] != r.Role || c.Labels["org.opencontainers.image.revision"] != "abc123" {
				t.Errorf("labels %v", c.Labels)
			}
			if cf.OS != "linux" || cf.Architecture != "amd64" {
				t.Errorf("platform %s/%s, want linux/amd64", cf.OS, cf.Architecture)
			}
			if mt, _ := img.MediaType(); mt != types.OCIManifestSchema1 {
				t.Errorf("manifest media type %s, want OCI", mt)
			}

			layers, err := img.Layers()
			if err != nil {
				t.Fatal(err)
			}
			if len(layers) != 2 {
				t.Fatalf("%d layers, want 2 (base, binary)", len(layers))
			}
			d, err := layers[1].Digest()
			if err != nil {
				t.Fatal(err)
			}
			binaryLayers[d] = true
			if files := layerFiles(t, layers[1]); !slices.Equal(files, []string{"chatchat"}) {
				t.Errorf("binary layer holds %q, want only chatchat", files)
			}

			fsys := extract(t, img)
			for _, want := range []struct {
				path string
				mode int64
				uid  int
			}{
				{"chatchat", 0o755, 0},
				{"etc/ssl/certs/ca-certificates.crt", 0o644, 0},
				{"etc/chatchat/global-bundle.pem", 0o644, 0},
				{"var/lib/chatchat", 0o700, 65532},
				{"tmp", 0o1777, 0},
			} {
				h, ok := fsys[want.path]
				if !ok {
					t.Errorf("image has no %s", want.path)
					continue
				}
				if h.hdr.Mode != want.mode || h.hdr.Uid != want.uid {
					t.Errorf("%s mode %o uid %d, want %o uid %d", want.path, h.hdr.Mode, h.hdr.Uid, want.mode, want.uid)
				}
			}
			if host, _ := os.ReadFile(ociimage.CABundlePath); !bytes.Equal(fsys["etc/ssl/certs/ca-certificates.crt"].data, host) {
				t.Error("the image's CA bundle is not the host's")
			}

			checkBinary(t, fsys["chatchat"].data)

			// The docker-load tarball holds the same image.
			tb, err := tarball.ImageFromPath(filepath.Join(out, r.Name+".tar"), nil)
			if err != nil {
				t.Fatal(err)
			}
			tbLayers, err := tb.Layers()
			if err != nil || len(tbLayers) != 2 {
				t.Fatalf("tarball layers %d, %v", len(tbLayers), err)
			}
		})
	}
	// One binary, three roles: the registry stores the big layer once.
	if len(binaryLayers) != 1 {
		t.Errorf("binary layers differ between images: %v", binaryLayers)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--add", "no-colon"},
		{"--add", "file:relative/path"},
		{"stray-argument"},
	} {
		err := run(t.Context(), args, io.Discard, io.Discard)
		if err == nil {
			t.Errorf("run %q succeeded, want an error", args)
		}
	}
	if err := run(t.Context(), []string{"--help"}, io.Discard, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help: %v", err)
	}
}

// readLayout opens an OCI layout and returns its one image, checking its ref name.
func readLayout(tb testing.TB, dir, ref string) v1.Image {
	tb.Helper()
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		tb.Fatalf("layout %s: %v", dir, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		tb.Fatal(err)
	}
	if len(m.Manifests) != 1 {
		tb.Fatalf("layout %s holds %d manifests, want 1", dir, len(m.Manifests))
	}
	if got := m.Manifests[0].Annotations["org.opencontainers.image.ref.name"]; got != ref {
		tb.Errorf("layout ref %q, want %q", got, ref)
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		tb.Fatal(err)
	}
	return img
}

type file struct {
	hdr  *tar.Header
	data []byte
}

// extract returns the image's flattened filesystem by path.
func extract(tb testing.TB, img v1.Image) map[string]file {
	tb.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	return readTar(tb, rc)
}

func layerFiles(tb testing.TB, l v1.Layer) []string {
	tb.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		tb.Fatal(err)
	}
	defer rc.Close()
	var names []string
	for name := range readTar(tb, rc) {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

func readTar(tb testing.TB, r io.Reader) map[string]file {
	tb.Helper()
	out := map[string]file{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			tb.Fatalf("read tar: %v", err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			tb.Fatalf("read %s: %v", h.Name, err)
		}
		out[h.Name] = file{hdr: h, data: data}
	}
}
