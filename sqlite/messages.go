package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/chatchat/chatchat/chat"
)

const messageColumns = `id, room_id, seq, sender_id, client_msg_id, type, text, media_id, created_at`

func scanMessage(row scanner) (chat.Message, error) {
	var (
		m  chat.Message
		at int64
	)
	if err := row.Scan(&m.ID, &m.RoomID, &m.Seq, &m.SenderID, &m.ClientMsgID, &m.Type, &m.Text,
		&m.MediaID, &at); err != nil {
		return chat.Message{}, err
	}
	m.CreatedAt = chat.At(fromMillis(at))
	return m, nil
}

// maxPreparedIDs bounds the id lists whose statements are prepared once (prepareHot):
// each length is a statement of its own, and the common ones are short (a sender and a
// few viewers).
const maxPreparedIDs = 8

// The statements of CreateMessage, prepared once (prepareHot).
var (
	sqlMessageByClientID = `SELECT ` + messageColumns + ` FROM messages
		WHERE sender_id = ? AND client_msg_id = ? AND client_msg_id <> ''`
	sqlNextSeq = `UPDATE rooms SET last_seq = last_seq + 1, active_at = max(active_at, ?)
		WHERE id = ? RETURNING last_seq`
	sqlInsertMessage = `INSERT INTO messages (` + messageColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlInsertOutbox  = `INSERT INTO outbox (message_id, created_at) VALUES (?, ?)`
)

// sqlAdvanceCursors moves n members' read cursors, and their delivery cursors with them, to
// a message's seq (arguments: seq, room, ids).
func sqlAdvanceCursors(n int) string {
	return `UPDATE memberships SET last_read_seq = ?1, last_delivered_seq = max(last_delivered_seq, ?1)
		WHERE room_id = ?2 AND last_read_seq < ?1 AND user_id IN (` + placeholders(n) + `)`
}

// hotStatements are the statements prepareHot prepares.
func hotStatements() []string {
	out := []string{sqlMessageByClientID, sqlNextSeq, sqlInsertMessage, sqlInsertOutbox, unreadCountSQL}
	for n := 1; n <= maxPreparedIDs; n++ {
		out = append(out, sqlAdvanceCursors(n), sqlDeletePublished(n))
	}
	return out
}

// CreateMessage implements chat.MessageStore. An unknown room gives chat.ErrNotFound. A
// message with an empty ClientMsgID is never taken for a retry. The idempotency key is
// (sender, client id) across all rooms, so a caller should check that a returned message
// that was not created is in the room it asked for.
func (s *Store) CreateMessage(ctx context.Context, m chat.Message, advance []string) (chat.Message, bool, error) {
	created := false
	published := s.done.take() // deleted by this write rather than by one of their own
	err := s.write(ctx, "create message", func(tx *sql.Tx) error {
		if err := s.deletePublished(ctx, tx, published); err != nil {
			return err
		}
		if m.ClientMsgID != "" {
			prev, err := scanMessage(s.txQueryRow(ctx, tx, sqlMessageByClientID, m.SenderID, m.ClientMsgID))
			if err == nil {
				m = prev
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("sqlite: create message: look up client id: %w", err)
			}
		}

		// The seq is taken inside the write transaction, which the single writer
		// connection serializes: no two messages of a room can get the same one.
		err := s.txQueryRow(ctx, tx, sqlNextSeq, millis(m.CreatedAt.Time), m.RoomID).Scan(&m.Seq)
		if err != nil {
			return fmt.Errorf("sqlite: create message in %s: %w", m.RoomID, notFound(err))
		}
		m.CreatedAt = chat.At(m.CreatedAt.Time)
		if _, err := s.txExec(ctx, tx, sqlInsertMessage,
			m.ID, m.RoomID, m.Seq, m.SenderID, m.ClientMsgID, m.Type, m.Text, m.MediaID,
			millis(m.CreatedAt.Time)); err != nil {
			if isUnique(err) {
				return fmt.Errorf("sqlite: create message %s: %w", m.ID, chat.ErrConflict)
			}
			return fmt.Errorf("sqlite: create message %s: %w", m.ID, err)
		}

		// Only existing memberships are updated, so a non-member in advance is ignored.
		if ids := chat.UniqueIDs(advance); len(ids) > 0 {
			if _, err := s.txExec(ctx, tx, sqlAdvanceCursors(len(ids)),
				anys([]any{m.Seq, m.RoomID}, ids)...); err != nil {
				return fmt.Errorf("sqlite: create message in %s: advance cursors: %w", m.RoomID, err)
			}
		}
		// Pending until published: in the same transaction, so that no crash can store
		// the message and lose the fact that it still owes its events.
		if _, err := s.txExec(ctx, tx, sqlInsertOutbox,
			m.ID, millis(m.CreatedAt.Time)); err != nil {
			return fmt.Errorf("sqlite: create message %s: outbox: %w", m.ID, err)
		}
		// Counted in the write, where the rows are hot, instead of by a second query.
		if err := s.txQueryRow(ctx, tx, unreadCountSQL, m.RoomID, m.Seq, m.SenderID).Scan(&m.UnreadCount); err != nil {
			return fmt.Errorf("sqlite: create message in %s: unread count: %w", m.RoomID, err)
		}
		created = true
		return nil
	})
	if err != nil {
		s.requeuePublished(published) // their rows are still there: the next write takes them
		return chat.Message{}, false, err
	}
	return m, created, nil
}

// defaultPageSize is the page of Messages when the query sets no limit.
const defaultPageSize = 50

// Messages implements chat.MessageStore. A limit of zero or less means 50. An unknown
// room has no messages.
func (s *Store) Messages(ctx context.Context, roomID string, q chat.HistoryQuery) ([]chat.Message, bool, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = defaultPageSize
	}
	// Unset bounds become bounds that include every seq, so that one query shape serves
	// all cases and each is a range on the (room_id, seq) index.
	after, before := q.AfterSeq, q.BeforeSeq
	if after < 0 {
		after = 0
	}
	if before <= 0 {
		before = 1<<63 - 1
	}
	// With only AfterSeq the page is the oldest above it; otherwise the newest below
	// BeforeSeq. One row past the limit tells whether more exist in that direction.
	order := "DESC"
	if q.Ascending() {
		order = "ASC"
	}
	rows, err := s.r.QueryContext(ctx, `
		SELECT `+messageColumns+` FROM messages
		WHERE room_id = ? AND seq > ? AND seq < ?
		ORDER BY seq `+order+` LIMIT ?`, roomID, after, before, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: messages of %s: %w", roomID, err)
	}
	defer rows.Close()
	msgs := make([]chat.Message, 0, min(limit+1, 128))
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, false, fmt.Errorf("sqlite: messages of %s: %w", roomID, err)
		}
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("sqlite: messages of %s: %w", roomID, err)
	}
	more := len(msgs) > limit
	if more {
		msgs = msgs[:limit]
	}
	if order == "DESC" {
		slices.Reverse(msgs)
	}
	return msgs, more, nil
}
