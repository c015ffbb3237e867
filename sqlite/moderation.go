package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/chatchat/chatchat/chat"
)

var _ chat.ModerationStore = (*Store)(nil)

// UpdateRoom implements chat.ModerationStore.
func (s *Store) UpdateRoom(ctx context.Context, roomID string, name, description *string) error {
	res, err := s.w.ExecContext(ctx, `
		UPDATE rooms SET name = coalesce(?, name), description = coalesce(?, description)
		WHERE id = ?`, nullable(name), nullable(description), roomID)
	return affectedOne("update room "+roomID, res, err)
}

// nullable is p's string, or NULL for nil.
func nullable(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

// SetRole implements chat.ModerationStore.
func (s *Store) SetRole(ctx context.Context, roomID, userID, role string) error {
	res, err := s.w.ExecContext(ctx,
		`UPDATE memberships SET role = ? WHERE room_id = ? AND user_id = ?`, role, roomID, userID)
	return affectedOne("set role of "+userID+" in "+roomID, res, err)
}

// Ban implements chat.ModerationStore: the ban and the removal in one transaction.
func (s *Store) Ban(ctx context.Context, roomID, userID, byID string, at time.Time) (bool, error) {
	var removed bool
	err := s.write(ctx, "ban", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO bans (room_id, user_id, banned_by, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (room_id, user_id) DO NOTHING`, roomID, userID, byID, millis(at))
		if isForeignKey(err) {
			return fmt.Errorf("sqlite: ban %s from %s: %w", userID, roomID, chat.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("sqlite: ban %s from %s: %w", userID, roomID, err)
		}
		if removed, err = removeMember(ctx, tx, roomID, userID); err != nil {
			return fmt.Errorf("sqlite: ban %s from %s: %w", userID, roomID, err)
		}
		return nil
	})
	return removed, err
}

// Unban implements chat.ModerationStore.
func (s *Store) Unban(ctx context.Context, roomID, userID string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM bans WHERE room_id = ? AND user_id = ?`, roomID, userID)
	return affectedOne("unban "+userID+" from "+roomID, res, err)
}

// Banned implements chat.ModerationStore: look-ups of the bans' key.
func (s *Store) Banned(ctx context.Context, roomID string, userIDs []string) ([]string, error) {
	userIDs = chat.UniqueIDs(userIDs)
	if len(userIDs) == 0 {
		return []string{}, nil
	}
	rows, err := s.r.QueryContext(ctx, `
		SELECT user_id FROM bans WHERE room_id = ? AND user_id IN (`+placeholders(len(userIDs))+`)`,
		anys([]any{roomID}, userIDs)...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: banned: %w", err)
	}
	return scanIDs(rows, "banned")
}

// Bans implements chat.ModerationStore.
func (s *Store) Bans(ctx context.Context, roomID string) ([]string, error) {
	rows, err := s.r.QueryContext(ctx,
		`SELECT user_id FROM bans WHERE room_id = ? ORDER BY created_at, user_id`, roomID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: bans of %s: %w", roomID, err)
	}
	return scanIDs(rows, "bans")
}
