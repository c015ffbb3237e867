// Package ociimage builds ChatChat's container images without a container engine. The three
// images of the seed (chat-chat-http, chat-chat-ws, chat-chat-notification) are the same
// static binary with a different role in the entrypoint; each has two layers, a base of CA
// certificates, user accounts and directories, and the binary, so the registry stores the
// big layer once. Builds are reproducible: the same inputs give the same digests.
package ociimage

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Paths and identity inside every image. The user is distroless's "nonroot", so the image
// and the Dockerfile's distroless one agree.
const (
	// BinaryPath is where the chatchat binary lives in the image.
	BinaryPath = "/chatchat"
	// CABundlePath is where the system CA certificates live (Go's crypto/x509 looks there).
	CABundlePath = "/etc/ssl/certs/ca-certificates.crt"
	// DocDBCABundlePath is where the Amazon DocumentDB CA bundle goes when it is added; the
	// task definitions' tlsCAFile names it.
	DocDBCABundlePath = "/etc/chatchat/global-bundle.pem"
	// DataDir is the writable data directory, owned by the image's user.
	DataDir = "/var/lib/chatchat"
	// UID and GID are the non-root user and group the images run as.
	UID = 65532
	GID = 65532
	// Port is the port the server listens on in a container.
	Port = 8080
)

// Role is one of the images built from the binary.
type Role struct {
	// Name is the image's repository name, such as chat-chat-http.
	Name string
	// Role is the value of `chatchat serve --roles`.
	Role string
	// Description says what the image serves, for its label.
	Description string
}

// Roles returns the seed's three images, one per role.
func Roles() []Role {
	return []Role{
		{Name: "chat-chat-http", Role: "api", Description: "ChatChat API server (HTTP)"},
		{Name: "chat-chat-ws", Role: "ws", Description: "ChatChat chat server (WebSocket)"},
		{Name: "chat-chat-notification", Role: "notify", Description: "ChatChat notification server (FCM push)"},
	}
}

// File is a file of the build machine copied into the image.
type File struct {
	// Source is the path on the build machine.
	Source string
	// Path is the absolute path in the image.
	Path string
}

// Config says what goes into the images.
type Config struct {
	// Binary is the path of the static Linux chatchat binary (CGO_ENABLED=0).
	Binary string
	// CABundle is the PEM bundle of CA certificates; default CABundlePath on this machine.
	CABundle string
	// Extra files, such as the DocumentDB CA bundle at DocDBCABundlePath.
	Extra []File
	// OS and Architecture of the binary; default linux and amd64.
	OS, Architecture string
	// Version and Revision label the images (org.opencontainers.image.version, .revision).
	Version, Revision string
	// Source labels the images with the repository URL (org.opencontainers.image.source).
	Source string
	// Created is the images' creation time; zero means the Unix epoch, which keeps digests
	// reproducible (set it from SOURCE_DATE_EPOCH to date builds).
	Created time.Time
}

// Builder makes the images of one Config. Its layers are built once and shared by every
// role's image.
type Builder struct {
	cfg    Config
	base   v1.Layer
	binary v1.Layer
}

// NewBuilder reads the binary and the files and builds the layers.
func NewBuilder(cfg Config) (*Builder, error) {
	if cfg.Binary == "" {
		return nil, fmt.Errorf("image: no binary given")
	}
	if cfg.CABundle == "" {
		cfg.CABundle = CABundlePath
	}
	if cfg.OS == "" {
		cfg.OS = "linux"
	}
	if cfg.Architecture == "" {
		cfg.Architecture = "amd64"
	}
	if cfg.Created.IsZero() {
		cfg.Created = time.Unix(0, 0)
	}
	cfg.Created = cfg.Created.UTC()
	base, err := baseLayer(cfg)
	if err != nil {
		return nil, err
	}
	bin, err := os.ReadFile(cfg.Binary)
	if err != nil {
		return nil, fmt.Errorf("image: read binary: %w", err)
	}
	binLayer, err := layer(cfg.Created, []entry{{path: BinaryPath, mode: 0o755, data: bin}})
	if err != nil {
		return nil, fmt.Errorf("image: binary layer: %w", err)
	}
	return &Builder{cfg: cfg, base: base, binary: binLayer}, nil
}

// Image returns the image of one role.
func (b *Builder) Image(r Role) (v1.Image, error) {
	labels := map[string]string{
		"org.opencontainers.image.title":       r.Name,
		"org.opencontainers.image.description": r.Description,
		"org.opencontainers.image.created":     b.cfg.Created.Format(time.RFC3339),
		"org.opencontainers.image.licenses":    "NOASSERTION",
		"io.chatchat.role":                     r.Role,
	}
	for k, v := range map[string]string{
		"org.opencontainers.image.version":  b.cfg.Version,
		"org.opencontainers.image.revision": b.cfg.Revision,
		"org.opencontainers.image.source":   b.cfg.Source,
	} {
		if v != "" {
			labels[k] = v
		}
	}
	created := v1.Time{Time: b.cfg.Created}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err := mutate.ConfigFile(img, &v1.ConfigFile{
		OS:           b.cfg.OS,
		Architecture: b.cfg.Architecture,
		Created:      created,
		RootFS:       v1.RootFS{Type: "layers"},
		Config: v1.Config{
			Entrypoint: []string{BinaryPath, "serve", "--roles", r.Role},
			User:       fmt.Sprintf("%d:%d", UID, GID),
			WorkingDir: DataDir,
			Env: []string{
				"PATH=/",
				"SSL_CERT_FILE=" + CABundlePath,
				fmt.Sprintf("CHATCHAT_ADDR=0.0.0.0:%d", Port),
				"CHATCHAT_DATA_DIR=" + DataDir,
			},
			ExposedPorts: map[string]struct{}{fmt.Sprintf("%d/tcp", Port): {}},
			Labels:       labels,
			// The binary drains on SIGTERM (close 1001, finish requests); say so explicitly.
			StopSignal: "SIGTERM",
		},
	})
	if err != nil {
		return nil, fmt.Errorf("image %s: config: %w", r.Name, err)
	}
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: b.base, MediaType: types.OCILayer, History: v1.History{
			Created: created, CreatedBy: "chatchat-image: CA certificates, users, directories", Comment: "base",
		}},
		mutate.Addendum{Layer: b.binary, MediaType: types.OCILayer, History: v1.History{
			Created: created, CreatedBy: "chatchat-image: " + BinaryPath, Comment: "binary",
		}},
	)
	if err != nil {
		return nil, fmt.Errorf("image %s: layers: %w", r.Name, err)
	}
	return img, nil
}

// entry is one file or directory in a layer.
type entry struct {
	path string // absolute
	mode int64
	dir  bool
	uid  int
	data []byte
}

// baseLayer holds what a static Go binary needs from an OS: CA certificates, a passwd and
// group naming the user, a /tmp, and the data directory owned by the user.
func baseLayer(cfg Config) (v1.Layer, error) {
	ca, err := os.ReadFile(cfg.CABundle)
	if err != nil {
		return nil, fmt.Errorf("image: read CA bundle: %w", err)
	}
	entries := []entry{
		{path: "/etc/passwd", mode: 0o644, data: fmt.Appendf(nil,
			"root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", UID, GID)},
		{path: "/etc/group", mode: 0o644, data: fmt.Appendf(nil, "root:x:0:\nnonroot:x:%d:\n", GID)},
		{path: "/etc/nsswitch.conf", mode: 0o644, data: []byte("hosts: files dns\n")},
		{path: CABundlePath, mode: 0o644, data: ca},
		{path: "/tmp", mode: 0o1777, dir: true},
		{path: "/home/nonroot", mode: 0o700, dir: true, uid: UID},
		{path: DataDir, mode: 0o700, dir: true, uid: UID},
		{path: path.Dir(DocDBCABundlePath), mode: 0o755, dir: true},
	}
	for _, f := range cfg.Extra {
		if !path.IsAbs(f.Path) {
			return nil, fmt.Errorf("image: extra file %s: path %q is not absolute", f.Source, f.Path)
		}
		data, err := os.ReadFile(f.Source)
		if err != nil {
			return nil, fmt.Errorf("image: read extra file: %w", err)
		}
		entries = append(entries, entry{path: path.Clean(f.Path), mode: 0o644, data: data})
	}
	l, err := layer(cfg.Created, entries)
	if err != nil {
		return nil, fmt.Errorf("image: base layer: %w", err)
	}
	return l, nil
}

// layer writes entries as a tar layer, adding their parent directories (root-owned, 0755)
// and sorting by path so that the same entries always make the same bytes.
func layer(modTime time.Time, entries []entry) (v1.Layer, error) {
	all := map[string]entry{}
	for _, e := range entries {
		if _, dup := all[e.path]; dup {
			return nil, fmt.Errorf("%s given twice", e.path)
		}
		all[e.path] = e
		for dir := path.Dir(e.path); dir != "/"; dir = path.Dir(dir) {
			if _, ok := all[dir]; !ok {
				all[dir] = entry{path: dir, mode: 0o755, dir: true}
			}
		}
	}
	paths := make([]string, 0, len(all))
	for p := range all {
		paths = append(paths, p)
	}
	slices.Sort(paths)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range paths {
		e := all[p]
		h := &tar.Header{
			Name:    strings.TrimPrefix(p, "/"),
			Mode:    e.mode,
			Uid:     e.uid,
			Gid:     e.uid,
			ModTime: modTime,
			Format:  tar.FormatPAX,
		}
		if e.dir {
			h.Typeflag = tar.TypeDir
			h.Name += "/"
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("tar %s: %w", p, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, fmt.Errorf("tar %s: %w", p, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("tar: %w", err)
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
}
