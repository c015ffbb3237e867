package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/chatchat/chatchat/chat"
)

// messageColumns are a message's columns, of the messages table aliased m, followed by
// those of the message it replies to, aliased rt (a LEFT JOIN: NULL when none), so that a
// page resolves its replies in the same query.
const messageColumns = `m.id, m.room_id, m.seq, m.sender_id, m.client_msg_id, m.type, m.text,
	m.media_id, m.created_at, m.rev, m.reply_to_id, m.mentions, m.edited_at, m.deleted_at,
	m.pinned_at, m.pinned_by, rt.seq, rt.sender_id, rt.type, rt.text, rt.deleted_at`

// messagesFrom is the FROM clause that messageColumns reads.
const messagesFrom = ` FROM messages m LEFT JOIN messages rt ON rt.id = m.reply_to_id AND m.reply_to_id <> '' `

func scanMessage(row scanner) (chat.Message, error) {
	var (
		m                           chat.Message
		at, edited, deleted, pinned int64
		mentions                    string
		rtSeq, rtDeleted            sql.NullInt64
		rtSender, rtType, rtText    sql.NullString
	)
	if err := row.Scan(&m.ID, &m.RoomID, &m.Seq, &m.SenderID, &m.ClientMsgID, &m.Type, &m.Text,
		&m.MediaID, &at, &m.Rev, &m.ReplyToID, &mentions, &edited, &deleted, &pinned, &m.PinnedBy,
		&rtSeq, &rtSender, &rtType, &rtText, &rtDeleted); err != nil {
		return chat.Message{}, err
	}
	m.CreatedAt = chat.At(fromMillis(at))
	m.Mentions = splitIDs(mentions)
	m.EditedAt, m.DeletedAt, m.PinnedAt = timeOrNil(edited), timeOrNil(deleted), timeOrNil(pinned)
	if m.ReplyToID != "" && rtSeq.Valid {
		m.ReplyTo = chat.NewReplyTo(m.ReplyToID, rtSeq.Int64, rtSender.String, rtType.String, rtText.String, rtDeleted.Int64 > 0)
	}
	return m, nil
}

// timeOrNil is a stored time, 0 for none.
func timeOrNil(ms int64) *chat.Time {
	if ms == 0 {
		return nil
	}
	return chat.TimePtr(fromMillis(ms))
}

// Mentions are kept as the ids joined by spaces (ids hold no spaces): they are read with
// the message, and the mentions table answers the counting.
func joinIDs(ids []string) string { return strings.Join(ids, " ") }

func splitIDs(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Fields(s)
}

// maxPreparedIDs bounds the id lists whose statements are prepared once (prepareHot):
// each length is a statement of its own, and the common ones are short (a sender and a
// few viewers).
const maxPreparedIDs = 8

// The statements of CreateMessage, prepared once (prepareHot).
var (
	sqlMessageByClientID = `SELECT ` + messageColumns + messagesFrom + `
		WHERE m.sender_id = ? AND m.client_msg_id = ? AND m.client_msg_id <> ''`
	// A new message takes the room's next seq and its next rev in one statement.
	sqlNextSeq = `UPDATE rooms SET last_seq = last_seq + 1, last_rev = last_rev + 1, active_at = max(active_at, ?)
		WHERE id = ? RETURNING last_seq, last_rev`
	sqlInsertMessage = `INSERT INTO messages (id, room_id, seq, sender_id, client_msg_id, type, text,
		media_id, created_at, rev, reply_to_id, mentions) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlInsertMention = `INSERT OR IGNORE INTO mentions (room_id, user_id, seq, message_id) VALUES (?, ?, ?, ?)`
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
	out := []string{sqlMessageByClientID, sqlNextSeq, sqlInsertMessage, sqlInsertOutbox, unreadCountSQL, sqlInsertMention}
	out = append(out, changeStatements()...)
	for n := 1; n <= maxPreparedIDs; n++ {
		out = append(out, sqlAdvanceCursors(n), sqlDeletePublished(n))
	}
	return out
}

// CreateMessage implements chat.MessageStore. An unknown room gives chat.ErrNotFound. A
// message with an empty ClientMsgID is never taken for a retry. The idempotency key is
// (sender, client id) across all rooms, so a caller should check that a returned message
// that was not created is in the room it asked for.
//
// Sends share write transactions (group commit, sends.go): a send waits only for the one
// in progress, and the sends that queued meanwhile go in the next transaction together.
func (s *Store) CreateMessage(ctx context.Context, m chat.Message, advance []string) (chat.Message, bool, error) {
	return s.sends.do(ctx, m, advance)
}

// createMessage stores one message in tx: the idempotency look-up, the room's next seq and
// rev, the row, its mentions, the cursors it advances, its outbox row and its unread count.
func (s *Store) createMessage(ctx context.Context, tx *sql.Tx, m chat.Message, advance []string) (chat.Message, bool, error) {
	if m.ClientMsgID != "" {
		prev, err := scanMessage(s.txQueryRow(ctx, tx, sqlMessageByClientID, m.SenderID, m.ClientMsgID))
		if err == nil {
			return prev, false, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return chat.Message{}, false, fmt.Errorf("sqlite: create message: look up client id: %w", err)
		}
	}

	// The seq is taken inside the write transaction, which the single writer
	// connection serializes: no two messages of a room can get the same one.
	err := s.txQueryRow(ctx, tx, sqlNextSeq, millis(m.CreatedAt.Time), m.RoomID).Scan(&m.Seq, &m.Rev)
	if err != nil {
		return chat.Message{}, false, fmt.Errorf("sqlite: create message in %s: %w", m.RoomID, notFound(err))
	}
	m.CreatedAt = chat.At(m.CreatedAt.Time)
	if _, err := s.txExec(ctx, tx, sqlInsertMessage,
		m.ID, m.RoomID, m.Seq, m.SenderID, m.ClientMsgID, m.Type, m.Text, m.MediaID,
		millis(m.CreatedAt.Time), m.Rev, m.ReplyToID, joinIDs(m.Mentions)); err != nil {
		if isUnique(err) {
			return chat.Message{}, false, fmt.Errorf("sqlite: create message %s: %w", m.ID, chat.ErrConflict)
		}
		return chat.Message{}, false, fmt.Errorf("sqlite: create message %s: %w", m.ID, err)
	}

	for _, uid := range m.Mentions {
		if _, err := s.txExec(ctx, tx, sqlInsertMention, m.RoomID, uid, m.Seq, m.ID); err != nil {
			return chat.Message{}, false, fmt.Errorf("sqlite: create message %s: mentions: %w", m.ID, err)
		}
	}
	// Only existing memberships are updated, so a non-member in advance is ignored.
	if ids := chat.UniqueIDs(advance); len(ids) > 0 {
		if _, err := s.txExec(ctx, tx, sqlAdvanceCursors(len(ids)),
			anys([]any{m.Seq, m.RoomID}, ids)...); err != nil {
			return chat.Message{}, false, fmt.Errorf("sqlite: create message in %s: advance cursors: %w", m.RoomID, err)
		}
	}
	// Pending until published: in the same transaction, so that no crash can store
	// the message and lose the fact that it still owes its events.
	if _, err := s.txExec(ctx, tx, sqlInsertOutbox,
		m.ID, millis(m.CreatedAt.Time)); err != nil {
		return chat.Message{}, false, fmt.Errorf("sqlite: create message %s: outbox: %w", m.ID, err)
	}
	// Counted in the write, where the rows are hot, instead of by a second query.
	if err := s.txQueryRow(ctx, tx, unreadCountSQL, m.RoomID, m.Seq, m.SenderID).Scan(&m.UnreadCount); err != nil {
		return chat.Message{}, false, fmt.Errorf("sqlite: create message in %s: unread count: %w", m.RoomID, err)
	}
	return m, true, nil
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
	var msgs []chat.Message
	err := s.read(ctx, "messages of "+roomID, func(tx *sql.Tx) error {
		var err error
		msgs, err = s.queryMessages(ctx, tx, `SELECT `+messageColumns+messagesFrom+`
			WHERE m.room_id = ? AND m.seq > ? AND m.seq < ?
			ORDER BY m.seq `+order+` LIMIT ?`, roomID, after, before, limit+1)
		return err
	})
	if err != nil {
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
