package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

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
	if q.MatchesNothing() {
		return nil, false, nil
	}
	limit := q.PageSize()
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

	// What was written just before is found: the queue is applied first.
	if err := s.indexAll(ctx); err != nil {
		return nil, false, err
	}
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

// The search indexer applies search_pending (migration 15) to the FTS5 index in batches:
// every indexInterval in the background, and before each search.
const (
	indexInterval = 250 * time.Millisecond
	indexBatch    = 2000
)

func (s *Store) startIndexer() {
	s.stopIndex, s.indexDone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(s.indexDone)
		t := time.NewTicker(indexInterval)
		defer t.Stop()
		for {
			select {
			case <-s.stopIndex:
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := s.indexAll(ctx); err != nil {
				s.logger.Warn("sqlite: search index not updated; retrying", "err", err)
			}
			cancel()
		}
	}()
}

// stopIndexer stops the background indexer and waits for it; what is queued stays queued
// in the database for the next start.
func (s *Store) stopIndexer() {
	if s.stopIndex == nil {
		return
	}
	close(s.stopIndex)
	<-s.indexDone
	s.stopIndex = nil
}

// indexAll applies the whole queue, a batch per write.
func (s *Store) indexAll(ctx context.Context) error {
	for {
		var pending bool
		if err := s.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM search_pending)`).Scan(&pending); err != nil {
			return fmt.Errorf("sqlite: search queue: %w", err)
		}
		if !pending {
			return nil
		}
		n, err := s.indexPending(ctx, indexBatch)
		if err != nil {
			return err
		}
		if n < indexBatch {
			return nil
		}
	}
}

// indexPending applies up to limit queued messages in one write: an entry that may be in
// the index is taken out, and the message, if it still exists with text and is not
// deleted, is put in as it now is.
func (s *Store) indexPending(ctx context.Context, limit int) (int, error) {
	n := 0
	err := s.write(ctx, "search index", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT msg_rowid, fresh FROM search_pending ORDER BY msg_rowid LIMIT ?`, limit)
		if err != nil {
			return err
		}
		var all, stale []int64
		for rows.Next() {
			var id int64
			var fresh bool
			if err := rows.Scan(&id, &fresh); err != nil {
				rows.Close()
				return err
			}
			all = append(all, id)
			if !fresh {
				stale = append(stale, id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		n = len(all)
		if n == 0 {
			return nil
		}
		ids, err := json.Marshal(all)
		if err != nil {
			return err
		}
		for _, id := range stale {
			if _, err := tx.ExecContext(ctx, `DELETE FROM message_search WHERE rowid = ?`, id); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO message_search (rowid, room, body)
			SELECT rowid, room_id, text FROM messages
			WHERE rowid IN (SELECT value FROM json_each(?)) AND text <> '' AND deleted_at = 0`, string(ids)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM search_pending WHERE msg_rowid IN (SELECT value FROM json_each(?))`, string(ids))
		return err
	})
	return n, err
}
