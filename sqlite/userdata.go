package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// SenderMessages implements chat.UserDataStore: a range of the (sender_id, id) index.
func (s *Store) SenderMessages(ctx context.Context, senderID, afterID string, limit int) ([]chat.Message, error) {
	if limit < 1 {
		return nil, fmt.Errorf("sqlite: sender messages: limit %d, want at least 1", limit)
	}
	var msgs []chat.Message
	err := s.read(ctx, "sender messages", func(tx *sql.Tx) error {
		var err error
		msgs, err = s.queryMessages(ctx, tx, `SELECT `+messageColumns+messagesFrom+`
			WHERE m.sender_id = ? AND m.id > ? ORDER BY m.id LIMIT ?`, senderID, afterID, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: sender messages: %w", err)
	}
	if msgs == nil {
		msgs = []chat.Message{}
	}
	return msgs, nil
}

// EraseProfile implements chat.UserDataStore. username_key keeps the old name's key, which
// holds the name (its unique index) until ReleaseUsernames.
func (s *Store) EraseProfile(ctx context.Context, userID string, at time.Time) error {
	name := "deleted-" + strings.ToLower(userID)
	res, err := s.w.ExecContext(ctx, `
		UPDATE users SET username = ?, display_name = ?, display_key = ?, password_hash = '', admin = 0,
		       erased_at = coalesce(erased_at, ?), erasing_at = NULL,
		       name_held = CASE WHEN erased_at IS NULL THEN 1 ELSE name_held END
		WHERE id = ?`, name, chat.ErasedName, chat.FoldKey(chat.ErasedName), millis(at), userID)
	return affectedOne("erase user "+userID, res, err)
}

// MarkErasing implements chat.UserDataStore.
func (s *Store) MarkErasing(ctx context.Context, userID string, at time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE users SET erasing_at = coalesce(erasing_at, ?) WHERE id = ?`, millis(at), userID)
	return affectedOne("mark erasing "+userID, res, err)
}

// ErasingUsers implements chat.UserDataStore.
func (s *Store) ErasingUsers(ctx context.Context, limit int) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id FROM users WHERE erasing_at IS NOT NULL ORDER BY erasing_at LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: erasing users: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlite: erasing users: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// ReleaseUsernames implements chat.UserDataStore: the key becomes the erased name's.
func (s *Store) ReleaseUsernames(ctx context.Context, erasedBefore time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE users SET username_key = username, name_held = 0
		WHERE name_held = 1 AND erased_at < ?`, millis(erasedBefore))
	if err != nil {
		return 0, fmt.Errorf("sqlite: release usernames: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// DeleteUserNotifications implements chat.NotificationEraser.
func (s *Store) DeleteUserNotifications(ctx context.Context, userID string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM notifications WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("sqlite: delete notifications of %s: %w", userID, err)
	}
	return nil
}

var _ chat.UserDataStore = (*Store)(nil)
