// Package ctxio bounds long copies by a context: io.Copy has no context of its own, so a
// copy from a slow client or disk would outlive the request that started it.
package ctxio

import (
	"context"
	"io"
)

// Reader returns a reader of r that fails with ctx's error once ctx has ended. A read
// already blocked in r is not interrupted: the check runs before each read.
func Reader(ctx context.Context, r io.Reader) io.Reader { return reader{ctx, r} }

type reader struct {
	ctx context.Context
	r   io.Reader
}

func (c reader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
