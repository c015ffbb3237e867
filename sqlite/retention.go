package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/chatchat/chatchat/chat"
)

// SetRetention implements chat.RetentionStore.
func (s *Store) SetRetention(ctx context.Context, roomID string, days int) error {
	return s.write(ctx, "set retention of "+roomID, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE rooms SET retention_days = ? WHERE id = ?`, days, roomID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return chat.ErrNotFound
		}
		return nil
	})
}

// RoomRetentions implements chat.RetentionStore (an index of the few rooms that have one).
func (s *Store) RoomRetentions(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	err := s.read(ctx, "room retentions", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, retention_days FROM rooms WHERE retention_days IS NOT NULL`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var days int
			if err := rows.Scan(&id, &days); err != nil {
				return err
			}
			out[id] = days
		}
		return rows.Err()
	})
	return out, err
}

// ExpiredMessages implements chat.RetentionStore. Every room's expired messages are a range
// of the primary key (ids are time-ordered); one room's are read along its seq index.
func (s *Store) ExpiredMessages(ctx context.Context, roomID, beforeID string, limit int) ([]chat.Message, error) {
	query := `SELECT m.id, m.room_id, m.seq, m.media_id FROM messages m JOIN rooms r ON r.id = m.room_id
		WHERE m.id < ? AND m.pinned_at = 0 AND r.retention_days IS NULL ORDER BY m.id LIMIT ?`
	args := []any{beforeID, limit}
	if roomID != "" {
		query = `SELECT id, room_id, seq, media_id FROM messages
			WHERE room_id = ? AND id < ? AND pinned_at = 0 ORDER BY seq LIMIT ?`
		args = []any{roomID, beforeID, limit}
	}
	var out []chat.Message
	err := s.read(ctx, "expired messages", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var m chat.Message
			if err := rows.Scan(&m.ID, &m.RoomID, &m.Seq, &m.MediaID); err != nil {
				return err
			}
			out = append(out, m)
		}
		return rows.Err()
	})
	return out, err
}

// DeleteExpired implements chat.RetentionStore in one transaction: reactions, mentions and
// the outbox go by their foreign keys, search entries by the schema's trigger.
func (s *Store) DeleteExpired(ctx context.Context, msgs []chat.Message) (int, error) {
	deleted := 0
	err := s.write(ctx, "delete expired messages", func(tx *sql.Tx) error {
		deleted = 0
		through := map[string]int64{}
		for _, m := range msgs {
			res, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE id = ? AND room_id = ? AND pinned_at = 0`, m.ID, m.RoomID)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			if n > 0 {
				deleted++
				through[m.RoomID] = max(through[m.RoomID], m.Seq)
			}
		}
		for roomID, seq := range through {
			if _, err := tx.ExecContext(ctx, `UPDATE rooms SET expired_through_seq = max(expired_through_seq, ?) WHERE id = ?`, seq, roomID); err != nil {
				return fmt.Errorf("expired through: %w", err)
			}
		}
		return nil
	})
	return deleted, err
}
