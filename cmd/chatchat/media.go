package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/chatchat/chatchat/api"
	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/localfs"
	"github.com/chatchat/chatchat/media"
	"github.com/chatchat/chatchat/s3"
)

// wireMedia enables image and file messages: blobs in the data dir, or in S3 when
// --s3-bucket is set; the media service as the chat service's resolver (every role
// describes messages); and, in the api role, the collector of unused uploads. It returns
// the media service for the API server, or nil when media is off or there is no api role.
func (a *app) wireMedia(ctx context.Context, svc *chat.Service, tokenSecret []byte) (api.Media, error) {
	s, log := a.s, a.log
	store, ok := a.b.store.(media.Store)
	if !ok {
		log.Warn("media disabled: the store keeps no media", "store", a.b.storeName)
		return nil, nil
	}
	var blobs chat.BlobStore
	if s.S3Bucket != "" {
		st, err := s3.New(ctx, s3.Config{
			Bucket: s.S3Bucket, Prefix: s.S3Prefix, Region: s.S3Region,
			Endpoint: s.S3Endpoint, PathStyle: s.S3PathStyle,
		})
		if err != nil {
			return nil, fmt.Errorf("--s3-bucket: %w", err)
		}
		blobs = st
		a.b.checks["media"] = st
	} else {
		st, err := localfs.New(filepath.Join(s.DataDir, "media"))
		if err != nil {
			return nil, fmt.Errorf("media directory: %w", err)
		}
		blobs = st
	}
	key, err := media.SigningKey(tokenSecret)
	if err != nil {
		return nil, err
	}
	// Uploads are checked in the data dir rather than /tmp, which may be a small tmpfs.
	tmp := filepath.Join(s.DataDir, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, fmt.Errorf("media temporary directory: %w", err)
	}
	msvc, err := media.New(media.Config{
		MaxBytes: s.BodyLimitMedia, MaxPixels: s.MediaMaxPixels, MaxDecodeBytes: s.MediaDecodeBytes,
		URLTTL:       s.MediaURLTTL,
		AllowedTypes: splitList(s.MediaTypes), BaseURL: strings.TrimRight(s.PublicURL, "/"),
		UploadsPerHour: unlimitedIfZero(s.MediaUploadsPerHour), MaxUserBytes: unlimitedIfZero(s.MediaMaxUserBytes),
		SigningKey: key, TempDir: tmp, Logger: log,
	}, store, blobs, a.b.store)
	if err != nil {
		return nil, err
	}
	svc.SetMediaResolver(msvc)
	svc.SetMediaRemover(msvc)

	roles, err := s.roles()
	if err != nil {
		return nil, err
	}
	if !roles["api"] {
		return nil, nil
	}
	cctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { msvc.RunCollector(cctx, time.Hour) })
	a.cleanup = append(a.cleanup, func() { cancel(); wg.Wait() })
	return msvc, nil
}

// unlimitedIfZero maps a flag's 0 (no limit, as for the rate flags) to media.Config's -1
// (its 0 takes the default).
func unlimitedIfZero[T int | int64](v T) T {
	if v == 0 {
		return -1
	}
	return v
}
