package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// AddRevocations implements chat.RevocationStore.
func (s *Store) AddRevocations(ctx context.Context, rs []chat.Revocation) error {
	if len(rs) == 0 {
		return nil
	}
	return s.write(ctx, "add revocations", func(tx *sql.Tx) error {
		for _, r := range rs {
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO revocations (session_id, user_id, expires_at) VALUES (?, ?, ?)
				ON CONFLICT (session_id) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)`,
				r.SessionID, r.UserID, millis(r.ExpiresAt)); err != nil {
				return fmt.Errorf("sqlite: add revocation of session %s: %w", r.SessionID, err)
			}
		}
		return nil
	})
}

// Revocations implements chat.RevocationStore.
func (s *Store) Revocations(ctx context.Context, now time.Time) ([]chat.Revocation, error) {
	rows, err := s.r.QueryContext(ctx,
		`SELECT session_id, user_id, expires_at FROM revocations WHERE expires_at > ?`, millis(now))
	if err != nil {
		return nil, fmt.Errorf("sqlite: revocations: %w", err)
	}
	defer rows.Close()
	var out []chat.Revocation
	for rows.Next() {
		var r chat.Revocation
		var exp int64
		if err := rows.Scan(&r.SessionID, &r.UserID, &exp); err != nil {
			return nil, fmt.Errorf("sqlite: revocations: %w", err)
		}
		r.ExpiresAt = fromMillis(exp)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: revocations: %w", err)
	}
	return out, nil
}

// PruneRevocations implements chat.RevocationStore.
func (s *Store) PruneRevocations(ctx context.Context, now time.Time) (int64, error) {
	return s.prune(ctx, "prune revocations", `
		DELETE FROM revocations WHERE rowid IN (
			SELECT rowid FROM revocations WHERE expires_at <= ? LIMIT ?)`, millis(now))
}
