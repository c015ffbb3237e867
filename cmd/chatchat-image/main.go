// Command chatchat-image builds ChatChat's three container images (chat-chat-http,
// chat-chat-ws, chat-chat-notification) without Docker: it builds the static binary (or
// takes one), writes each image as an OCI layout under --out, and optionally as a
// `docker load` tarball and pushed to a registry.
//
//	go run ./cmd/chatchat-image --out dist/images --tag "$(git rev-parse --short HEAD)" \
//	    --docdb-ca global-bundle.pem [--push 123456789012.dkr.ecr.eu-west-1.amazonaws.com]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/chatchat/chatchat/internal/ociimage"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "chatchat-image:", err)
		}
		os.Exit(1)
	}
}

// extraFiles is the repeatable --add SRC:DEST flag.
type extraFiles []ociimage.File

func (e *extraFiles) String() string { return fmt.Sprint(*e) }

func (e *extraFiles) Set(v string) error {
	src, dst, ok := strings.Cut(v, ":")
	if !ok || src == "" || !strings.HasPrefix(dst, "/") {
		return fmt.Errorf("want SRC:/absolute/path/in/image, got %q", v)
	}
	*e = append(*e, ociimage.File{Source: src, Path: dst})
	return nil
}

// run is main without the process, so that tests build images in-process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("chatchat-image", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "dist/images", "directory for the OCI layouts (one per image) and tarballs")
	tag := fs.String("tag", "dev", "image tag (use the git revision: ECR repositories refuse reused tags)")
	binary := fs.String("binary", "", "prebuilt static Linux chatchat binary (default: build ./cmd/chatchat from --src)")
	src := fs.String("src", ".", "module root to build the binary from")
	arch := fs.String("arch", "amd64", "GOARCH of the binary and the images (amd64 for t3 instances)")
	version := fs.String("version", "", "version stamped into the binary and the labels (default --tag)")
	revision := fs.String("revision", "", "source revision for the org.opencontainers.image.revision label")
	source := fs.String("source", "", "repository URL for the org.opencontainers.image.source label")
	caBundle := fs.String("ca-bundle", ociimage.CABundlePath, "PEM bundle of CA certificates to put in the images")
	docdbCA := fs.String("docdb-ca", "", "Amazon DocumentDB CA bundle (global-bundle.pem) to put at "+ociimage.DocDBCABundlePath+"; required to reach DocumentDB with TLS")
	var extra extraFiles
	fs.Var(&extra, "add", "extra file SRC:/path/in/image (repeatable)")
	tarballs := fs.Bool("tarball", false, "also write NAME.tar, loadable with `docker load`")
	push := fs.String("push", "", "registry host to push REGISTRY/NAME:TAG to, with the Docker config's credentials")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *version == "" {
		*version = *tag
	}
	if *docdbCA != "" {
		extra = append(extra, ociimage.File{Source: *docdbCA, Path: ociimage.DocDBCABundlePath})
	} else {
		fmt.Fprintf(stderr, "note: no --docdb-ca; the images cannot verify DocumentDB's certificate (see docs/deploy-aws.md)\n")
	}
	created, err := sourceDateEpoch()
	if err != nil {
		return err
	}

	if *binary == "" {
		dir, err := os.MkdirTemp("", "chatchat-image-")
		if err != nil {
			return fmt.Errorf("temp dir: %w", err)
		}
		defer os.RemoveAll(dir)
		*binary = filepath.Join(dir, "chatchat")
		if err := buildBinary(ctx, *src, *binary, *arch, *version, stderr); err != nil {
			return err
		}
	}

	b, err := ociimage.NewBuilder(ociimage.Config{
		Binary:       *binary,
		CABundle:     *caBundle,
		Extra:        extra,
		Architecture: *arch,
		Version:      *version,
		Revision:     *revision,
		Source:       *source,
		Created:      created,
	})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fmt.Errorf("output dir: %w", err)
	}
	for _, r := range ociimage.Roles() {
		img, err := b.Image(r)
		if err != nil {
			return err
		}
		digest, err := img.Digest()
		if err != nil {
			return fmt.Errorf("image %s: digest: %w", r.Name, err)
		}
		ref := r.Name + ":" + *tag
		dir := filepath.Join(*out, r.Name)
		if err := ociimage.WriteLayout(dir, img, ref); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\t%s\toci:%s\n", ref, digest, dir)
		if *tarballs {
			file := filepath.Join(*out, r.Name+".tar")
			if err := ociimage.WriteTarball(file, img, ref); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s\t%s\t%s\n", ref, digest, file)
		}
		if *push != "" {
			remote := strings.TrimSuffix(*push, "/") + "/" + ref
			if err := ociimage.Push(ctx, img, remote); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s\t%s\tpushed\n", remote, digest)
		}
	}
	return nil
}

// buildBinary builds a static, stripped chatchat for Linux.
func buildBinary(ctx context.Context, src, out, arch, version string, stderr io.Writer) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath",
		"-ldflags", "-s -w -X main.version="+version,
		"-o", out, "./cmd/chatchat")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build chatchat: %w", err)
	}
	return nil
}

// sourceDateEpoch reads SOURCE_DATE_EPOCH (reproducible-builds.org), the images' creation
// time; unset means the Unix epoch, so that the same inputs give the same digests.
func sourceDateEpoch() (time.Time, error) {
	v := os.Getenv("SOURCE_DATE_EPOCH")
	if v == "" {
		return time.Time{}, nil
	}
	sec, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: %w", v, err)
	}
	return time.Unix(sec, 0), nil
}
