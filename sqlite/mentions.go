package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/chatchat/chatchat/chat"
)

var _ chat.MentionStore = (*Store)(nil)

// MentionCounts implements chat.MentionStore: one count per room, each a range of the
// mentions table's (room_id, user_id, seq) key, in one read transaction.
func (s *Store) MentionCounts(ctx context.Context, userID string, after map[string]int64) (map[string]int64, error) {
	out := make(map[string]int64, len(after))
	if len(after) == 0 {
		return out, nil
	}
	err := s.read(ctx, "mention counts", func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `SELECT count(*) FROM mentions WHERE room_id = ? AND user_id = ? AND seq > ?`)
		if err != nil {
			return err
		}
		defer st.Close()
		for roomID, seq := range after {
			var n int64
			if err := st.QueryRowContext(ctx, roomID, userID, seq).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				out[roomID] = n
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: mention counts of %s: %w", userID, err)
	}
	return out, nil
}
