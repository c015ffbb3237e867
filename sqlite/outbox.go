package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/chatchat/chatchat/chat"
)

var _ chat.OutboxStore = (*Store)(nil)

// outboxMessageColumns are messageColumns of the joined messages table.
var outboxMessageColumns = "m." + strings.ReplaceAll(messageColumns, ", ", ", m.")

// MarkPublished implements chat.OutboxStore.
func (s *Store) MarkPublished(ctx context.Context, roomID, messageID string) error {
	return s.write(ctx, "mark published", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE message_id = ?`, messageID); err != nil {
			return fmt.Errorf("sqlite: mark %s published: %w", messageID, err)
		}
		return nil
	})
}

// Pending implements chat.OutboxStore.
func (s *Store) Pending(ctx context.Context, roomID, messageID string) (bool, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE message_id = ?`, messageID).Scan(&n); err != nil {
		return false, fmt.Errorf("sqlite: pending %s: %w", messageID, err)
	}
	return n > 0, nil
}

// PendingMessages implements chat.OutboxStore: a range of the outbox's time index.
func (s *Store) PendingMessages(ctx context.Context, before time.Time, limit int) ([]chat.Message, error) {
	rows, err := s.r.QueryContext(ctx, `
		SELECT `+outboxMessageColumns+` FROM outbox o JOIN messages m ON m.id = o.message_id
		WHERE o.created_at <= ? ORDER BY o.created_at, m.id LIMIT ?`, millis(before), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: pending messages: %w", err)
	}
	defer rows.Close()
	var out []chat.Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: pending messages: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: pending messages: %w", err)
	}
	return out, nil
}
