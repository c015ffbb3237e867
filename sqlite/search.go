package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/chatchat/chatchat/chat"
)

// maxRoomTerms is how many rooms a search names inside the FTS5 query, where the index
// intersects them with the words; a caller in more rooms is filtered by the join instead,
// which reads matches of other rooms too.
const maxRoomTerms = 200

// SearchMessages implements chat.MessageSearch over the message_search FTS5 index
// (migration 15): each word is a prefix query on the text's tokens, the rooms a set of
// exact room tokens, and the index is read newest first by rowid (insertion order), so a
// page stops after limit matches however many there are. An unknown q.BeforeID gives
// chat.ErrNotFound.
func (s *Store) SearchMessages(ctx context.Context, q chat.SearchQuery) ([]chat.Message, bool, error) {
	if len(q.Words) == 0 || len(q.RoomIDs) == 0 {
		return nil, false, nil
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 20
	}
	var match strings.Builder
	for i, w := range q.Words {
		if i > 0 {
			match.WriteString(" AND ")
		}
		match.WriteString("body : " + ftsString(w) + "*")
	}
	var roomFilter string
	args := []any{nil} // the match, set below
	if len(q.RoomIDs) <= maxRoomTerms {
		match.WriteString(" AND room : (")
		for i, id := range q.RoomIDs {
			if i > 0 {
				match.WriteString(" OR ")
			}
			match.WriteString(ftsString(id))
		}
		match.WriteString(")")
	} else {
		ids, err := json.Marshal(q.RoomIDs)
		if err != nil {
			return nil, false, err
		}
		roomFilter = ` AND m.room_id IN (SELECT value FROM json_each(?))`
		args = append(args, string(ids))
	}
	args[0] = match.String()

	var msgs []chat.Message
	err := s.read(ctx, "search messages", func(tx *sql.Tx) error {
		before := int64(math.MaxInt64)
		if q.BeforeID != "" {
			err := tx.QueryRowContext(ctx, `SELECT rowid FROM messages WHERE id = ?`, q.BeforeID).Scan(&before)
			if errors.Is(err, sql.ErrNoRows) {
				return chat.ErrNotFound
			}
			if err != nil {
				return err
			}
		}
		var err error
		msgs, err = s.queryMessages(ctx, tx, `SELECT `+messageColumns+`
			FROM message_search s JOIN messages m ON m.rowid = s.rowid
			LEFT JOIN messages rt ON rt.id = m.reply_to_id AND m.reply_to_id <> ''
			WHERE message_search MATCH ?`+roomFilter+` AND s.rowid < ? AND m.deleted_at = 0
			ORDER BY s.rowid DESC LIMIT ?`, append(args, before, limit+1)...)
		return err
	})
	if err != nil {
		if chat.IsNotFound(err) {
			return nil, false, err
		}
		return nil, false, fmt.Errorf("sqlite: search messages: %w", err)
	}
	more := len(msgs) > limit
	if more {
		msgs = msgs[:limit]
	}
	return msgs, more, nil
}

// ftsString quotes s as an FTS5 string, in which only the double quote is special.
func ftsString(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
