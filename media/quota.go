package media

import (
	"context"
	"fmt"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// quotaWindow is the period UploadsPerHour counts over: any hour, not a clock hour.
const quotaWindow = time.Hour

// DefaultUploadsPerHour is Config.UploadsPerHour when it is not set: a person sharing an
// album stays under it; a script at it makes the server check at most 4 GiB an hour.
const DefaultUploadsPerHour = 200

// DefaultMaxUserBytes is Config.MaxUserBytes when it is not set: years of photos.
const DefaultMaxUserBytes int64 = 10 << 30

// Store is where the service keeps media records and counts a user's uploads for the
// quotas (sqlite.Store and mongo.Store implement both).
type Store interface {
	chat.MediaStore
	chat.MediaUsageStore
}

// The quotas bound what one user can make everyone else pay for: storage, and the
// checking and thumbnailing of uploads. They are counted in the store, so that several API
// processes share them, twice: before the upload is read (it is refused unread once the
// user is at a limit), and after its record is created, which counts uploads that raced
// this one on other processes; one over the limit then is deleted again. Two racing
// uploads may both be refused; never more than the limit are kept.

// quotaBefore refuses one more upload of size bytes (at least 1 when not known yet) by
// userID that would pass a quota, and returns the bytes the user keeps now.
func (s *Service) quotaBefore(ctx context.Context, userID string, size int64) (int64, error) {
	if s.cfg.UploadsPerHour < 0 && s.cfg.MaxUserBytes < 0 {
		return 0, nil
	}
	u, err := s.store.MediaUsage(ctx, userID, s.cfg.Now().Add(-quotaWindow))
	if err != nil {
		return 0, fmt.Errorf("media: quota: %w", err)
	}
	if err := s.overQuota(u, 1, max(size, 1)); err != nil {
		return 0, err
	}
	return u.Bytes, nil
}

// quotaAfter checks the quotas again once m's record is created, and deletes m (record
// and bytes) when uploads that raced it took the user past one.
func (s *Service) quotaAfter(ctx context.Context, m chat.Media) error {
	if s.cfg.UploadsPerHour < 0 && s.cfg.MaxUserBytes < 0 {
		return nil
	}
	u, err := s.store.MediaUsage(ctx, m.UploaderID, s.cfg.Now().Add(-quotaWindow))
	if err == nil {
		if err = s.overQuota(u, 0, 0); err == nil {
			return nil
		}
	} else {
		err = fmt.Errorf("media: quota: %w", err)
	}
	if deleted, derr := s.store.DeleteUnattachedMedia(ctx, m.ID); derr != nil {
		s.log.Warn("delete upload over quota", "media", m.ID, "err", derr)
	} else if deleted {
		s.deleteBlobs(ctx, m.ID)
	}
	return err
}

// overQuota refuses usage u plus uploads more uploads of bytes more bytes: the hourly
// count with 429 upload_quota and a Retry-After for when the oldest upload of the hour
// leaves it, the bytes kept with 413 storage_quota (waiting does not help, unless
// uploads no message used are collected meanwhile).
func (s *Service) overQuota(u chat.MediaUsage, uploads int, bytes int64) error {
	if limit := s.cfg.UploadsPerHour; limit >= 0 && u.Recent+uploads > limit {
		wait := max(u.OldestRecent.Add(quotaWindow).Sub(s.cfg.Now()), time.Second)
		e := chat.Errorf(chat.RateLimited, "upload_quota",
			"at most %d uploads an hour; retry in %d s", limit, int((wait+time.Second-1)/time.Second))
		e.RetryAfter = wait
		return e
	}
	if limit := s.cfg.MaxUserBytes; limit >= 0 && u.Bytes+bytes > limit {
		return chat.Errorf(chat.TooLarge, "storage_quota",
			"your uploads would take more than %d MiB, the most one user may keep", limit>>20)
	}
	return nil
}
