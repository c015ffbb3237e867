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

// EraseProfile implements chat.UserDataStore.
func (s *Store) EraseProfile(ctx context.Context, userID string, at time.Time) error {
	name := "deleted-" + strings.ToLower(userID)
	res, err := s.w.ExecContext(ctx, `
		UPDATE users SET username = ?, username_key = ?, display_name = ?, display_key = ?,
		       password_hash = '', admin = 0, erased_at = ?
		WHERE id = ?`, name, chat.FoldKey(name), chat.ErasedName, chat.FoldKey(chat.ErasedName), millis(at), userID)
	return affectedOne("erase user "+userID, res, err)
}

var _ chat.UserDataStore = (*Store)(nil)
