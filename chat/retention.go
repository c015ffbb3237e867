package chat

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"
)

// Retention: a room keeps its messages for RetentionDays (set by a server administrator;
// 0: forever), else, when it has none, for the server's default (0: forever). A sweeper deletes older messages in bounded
// batches, pinned ones kept, with their media, reactions, mentions and search entries, and
// raises the room's ExpiredThroughSeq so that a client that was away learns that history at
// or below it may be gone. A message's age is its id's time: ids are time-ordered, so the
// expired messages of every room are one index range.

// MaxRetentionDays bounds a room's retention (100 years).
const MaxRetentionDays = 36500

// AuditSetRetention is the audit action of PATCH /admin/rooms/{roomId}.
const (
	AuditSetRetention = "set_retention"
	TargetRoom        = "room"
)

// RetentionStore keeps rooms' retention and deletes the messages it no longer keeps.
type RetentionStore interface {
	// SetRetention sets a room's RetentionDays (0: forever, whatever the server's default).
	// ErrNotFound for an unknown room.
	SetRetention(ctx context.Context, roomID string, days int) error
	// RoomRetentions returns the rooms with a retention of their own (0 included), and its
	// days.
	RoomRetentions(ctx context.Context) (map[string]int, error)
	// ExpiredMessages returns up to limit messages, oldest first, that are not pinned and
	// whose id is below beforeID: of roomID, or, when roomID is "", of every room without a
	// retention of its own. Only ID, RoomID, Seq and MediaID need be set.
	ExpiredMessages(ctx context.Context, roomID, beforeID string, limit int) ([]Message, error)
	// DeleteExpired deletes those of msgs that are still not pinned, with everything that
	// hangs on them (reactions, mentions, search entries), raises each room's
	// ExpiredThroughSeq to the highest seq deleted, and returns how many were deleted.
	DeleteExpired(ctx context.Context, msgs []Message) (int, error)
}

// IDBefore returns the smallest id made at t: every id made before t sorts below it, every
// id made at or after t at or above it.
func IDBefore(t time.Time) string {
	var id ulid.ULID
	if err := id.SetTime(ulid.Timestamp(t)); err != nil {
		return ""
	}
	return strings.ToLower(id.String())
}

// RetentionPatch is PATCH /admin/rooms/{roomId}'s body.
type RetentionPatch struct {
	RetentionDays *int `json:"retentionDays"`
}

// SetRoomRetention sets a room's retention for a server administrator and tells its members
// (ROOM_UPDATED).
func (s *Service) SetRoomRetention(ctx context.Context, callerID, roomID string, in RetentionPatch) (Room, error) {
	if _, err := s.administrator(ctx, callerID); err != nil {
		return Room{}, err
	}
	if in.RetentionDays == nil {
		return Room{}, Errorf(Invalid, "bad_request", "retentionDays is required")
	}
	days := *in.RetentionDays
	if days < 0 || days > MaxRetentionDays {
		return Room{}, Errorf(Invalid, "bad_request", "retentionDays is between 0 (forever) and %d", MaxRetentionDays)
	}
	if s.retention == nil {
		return Room{}, Errorf(Unavailable, "retention_unavailable", "this server's store has no retention")
	}
	if _, err := s.rooms.Room(ctx, roomID); IsNotFound(err) {
		return Room{}, roomNotFound()
	} else if err != nil {
		return Room{}, err
	}
	if err := s.record(ctx, callerID, AuditSetRetention, TargetRoom, roomID, fmt.Sprintf("%d days", days)); err != nil {
		return Room{}, err
	}
	if err := s.retention.SetRetention(ctx, roomID, days); err != nil {
		if IsNotFound(err) {
			return Room{}, roomNotFound()
		}
		return Room{}, err
	}
	if err := s.announce(ctx, roomID, nil); err != nil {
		return Room{}, err
	}
	return s.rooms.Room(ctx, roomID)
}

// RetentionConfig configures RunRetention. Zero values take the defaults noted.
type RetentionConfig struct {
	// DefaultDays is the retention of rooms without their own; 0 keeps them forever.
	DefaultDays int
	// Interval is how often the sweeper runs; default 10 minutes.
	Interval time.Duration
	// Batch is how many messages one write deletes; default 500.
	Batch int
	// MaxPerRun bounds what one run deletes, so that a first run on a large history does
	// not hold the store for long; the next run goes on. Default 100,000.
	MaxPerRun int
}

// RunRetention sweeps expired messages every cfg.Interval until ctx ends.
func (s *Service) RunRetention(ctx context.Context, cfg RetentionConfig) {
	if s.retention == nil {
		return
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 10 * time.Minute
	}
	runEvery(ctx, cfg.Interval, func() {
		if n, err := s.SweepRetention(ctx, cfg); err != nil && ctx.Err() == nil {
			s.log.Warn("retention sweep failed", "deleted", n, "err", err)
		} else if n > 0 {
			s.log.Info("retention sweep", "deleted", n)
		}
	})
}

// runEvery calls pass at once and then every interval until ctx ends.
func runEvery(ctx context.Context, interval time.Duration, pass func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		pass()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SweepRetention deletes what retention no longer keeps, up to cfg.MaxPerRun messages, and
// returns how many it deleted. A message's media is removed from storage before the
// message: one whose media could not be removed stays for the next run, so that nothing is
// left behind unreferenced.
func (s *Service) SweepRetention(ctx context.Context, cfg RetentionConfig) (int, error) {
	if s.retention == nil {
		return 0, nil
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 500
	}
	if cfg.MaxPerRun <= 0 {
		cfg.MaxPerRun = 100_000
	}
	now := s.cfg.Now()
	rooms, err := s.retention.RoomRetentions(ctx)
	if err != nil {
		return 0, err
	}
	type pass struct {
		roomID string
		days   int
	}
	passes := make([]pass, 0, len(rooms)+1)
	if cfg.DefaultDays > 0 {
		passes = append(passes, pass{"", cfg.DefaultDays})
	}
	for id, days := range rooms {
		if days > 0 { // 0: kept forever
			passes = append(passes, pass{id, days})
		}
	}
	total := 0
	for _, p := range passes {
		before := IDBefore(now.Add(-time.Duration(p.days) * 24 * time.Hour))
		for total < cfg.MaxPerRun {
			msgs, err := s.retention.ExpiredMessages(ctx, p.roomID, before, min(cfg.Batch, cfg.MaxPerRun-total))
			if err != nil {
				return total, err
			}
			if len(msgs) == 0 {
				break
			}
			kept := msgs[:0:0]
			for _, m := range msgs {
				if m.MediaID != "" && s.mediaRemover != nil {
					if err := s.mediaRemover.RemoveMedia(ctx, m.MediaID); err != nil {
						s.log.Warn("media of an expired message not removed; the message waits for the next run", "message", m.ID, "media", m.MediaID, "err", err)
						continue
					}
				}
				kept = append(kept, m)
			}
			if len(kept) == 0 {
				break // nothing could go this time; the next run tries again
			}
			n, err := s.retention.DeleteExpired(ctx, kept)
			total += n
			if err != nil {
				return total, err
			}
			if len(msgs) < cfg.Batch || len(kept) < len(msgs) {
				break
			}
		}
	}
	return total, nil
}

// MaxAdminRooms bounds GET /admin/rooms: the rooms with a retention of their own.
const MaxAdminRooms = 500

// AdminRooms returns, for a server administrator, the rooms with a retention of their own
// (at most MaxAdminRooms), by name.
func (s *Service) AdminRooms(ctx context.Context, callerID string) ([]Room, error) {
	if _, err := s.administrator(ctx, callerID); err != nil {
		return nil, err
	}
	if s.retention == nil {
		return []Room{}, nil
	}
	own, err := s.retention.RoomRetentions(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Room, 0, min(len(own), MaxAdminRooms))
	for id := range own {
		if len(out) == MaxAdminRooms {
			break
		}
		r, err := s.rooms.Room(ctx, id)
		if IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Room) int { return strings.Compare(a.Name+a.ID, b.Name+b.ID) })
	return out, nil
}
