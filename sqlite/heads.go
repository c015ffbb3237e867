package sqlite

import (
	"context"
	"fmt"

	"github.com/chatchat/chatchat/chat"
)

// RoomHeads implements chat.RoomHeadStore: one look-up of the rooms' keys.
func (s *Store) RoomHeads(ctx context.Context, ids []string) (map[string]chat.RoomHead, error) {
	ids = chat.UniqueIDs(ids)
	out := make(map[string]chat.RoomHead, len(ids))
	// Within SQLite's limit of bound parameters, a chunk at a time.
	for len(ids) > 0 {
		n := min(len(ids), 1000)
		rows, err := s.r.QueryContext(ctx, `SELECT id, last_seq, last_rev FROM rooms WHERE id IN (`+placeholders(n)+`)`,
			anys(nil, ids[:n])...)
		if err != nil {
			return nil, fmt.Errorf("sqlite: room heads: %w", err)
		}
		for rows.Next() {
			var (
				id string
				h  chat.RoomHead
			)
			if err := rows.Scan(&id, &h.LastSeq, &h.LastRev); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlite: room heads: %w", err)
			}
			out[id] = h
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("sqlite: room heads: %w", err)
		}
		ids = ids[n:]
	}
	return out, nil
}

var _ chat.RoomHeadStore = (*Store)(nil)
