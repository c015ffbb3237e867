package media

import (
	"context"
	"fmt"
	"time"
)

// CollectOrphans deletes the uploads that no message referred to within OrphanAge, their
// records first: a message attaching one at the same moment either wins (and it stays)
// or finds no record (and is refused), never a record without bytes. It returns how
// many it deleted.
func (s *Service) CollectOrphans(ctx context.Context) (int, error) {
	const batch = 100
	cutoff := s.cfg.Now().Add(-s.cfg.OrphanAge)
	n := 0
	for {
		ms, err := s.store.UnattachedMedia(ctx, cutoff, batch)
		if err != nil {
			return n, fmt.Errorf("media: collect orphans: %w", err)
		}
		deletedAny := false
		for _, m := range ms {
			deleted, err := s.store.DeleteUnattachedMedia(ctx, m.ID)
			if err != nil {
				return n, fmt.Errorf("media: collect orphans: %w", err)
			}
			if deleted {
				s.deleteBlobs(ctx, m.ID)
				deletedAny = true
				n++
			}
		}
		if len(ms) < batch || !deletedAny {
			return n, nil
		}
	}
}

// RunCollector calls CollectOrphans at start and then every interval (default an hour)
// until ctx ends. The caller owns the goroutine it runs in.
func (s *Service) RunCollector(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = time.Hour
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := s.CollectOrphans(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("collecting unused uploads failed", "err", err)
		} else if n > 0 {
			s.log.Info("unused uploads deleted", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
