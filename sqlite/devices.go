package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/chatchat/chatchat/chat"
)

var _ chat.PushStore = (*Store)(nil)

// RegisterDevice implements chat.DeviceStore. A user id that is not a user gives
// chat.ErrNotFound.
func (s *Store) RegisterDevice(ctx context.Context, d chat.Device) (bool, error) {
	created := false
	err := s.write(ctx, "register device", func(tx *sql.Tx) error {
		var owner string
		err := tx.QueryRowContext(ctx, `SELECT user_id FROM devices WHERE token = ?`, d.Token).Scan(&owner)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			created = true
		case err != nil:
			return fmt.Errorf("sqlite: register device: %w", err)
		default:
			created = owner != d.UserID
		}
		// A token moved from another user starts afresh, created now.
		_, err = tx.ExecContext(ctx, `
			INSERT INTO devices (token, user_id, platform, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (token) DO UPDATE SET
				platform = excluded.platform,
				created_at = CASE WHEN user_id = excluded.user_id THEN created_at ELSE excluded.created_at END,
				user_id = excluded.user_id`,
			d.Token, d.UserID, d.Platform, millis(d.CreatedAt.Time))
		if isForeignKey(err) {
			return fmt.Errorf("sqlite: register device: user %s: %w", d.UserID, chat.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("sqlite: register device: %w", err)
		}
		return nil
	})
	return created, err
}

// DeleteDevice implements chat.DeviceStore.
func (s *Store) DeleteDevice(ctx context.Context, userID, token string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM devices WHERE token = ? AND user_id = ?`, token, userID)
	if err != nil {
		return fmt.Errorf("sqlite: delete device: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: delete device: %w", err)
	} else if n == 0 {
		return fmt.Errorf("sqlite: delete device: %w", chat.ErrNotFound)
	}
	return nil
}

// DeleteToken implements chat.DeviceStore.
func (s *Store) DeleteToken(ctx context.Context, token string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM devices WHERE token = ?`, token); err != nil {
		return fmt.Errorf("sqlite: delete token: %w", err)
	}
	return nil
}

// Devices implements chat.DeviceStore.
func (s *Store) Devices(ctx context.Context, userIDs []string) ([]chat.Device, error) {
	ids := chat.UniqueIDs(userIDs)
	out := []chat.Device{}
	// SQLite limits the variables of one statement; rooms can be large.
	for len(ids) > 0 {
		n := min(len(ids), 500)
		rows, err := s.r.QueryContext(ctx, `
			SELECT token, user_id, platform, created_at FROM devices
			WHERE user_id IN (`+placeholders(n)+`)`, anys(nil, ids[:n])...)
		if err != nil {
			return nil, fmt.Errorf("sqlite: devices: %w", err)
		}
		for rows.Next() {
			var (
				d  chat.Device
				at int64
			)
			if err := rows.Scan(&d.Token, &d.UserID, &d.Platform, &at); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlite: devices: %w", err)
			}
			d.CreatedAt = chat.At(fromMillis(at))
			out = append(out, d)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("sqlite: devices: %w", err)
		}
		ids = ids[n:]
	}
	return out, nil
}

// AddNotification implements chat.NotificationLog.
func (s *Store) AddNotification(ctx context.Context, n chat.Notification) error {
	_, err := s.w.ExecContext(ctx, `
		INSERT INTO notifications (id, user_id, token, message_id, room_id, seq, platform, status, error, title, body, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		n.ID, n.UserID, n.Token, n.MessageID, n.RoomID, n.Seq, n.Platform, n.Status, n.Error,
		n.Title, n.Body, millis(n.CreatedAt.Time))
	if isUnique(err) {
		return fmt.Errorf("sqlite: add notification for message %s: %w", n.MessageID, chat.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlite: add notification: %w", err)
	}
	return nil
}

// NotifiedTokens implements chat.NotificationLog.
func (s *Store) NotifiedTokens(ctx context.Context, messageID string) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT token FROM notifications WHERE message_id = ?`, messageID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: notified tokens: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, fmt.Errorf("sqlite: notified tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: notified tokens: %w", err)
	}
	return out, nil
}

// Notifications implements chat.NotificationLog.
func (s *Store) Notifications(ctx context.Context, userID, beforeID string, limit int) ([]chat.Notification, bool, error) {
	if limit <= 0 {
		limit = 50
	}
	q := `SELECT id, user_id, token, message_id, room_id, seq, platform, status, error, title, body, created_at
		FROM notifications WHERE user_id = ?`
	args := []any{userID}
	if beforeID != "" {
		q += ` AND id < ?`
		args = append(args, beforeID)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: notifications: %w", err)
	}
	defer rows.Close()
	out := []chat.Notification{}
	for rows.Next() {
		var (
			n  chat.Notification
			at int64
		)
		if err := rows.Scan(&n.ID, &n.UserID, &n.Token, &n.MessageID, &n.RoomID, &n.Seq, &n.Platform,
			&n.Status, &n.Error, &n.Title, &n.Body, &at); err != nil {
			return nil, false, fmt.Errorf("sqlite: notifications: %w", err)
		}
		n.CreatedAt = chat.At(fromMillis(at))
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("sqlite: notifications: %w", err)
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}

// MemberDevices implements chat.DeviceStore: the room's memberships joined with the devices
// index by user, one statement; a member without a device is an index probe.
func (s *Store) MemberDevices(ctx context.Context, roomID string) ([]chat.MemberDevice, error) {
	rows, err := s.r.QueryContext(ctx, `
		SELECT m.user_id, m.last_read_seq, m.last_delivered_seq, m.muted, m.joined_at, m.role,
		       d.token, d.platform, d.created_at
		FROM memberships m JOIN devices d ON d.user_id = m.user_id
		WHERE m.room_id = ?`, roomID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: member devices of %s: %w", roomID, err)
	}
	defer rows.Close()
	out := []chat.MemberDevice{}
	for rows.Next() {
		var (
			md         chat.MemberDevice
			joined, at int64
		)
		if err := rows.Scan(&md.Member.UserID, &md.Member.LastReadSeq, &md.Member.LastDeliveredSeq, &md.Member.Muted,
			&joined, &md.Member.Role, &md.Device.Token, &md.Device.Platform, &at); err != nil {
			return nil, fmt.Errorf("sqlite: member devices of %s: %w", roomID, err)
		}
		md.Member.JoinedAt = chat.At(fromMillis(joined))
		md.Device.UserID = md.Member.UserID
		md.Device.CreatedAt = chat.At(fromMillis(at))
		out = append(out, md)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: member devices of %s: %w", roomID, err)
	}
	return out, nil
}
