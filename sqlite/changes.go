package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/chatchat/chatchat/chat"
)

var _ chat.MessageChangeStore = (*Store)(nil)

// The statements of ChangeMessage, prepared once (prepareHot): a reaction storm runs them
// hundreds of times a second.
const (
	sqlChangeState = `SELECT room_id, type, deleted_at, pinned_at FROM messages WHERE id = ?`
	sqlNextRev     = `UPDATE rooms SET last_rev = last_rev + 1 WHERE id = ? RETURNING last_rev`
	sqlSetRev      = `UPDATE messages SET rev = ?, change_pending_at = ? WHERE id = ?`
	sqlHasReaction = `SELECT EXISTS (SELECT 1 FROM reactions WHERE message_id = ? AND emoji = ?),
		EXISTS (SELECT 1 FROM reactions WHERE message_id = ? AND emoji = ? AND user_id = ?)`
	sqlEmojiCount     = `SELECT count(DISTINCT emoji) FROM reactions WHERE message_id = ?`
	sqlInsertReaction = `INSERT INTO reactions (message_id, emoji, user_id) VALUES (?, ?, ?)`
	sqlDeleteReaction = `DELETE FROM reactions WHERE message_id = ? AND emoji = ? AND user_id = ?`
	sqlReactionsOf    = `SELECT emoji, user_id FROM reactions WHERE message_id = ? ORDER BY id`
	sqlMessageByID    = `SELECT ` + messageColumns + messagesFrom + ` WHERE m.id = ?`
)

func changeStatements() []string {
	return []string{sqlChangeState, sqlNextRev, sqlSetRev, sqlHasReaction, sqlEmojiCount,
		sqlInsertReaction, sqlDeleteReaction, sqlReactionsOf, sqlMessageByID, sqlClearChangePending}
}

// Message implements chat.MessageChangeStore.
func (s *Store) Message(ctx context.Context, roomID, messageID string) (chat.Message, error) {
	var m chat.Message
	err := s.read(ctx, "message "+messageID, func(tx *sql.Tx) error {
		var err error
		m, err = s.messageIn(ctx, tx, roomID, messageID, false)
		return err
	})
	return m, err
}

// messageIn reads one message with its reactions in tx; write says that tx is on the
// writer connection, whose prepared statements it may use.
func (s *Store) messageIn(ctx context.Context, tx *sql.Tx, roomID, messageID string, write bool) (chat.Message, error) {
	queryRow, query := tx.QueryRowContext, tx.QueryContext
	if write {
		queryRow = func(ctx context.Context, q string, args ...any) *sql.Row { return s.txQueryRow(ctx, tx, q, args...) }
		query = func(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
			return s.txQuery(ctx, tx, q, args...)
		}
	}
	m, err := scanMessage(queryRow(ctx, sqlMessageByID, messageID))
	if err == nil && m.RoomID != roomID {
		err = sql.ErrNoRows
	}
	if err != nil {
		return chat.Message{}, fmt.Errorf("sqlite: message %s: %w", messageID, notFound(err))
	}
	rows, err := query(ctx, sqlReactionsOf, messageID)
	if err != nil {
		return chat.Message{}, fmt.Errorf("sqlite: reactions of %s: %w", messageID, err)
	}
	defer rows.Close()
	var rs reactionSet
	for rows.Next() {
		var emoji, user string
		if err := rows.Scan(&emoji, &user); err != nil {
			return chat.Message{}, fmt.Errorf("sqlite: reactions of %s: %w", messageID, err)
		}
		rs.add(emoji, user)
	}
	if err := rows.Err(); err != nil {
		return chat.Message{}, fmt.Errorf("sqlite: reactions of %s: %w", messageID, err)
	}
	m.Reactions = rs.list
	return m, nil
}

// reactionSet builds a message's reactions from its rows in order of first use.
type reactionSet struct {
	list []chat.Reaction
}

func (r *reactionSet) add(emoji, userID string) {
	for i := range r.list {
		if r.list[i].Emoji == emoji {
			r.list[i].Count++
			r.list[i].UserIDs = append(r.list[i].UserIDs, userID)
			return
		}
	}
	r.list = append(r.list, chat.Reaction{Emoji: emoji, Count: 1, UserIDs: []string{userID}})
}

// queryMessages runs a query of messageColumns in tx and adds every message's reactions
// with one more query for the whole page.
func (s *Store) queryMessages(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]chat.Message, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var msgs []chat.Message
	index := map[string]int{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		index[m.ID] = len(msgs)
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	if len(msgs) == 0 {
		return msgs, nil
	}
	ids := make([]string, 0, len(msgs))
	for _, m := range msgs {
		ids = append(ids, m.ID)
	}
	rrows, err := tx.QueryContext(ctx, `SELECT message_id, emoji, user_id FROM reactions
		WHERE message_id IN (`+placeholders(len(ids))+`) ORDER BY id`, anys(nil, ids)...)
	if err != nil {
		return nil, fmt.Errorf("reactions: %w", err)
	}
	defer rrows.Close()
	sets := map[string]*reactionSet{}
	for rrows.Next() {
		var id, emoji, user string
		if err := rrows.Scan(&id, &emoji, &user); err != nil {
			return nil, fmt.Errorf("reactions: %w", err)
		}
		rs := sets[id]
		if rs == nil {
			rs = &reactionSet{}
			sets[id] = rs
		}
		rs.add(emoji, user)
	}
	if err := rrows.Err(); err != nil {
		return nil, fmt.Errorf("reactions: %w", err)
	}
	for id, rs := range sets {
		msgs[index[id]].Reactions = rs.list
	}
	return msgs, nil
}

// txQuery is txQueryRow for a statement that returns rows.
func (s *Store) txQuery(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	if st, ok := s.stmts.Load(query); ok {
		return tx.StmtContext(ctx, st.(*sql.Stmt)).QueryContext(ctx, args...)
	}
	return tx.QueryContext(ctx, query, args...)
}

// ChangeMessage implements chat.MessageChangeStore: the state check, the change, the
// room's next rev and the pending mark in one write transaction, which the single writer
// connection serializes.
func (s *Store) ChangeMessage(ctx context.Context, c chat.Change) (chat.Message, bool, error) {
	var (
		out     chat.Message
		changed bool
	)
	what := "change message " + c.MessageID
	done := s.changesDone.take() // written by this transaction rather than one of their own
	err := s.write(ctx, what, func(tx *sql.Tx) error {
		if err := s.clearChangesPending(ctx, tx, done); err != nil {
			return err
		}
		var (
			roomID, typ     string
			deleted, pinned int64
		)
		err := s.txQueryRow(ctx, tx, sqlChangeState, c.MessageID).Scan(&roomID, &typ, &deleted, &pinned)
		if err == nil && roomID != c.RoomID {
			err = sql.ErrNoRows
		}
		if err != nil {
			return fmt.Errorf("sqlite: %s: %w", what, notFound(err))
		}
		if changed, err = s.applyChange(ctx, tx, c, deleted > 0, pinned > 0); err != nil {
			return fmt.Errorf("sqlite: %s: %w", what, err)
		}
		if changed {
			var rev int64
			if err := s.txQueryRow(ctx, tx, sqlNextRev, c.RoomID).Scan(&rev); err != nil {
				return fmt.Errorf("sqlite: %s: take rev: %w", what, err)
			}
			if _, err := s.txExec(ctx, tx, sqlSetRev, rev, millis(c.At), c.MessageID); err != nil {
				return fmt.Errorf("sqlite: %s: set rev: %w", what, err)
			}
		}
		out, err = s.messageIn(ctx, tx, c.RoomID, c.MessageID, true)
		return err
	})
	if err != nil {
		s.requeueChangesDone(done) // not written: the next write takes them
		return chat.Message{}, false, err
	}
	return out, changed, nil
}

// applyChange makes the change of c in tx and reports whether anything changed.
func (s *Store) applyChange(ctx context.Context, tx *sql.Tx, c chat.Change, deleted, pinned bool) (bool, error) {
	if deleted && c.Kind != chat.ChangeDelete && c.Kind != chat.ChangeUnreact && c.Kind != chat.ChangeUnpin {
		return false, chat.ErrMessageDeleted
	}
	switch c.Kind {
	case chat.ChangeEdit:
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET text = ?, mentions = ?, edited_at = ? WHERE id = ?`,
			c.Text, joinIDs(c.Mentions), millis(c.At), c.MessageID); err != nil {
			return false, err
		}
		return true, s.setMentions(ctx, tx, c.MessageID, c.Mentions)
	case chat.ChangeDelete:
		if deleted {
			return false, nil
		}
		// The tombstone keeps id, seq, sender, type and times; whatever it said goes.
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET text = '', media_id = '', reply_to_id = '',
			mentions = '', pinned_at = 0, pinned_by = '', deleted_at = ? WHERE id = ?`, millis(c.At), c.MessageID); err != nil {
			return false, err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM reactions WHERE message_id = ?`, c.MessageID); err != nil {
			return false, err
		}
		return true, s.setMentions(ctx, tx, c.MessageID, nil)
	case chat.ChangeReact:
		var emojiUsed, mine bool
		if err := s.txQueryRow(ctx, tx, sqlHasReaction, c.MessageID, c.Emoji, c.MessageID, c.Emoji, c.UserID).Scan(&emojiUsed, &mine); err != nil {
			return false, err
		}
		if mine {
			return false, nil
		}
		if !emojiUsed {
			var n int
			if err := s.txQueryRow(ctx, tx, sqlEmojiCount, c.MessageID).Scan(&n); err != nil {
				return false, err
			}
			if n >= c.MaxEmoji {
				return false, chat.ErrTooManyReactions
			}
		}
		_, err := s.txExec(ctx, tx, sqlInsertReaction, c.MessageID, c.Emoji, c.UserID)
		return err == nil, err
	case chat.ChangeUnreact:
		res, err := s.txExec(ctx, tx, sqlDeleteReaction, c.MessageID, c.Emoji, c.UserID)
		if err != nil {
			return false, err
		}
		n, err := res.RowsAffected()
		return n > 0, err
	case chat.ChangePin:
		if pinned {
			return false, nil
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM messages WHERE room_id = ? AND pinned_at > 0`, c.RoomID).Scan(&n); err != nil {
			return false, err
		}
		if n >= c.MaxPins {
			return false, chat.ErrTooManyPins
		}
		_, err := tx.ExecContext(ctx, `UPDATE messages SET pinned_at = ?, pinned_by = ? WHERE id = ?`, millis(c.At), c.UserID, c.MessageID)
		return err == nil, err
	case chat.ChangeUnpin:
		if !pinned {
			return false, nil
		}
		_, err := tx.ExecContext(ctx, `UPDATE messages SET pinned_at = 0, pinned_by = '' WHERE id = ?`, c.MessageID)
		return err == nil, err
	}
	return false, fmt.Errorf("unknown change kind %d", c.Kind)
}

// setMentions replaces the message's rows of the mentions table.
func (s *Store) setMentions(ctx context.Context, tx *sql.Tx, messageID string, userIDs []string) error {
	var roomID string
	var seq int64
	if err := tx.QueryRowContext(ctx, `SELECT room_id, seq FROM messages WHERE id = ?`, messageID).Scan(&roomID, &seq); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM mentions WHERE message_id = ?`, messageID); err != nil {
		return err
	}
	for _, uid := range chat.UniqueIDs(userIDs) {
		if _, err := s.txExec(ctx, tx, sqlInsertMention, roomID, uid, seq, messageID); err != nil {
			return err
		}
	}
	return nil
}

// maxChangesPage bounds Changes whatever the caller asks.
const maxChangesPage = 500

// Changes implements chat.MessageChangeStore: a range of the (room_id, rev) index.
func (s *Store) Changes(ctx context.Context, roomID string, afterRev int64, limit int) ([]chat.Message, bool, error) {
	limit = min(max(limit, 1), maxChangesPage)
	var msgs []chat.Message
	err := s.read(ctx, "changes of "+roomID, func(tx *sql.Tx) error {
		var err error
		msgs, err = s.queryMessages(ctx, tx, `SELECT `+messageColumns+messagesFrom+`
			WHERE m.room_id = ? AND m.rev > ? ORDER BY m.rev LIMIT ?`, roomID, max(afterRev, 0), limit+1)
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: changes of %s: %w", roomID, err)
	}
	more := len(msgs) > limit
	if more {
		msgs = msgs[:limit]
	}
	return msgs, more, nil
}

// Pins implements chat.MessageChangeStore: a range of the partial index of pinned messages.
func (s *Store) Pins(ctx context.Context, roomID string) ([]chat.Message, error) {
	var msgs []chat.Message
	err := s.read(ctx, "pins of "+roomID, func(tx *sql.Tx) error {
		var err error
		msgs, err = s.queryMessages(ctx, tx, `SELECT `+messageColumns+messagesFrom+`
			WHERE m.room_id = ? AND m.pinned_at > 0 ORDER BY m.pinned_at DESC, m.rev DESC`, roomID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: pins of %s: %w", roomID, err)
	}
	return msgs, nil
}

// Marking a change published rides on the next write, as marking a created message does
// (outbox.go): a reaction storm would otherwise pay a second write transaction for every
// reaction. The marks wait in memory, keyed by message with the rev published, and are
// written by the next ChangeMessage, or after publishedLinger when none comes. Readers of
// the pending changes leave a waiting mark's message out. A crash in between loses only
// the mark, and the relay publishes the change once more.

// changesDone is the changes marked published whose marks are not written yet.
type changesDone struct {
	mu    sync.Mutex
	revs  map[string]int64 // message id → rev published
	timer *time.Timer
}

// published reports whether the change of the message at rev waits to be marked.
func (c *changesDone) published(id string, rev int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.revs[id]
	return ok && r == rev
}

// take empties the set and returns what it held.
func (c *changesDone) take() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	out := c.revs
	c.revs = nil
	return out
}

const sqlClearChangePending = `UPDATE messages SET change_pending_at = NULL
	WHERE id = ? AND rev = ? AND change_pending_at IS NOT NULL`

// clearChangesPending writes the marks of done in tx.
func (s *Store) clearChangesPending(ctx context.Context, tx *sql.Tx, done map[string]int64) error {
	for id, rev := range done {
		if _, err := s.txExec(ctx, tx, sqlClearChangePending, id, rev); err != nil {
			return fmt.Errorf("sqlite: mark change of %s published: %w", id, err)
		}
	}
	return nil
}

// requeueChangesDone puts back marks whose write did not commit.
func (s *Store) requeueChangesDone(done map[string]int64) {
	for id, rev := range done {
		_ = s.MarkChangePublished(context.Background(), "", id, rev)
	}
}

// MarkChangePublished implements chat.MessageChangeStore; see changesDone.
func (s *Store) MarkChangePublished(ctx context.Context, roomID, messageID string, rev int64) error {
	c := &s.changesDone
	c.mu.Lock()
	if c.revs == nil {
		c.revs = make(map[string]int64)
	}
	if rev > c.revs[messageID] {
		c.revs[messageID] = rev
	}
	full := len(c.revs) >= publishedMax
	if !full && c.timer == nil {
		c.timer = time.AfterFunc(publishedLinger, func() {
			if err := s.flushChangesDone(context.Background()); err != nil {
				s.logger.Warn("sqlite: mark change published", "err", err)
			}
		})
	}
	c.mu.Unlock()
	if full {
		return s.flushChangesDone(ctx)
	}
	return nil
}

// flushChangesDone writes the waiting marks in a write of its own.
func (s *Store) flushChangesDone(ctx context.Context) error {
	done := s.changesDone.take()
	if len(done) == 0 {
		return nil
	}
	// Not put back on failure (as the outbox's marks): the relay publishes those changes
	// once more.
	return s.write(ctx, "mark changes published", func(tx *sql.Tx) error { return s.clearChangesPending(ctx, tx, done) })
}

// PendingChanges implements chat.MessageChangeStore.
func (s *Store) PendingChanges(ctx context.Context, before time.Time, limit int) ([]chat.Message, error) {
	var msgs []chat.Message
	err := s.read(ctx, "pending changes", func(tx *sql.Tx) error {
		var err error
		msgs, err = s.queryMessages(ctx, tx, `SELECT `+messageColumns+messagesFrom+`
			WHERE m.change_pending_at IS NOT NULL AND m.change_pending_at <= ?
			ORDER BY m.change_pending_at, m.id LIMIT ?`, millis(before), limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: pending changes: %w", err)
	}
	return slices.DeleteFunc(msgs, func(m chat.Message) bool { return s.changesDone.published(m.ID, m.Rev) }), nil
}
