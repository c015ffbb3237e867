package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/chatchat/chatchat/chat"
)

var _ chat.OutboxStore = (*Store)(nil)

// Marking a message published does not take a write transaction of its own: on the send
// path that was a fifth of a send's cost. The ids wait in memory and their outbox rows go
// in the next write transaction (every send has one), or after publishedLinger when no
// write comes. Readers of the outbox treat a waiting id as published. A crash in between
// loses only the record, and the relay publishes those messages once more (clients drop
// duplicates by id).
const (
	publishedLinger = 100 * time.Millisecond
	publishedMax    = 512 // waiting ids that force a write of their own
)

// publishedSet is the ids marked published whose rows are not deleted yet.
type publishedSet struct {
	mu    sync.Mutex
	ids   map[string]struct{}
	timer *time.Timer // armed while ids wait and no write has taken them
}

func (p *publishedSet) has(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.ids[id]
	return ok
}

// take empties the set and returns what it held.
func (p *publishedSet) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	out := make([]string, 0, len(p.ids))
	for id := range p.ids {
		out = append(out, id)
	}
	clear(p.ids)
	return out
}

// sqlDeletePublished deletes n messages' outbox rows.
func sqlDeletePublished(n int) string {
	return `DELETE FROM outbox WHERE message_id IN (` + placeholders(n) + `)`
}

// deletePublished deletes the outbox rows of ids in tx.
func (s *Store) deletePublished(ctx context.Context, tx *sql.Tx, ids []string) error {
	for len(ids) > 0 {
		n := min(len(ids), 500) // SQLite's bound on a statement's parameters is higher; this keeps statements small
		if _, err := s.txExec(ctx, tx, sqlDeletePublished(n), anys(nil, ids[:n])...); err != nil {
			return fmt.Errorf("sqlite: mark published: %w", err)
		}
		ids = ids[n:]
	}
	return nil
}

// MarkPublished implements chat.OutboxStore; see publishedLinger.
func (s *Store) MarkPublished(ctx context.Context, roomID, messageID string) error {
	p := &s.done
	p.mu.Lock()
	if p.ids == nil {
		p.ids = make(map[string]struct{})
	}
	p.ids[messageID] = struct{}{}
	full := len(p.ids) >= publishedMax
	if !full && p.timer == nil {
		p.timer = time.AfterFunc(publishedLinger, func() {
			if err := s.flushPublished(context.Background()); err != nil {
				s.logger.Warn("sqlite: outbox: mark published", "err", err)
			}
		})
	}
	p.mu.Unlock()
	if full {
		return s.flushPublished(ctx)
	}
	return nil
}

// requeuePublished puts back ids whose deletion did not commit.
func (s *Store) requeuePublished(ids []string) {
	for _, id := range ids {
		_ = s.MarkPublished(context.Background(), "", id)
	}
}

// flushPublished deletes the waiting ids' rows in a write of its own.
func (s *Store) flushPublished(ctx context.Context) error {
	ids := s.done.take()
	if len(ids) == 0 {
		return nil
	}
	return s.write(ctx, "mark published", func(tx *sql.Tx) error { return s.deletePublished(ctx, tx, ids) })
}

// Pending implements chat.OutboxStore.
func (s *Store) Pending(ctx context.Context, roomID, messageID string) (bool, error) {
	if s.done.has(messageID) {
		return false, nil
	}
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE message_id = ?`, messageID).Scan(&n); err != nil {
		return false, fmt.Errorf("sqlite: pending %s: %w", messageID, err)
	}
	return n > 0, nil
}

// PendingMessages implements chat.OutboxStore: a range of the outbox's time index.
func (s *Store) PendingMessages(ctx context.Context, before time.Time, limit int) ([]chat.Message, error) {
	rows, err := s.r.QueryContext(ctx, `
		SELECT `+messageColumns+` FROM outbox o JOIN messages m ON m.id = o.message_id
		LEFT JOIN messages rt ON rt.id = m.reply_to_id AND m.reply_to_id <> ''
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
		if !s.done.has(m.ID) {
			out = append(out, m)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: pending messages: %w", err)
	}
	return out, nil
}
