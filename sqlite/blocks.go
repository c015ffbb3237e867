package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// Block implements chat.BlockStore.
func (s *Store) Block(ctx context.Context, blockerID, blockedID string, at time.Time) error {
	_, err := s.w.ExecContext(ctx, `
		INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES (?, ?, ?)
		ON CONFLICT (blocker_id, blocked_id) DO NOTHING`, blockerID, blockedID, millis(at))
	if err != nil {
		return fmt.Errorf("sqlite: block: %w", err)
	}
	return nil
}

// Unblock implements chat.BlockStore.
func (s *Store) Unblock(ctx context.Context, blockerID, blockedID string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM blocks WHERE blocker_id = ? AND blocked_id = ?`, blockerID, blockedID); err != nil {
		return fmt.Errorf("sqlite: unblock: %w", err)
	}
	return nil
}

// BlockedBy implements chat.BlockStore.
func (s *Store) BlockedBy(ctx context.Context, blockerID string) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `
		SELECT blocked_id FROM blocks WHERE blocker_id = ? ORDER BY created_at DESC, blocked_id`, blockerID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: blocked by: %w", err)
	}
	return scanIDs(rows, "blocked by")
}

// Blockers implements chat.BlockStore: one look-up of the (blocked, blocker) index.
func (s *Store) Blockers(ctx context.Context, userID string, candidates []string) ([]string, error) {
	candidates = chat.UniqueIDs(candidates)
	if len(candidates) == 0 {
		return []string{}, nil
	}
	rows, err := s.r.QueryContext(ctx, `
		SELECT blocker_id FROM blocks WHERE blocked_id = ? AND blocker_id IN (`+placeholders(len(candidates))+`)`,
		anys([]any{userID}, candidates)...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: blockers: %w", err)
	}
	return scanIDs(rows, "blockers")
}

var _ chat.BlockStore = (*Store)(nil)

// scanIDs reads one string column.
func scanIDs(rows interface {
	Next() bool
	Scan(...any) error
	Err() error
	Close() error
}, what string) ([]string, error) {
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", what, err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	return out, nil
}
