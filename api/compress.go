package api

import (
	"fmt"
	"net/http"

	"github.com/klauspost/compress/gzhttp"
	"github.com/klauspost/compress/gzip"
)

// DefaultGzipMinBytes is the smallest response body Compress gzips by default. Below about
// a kilobyte the body fits in one TCP segment either way, so compressing it saves no packet
// and only costs CPU (docs/benchmarks.md, "gzip and permessage-deflate").
const DefaultGzipMinBytes = 1024

// Compress returns middleware that gzips JSON responses of at least minBytes bytes for
// clients that send "Accept-Encoding: gzip", and answers "Vary: Accept-Encoding" either way.
// Smaller bodies, other content types (media files are compressed formats already) and
// clients without the header get the response as the handler wrote it. The returned
// writer keeps Flush and Hijack, and the router's statusWriter beneath it still counts
// the status and the bytes actually sent.
//
// Level 1 (BestSpeed): on a 100-message history page the default level's answer is only
// 5–6 % smaller and costs twice the CPU (BenchmarkGzip in compress_test.go).
func Compress(minBytes int) (func(http.Handler) http.Handler, error) {
	if minBytes <= 0 {
		minBytes = DefaultGzipMinBytes
	}
	wrap, err := gzhttp.NewWrapper(
		gzhttp.MinSize(minBytes),
		gzhttp.CompressionLevel(gzip.BestSpeed),
		gzhttp.ContentTypes([]string{"application/json"}),
		// gzip only: zstd is not asked for by the clients we ship, and one encoding
		// keeps caches and tests simple.
		gzhttp.EnableZstd(false),
	)
	if err != nil {
		return nil, fmt.Errorf("api: gzip middleware: %w", err)
	}
	return func(h http.Handler) http.Handler { return wrap(h) }, nil
}
