package chat

import (
	"context"
	"fmt"
	"io"
	"time"
)

// The user's data: an export of everything stored about them, and erasure (by themself,
// with their password, or by an administrator).

// UserDataStore answers and erases what is stored about one user.
type UserDataStore interface {
	// SenderMessages returns up to limit of senderID's messages with an id above afterID
	// ("" from the first), ascending by id, each as it is now.
	SenderMessages(ctx context.Context, senderID, afterID string, limit int) ([]Message, error)
	// EraseProfile replaces the user's username with "deleted-" and their id, their display
	// name with ErasedName, and removes their password (nobody can log in as them), at at.
	// ErrNotFound when there is no such user.
	//
	// The username stays taken (CreateUser gives ErrConflict for it) until
	// ReleaseUsernames, so that nobody can sign up as the erased user at once and be taken
	// for them; UserByUsername and SearchUsers no longer find the user. It ends the erasure
	// MarkErasing began.
	EraseProfile(ctx context.Context, userID string, at time.Time) error
	// MarkErasing records that the user's erasure began at at, so that one interrupted
	// (a crash) is found by ErasingUsers and finished. ErrNotFound: no such user.
	MarkErasing(ctx context.Context, userID string, at time.Time) error
	// ErasingUsers returns up to limit users whose erasure began and did not end.
	ErasingUsers(ctx context.Context, limit int) ([]string, error)
	// ReleaseUsernames frees the usernames of the users erased before erasedBefore, and
	// returns how many.
	ReleaseUsernames(ctx context.Context, erasedBefore time.Time) (int, error)
}

// NotificationEraser removes a user's push history (the push store implements it).
type NotificationEraser interface {
	DeleteUserNotifications(ctx context.Context, userID string) error
}

// UsernameHold is how long an erased user's username stays taken.
const UsernameHold = 30 * 24 * time.Hour

// ErasedName is the display name an erased user keeps in the rooms they were in.
const ErasedName = "Deleted user"

// senderPage is how many of an erased user's messages are deleted per store call.
const senderPage = 200

// UserDataSources are the stores beyond Store that an export reads and an erasure clears:
// the push side (devices and their history), when push is on.
type UserDataSources interface {
	DeviceStore
	NotificationLog
}

// SetUserDataSources lets exports include, and erasures remove, the user's devices and
// push history.
func (s *Service) SetUserDataSources(d UserDataSources) { s.userData = d }

// Audit action of an erasure.
const AuditEraseUser = "erase_user"

// EraseUser erases a user, by themself (actorID == userID, their password checked by the
// caller) or by an administrator: their sessions end everywhere, every message of theirs
// becomes a tombstone (its media leaves storage, its rooms hear MESSAGE_UPDATED), their
// devices are removed, and their profile is anonymised (username "deleted-<id>", display
// name ErasedName, no password: nobody can log in as them). It runs detached from the
// request: an erasure half done by a client hanging up would keep what it promised to
// remove. Erasing again finishes what an interrupted erasure left.
func (s *Service) EraseUser(ctx context.Context, actorID, userID string) error {
	if actorID != userID {
		if _, err := s.administrator(ctx, actorID); err != nil {
			return err
		}
	}
	u, err := s.User(ctx, userID)
	if err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	if actorID != userID {
		if err := s.record(ctx, actorID, AuditEraseUser, TargetUser, userID, u.Username); err != nil {
			return err
		}
	}
	if err := s.userdata.MarkErasing(ctx, userID, s.cfg.Now()); err != nil {
		return fmt.Errorf("erase: %w", err)
	}
	return s.finishErasure(ctx, userID)
}

// finishErasure takes every step of an erasure; each is idempotent, so that an erasure
// interrupted anywhere is finished by running it again (ResumeErasures).
func (s *Service) finishErasure(ctx context.Context, userID string) error {
	if s.sessions != nil {
		if err := s.sessions.EndUserSessions(ctx, userID, 0); err != nil {
			return fmt.Errorf("erase: end sessions: %w", err)
		}
	}
	after := ""
	for {
		msgs, err := s.userdata.SenderMessages(ctx, userID, after, senderPage)
		if err != nil {
			return fmt.Errorf("erase: messages: %w", err)
		}
		for _, m := range msgs {
			if !m.Deleted() {
				if err := s.removeMessage(ctx, m); err != nil && !IsNotFound(err) {
					return fmt.Errorf("erase: message %s: %w", m.ID, err)
				}
			}
		}
		if len(msgs) < senderPage {
			break
		}
		after = msgs[len(msgs)-1].ID
	}
	// Memberships end as a leave does: the rooms' members hear ROOM_UPDATED without them.
	rooms, err := s.rooms.UserRoomIDs(ctx, userID)
	if err != nil {
		return fmt.Errorf("erase: rooms: %w", err)
	}
	for _, roomID := range rooms {
		if err := s.members.RemoveMember(ctx, roomID, userID); err != nil && !IsNotFound(err) {
			return fmt.Errorf("erase: leave %s: %w", roomID, err)
		}
		if err := s.announce(ctx, roomID, nil); err != nil && !IsNotFound(err) {
			s.log.Warn("erase: a room left unannounced", "room", roomID, "err", err)
		}
	}
	blocked, err := s.blocks.BlockedBy(ctx, userID)
	if err != nil {
		return fmt.Errorf("erase: blocks: %w", err)
	}
	for _, id := range blocked {
		if err := s.blocks.Unblock(ctx, userID, id); err != nil {
			return fmt.Errorf("erase: blocks: %w", err)
		}
	}
	if s.userData != nil {
		devices, err := s.userData.Devices(ctx, []string{userID})
		if err != nil {
			return fmt.Errorf("erase: devices: %w", err)
		}
		for _, d := range devices {
			if err := s.userData.DeleteDevice(ctx, userID, d.Token); err != nil && !IsNotFound(err) {
				return fmt.Errorf("erase: device: %w", err)
			}
		}
		if e, ok := s.userData.(NotificationEraser); ok {
			if err := e.DeleteUserNotifications(ctx, userID); err != nil {
				return fmt.Errorf("erase: push history: %w", err)
			}
		}
	}
	if err := s.userdata.EraseProfile(ctx, userID, s.cfg.Now()); err != nil {
		return fmt.Errorf("erase: profile: %w", err)
	}
	return nil
}

// ResumeErasures finishes the erasures that were interrupted, and frees the usernames of
// users erased longer than UsernameHold ago; it returns how many erasures it finished.
func (s *Service) ResumeErasures(ctx context.Context) (int, error) {
	ids, err := s.userdata.ErasingUsers(ctx, 100)
	if err != nil {
		return 0, err
	}
	done := 0
	for _, id := range ids {
		if err := s.finishErasure(ctx, id); err != nil {
			return done, fmt.Errorf("resume erasure of %s: %w", id, err)
		}
		done++
	}
	if _, err := s.userdata.ReleaseUsernames(ctx, s.cfg.Now().Add(-UsernameHold)); err != nil {
		return done, err
	}
	return done, nil
}

// RunErasures runs ResumeErasures at once and then every interval until ctx ends: an API
// process that starts finishes what a crashed one left.
func (s *Service) RunErasures(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = time.Minute
	}
	runEvery(ctx, interval, func() {
		if n, err := s.ResumeErasures(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("resuming erasures failed", "finished", n, "err", err)
		} else if n > 0 {
			s.log.Info("interrupted erasures finished", "users", n)
		}
	})
}

// Export writes, as one JSON object, everything stored about the user: their profile,
// their rooms (with their cursors and settings), their own messages, the users they
// block, and with push on their devices and push history. It streams: a user with a
// million messages costs a page of them in memory at a time. A failure midway leaves w
// with incomplete JSON, which a reader notices; the caller logs it.
func (s *Service) Export(ctx context.Context, userID string, w io.Writer) error {
	u, err := s.User(ctx, userID)
	if err != nil {
		return err
	}
	ew := &exportWriter{w: w}
	ew.raw(`{"exportedAt":`)
	ew.value(At(s.cfg.Now()))
	ew.raw(`,"user":`)
	ew.value(u.Own())

	ew.raw(`,"rooms":[`)
	first := true
	page := RoomPage{Limit: MaxRoomsPage}
	for ew.err == nil {
		rooms, more, err := s.rooms.UserRooms(ctx, userID, page)
		if err != nil {
			return err
		}
		for _, ur := range rooms {
			ew.item(&first, exportRoom{ID: ur.ID, Type: ur.Type, Name: ur.Name, CreatedAt: ur.CreatedAt,
				MemberIDs: ur.MemberIDs, LastReadSeq: ur.LastReadSeq, Muted: ur.MutedByUser})
		}
		if !more || len(rooms) == 0 {
			break
		}
		last := rooms[len(rooms)-1]
		page.After = RoomKey{ActiveAt: last.ActiveAt, ID: last.ID}
	}

	ew.raw(`],"messages":[`)
	first, after := true, ""
	for ew.err == nil {
		msgs, err := s.userdata.SenderMessages(ctx, userID, after, senderPage)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			m.Media = nil // signed URLs expire; the id names the file
			ew.item(&first, m)
		}
		if len(msgs) < senderPage {
			break
		}
		after = msgs[len(msgs)-1].ID
	}

	blocked, err := s.blocks.BlockedBy(ctx, userID)
	if err != nil {
		return err
	}
	ew.raw(`],"blockedUserIds":`)
	ew.value(blocked)

	if s.userData != nil {
		devices, err := s.userData.Devices(ctx, []string{userID})
		if err != nil {
			return err
		}
		ew.raw(`,"devices":`)
		ew.value(devices)
		ew.raw(`,"notifications":[`)
		first, before := true, ""
		for ew.err == nil {
			ns, more, err := s.userData.Notifications(ctx, userID, before, 500)
			if err != nil {
				return err
			}
			for _, n := range ns {
				ew.item(&first, n)
			}
			if !more || len(ns) == 0 {
				break
			}
			before = ns[len(ns)-1].ID
		}
		ew.raw(`]`)
	}
	ew.raw("}\n")
	return ew.err
}

// exportRoom is a room as the export shows it: the user's membership of it.
type exportRoom struct {
	ID          string   `json:"id"`
	Type        string   `json:"type"`
	Name        string   `json:"name"`
	CreatedAt   Time     `json:"createdAt"`
	MemberIDs   []string `json:"memberIds"`
	LastReadSeq int64    `json:"lastReadSeq"`
	Muted       bool     `json:"muted"`
}

// exportWriter writes JSON piece by piece and keeps the first error.
type exportWriter struct {
	w   io.Writer
	err error
}

func (e *exportWriter) raw(s string) {
	if e.err == nil {
		_, e.err = io.WriteString(e.w, s)
	}
}

func (e *exportWriter) value(v any) {
	if e.err != nil {
		return
	}
	b, err := MarshalJSON(v)
	if err != nil {
		e.err = err
		return
	}
	_, e.err = e.w.Write(b)
}

// item writes v as the next element of an array.
func (e *exportWriter) item(first *bool, v any) {
	if !*first {
		e.raw(",")
	}
	*first = false
	e.value(v)
}
