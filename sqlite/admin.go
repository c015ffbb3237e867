package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/internal/keyrange"
)

// SetAdmin implements chat.UserAdminStore.
func (s *Store) SetAdmin(ctx context.Context, userID string, admin bool) error {
	res, err := s.w.ExecContext(ctx, `UPDATE users SET admin = ? WHERE id = ?`, admin, userID)
	return affectedOne("set admin "+userID, res, err)
}

// SetSuspended implements chat.UserAdminStore.
func (s *Store) SetSuspended(ctx context.Context, userID string, at *time.Time) (chat.User, error) {
	var v any
	if at != nil {
		v = millis(*at)
	}
	res, err := s.w.ExecContext(ctx, `UPDATE users SET suspended_at = ? WHERE id = ?`, v, userID)
	if err := affectedOne("suspend "+userID, res, err); err != nil {
		return chat.User{}, err
	}
	row := s.w.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, userID)
	u, err := scanUser(row)
	if err != nil {
		return chat.User{}, fmt.Errorf("sqlite: suspend %s: %w", userID, notFound(err))
	}
	return u, nil
}

// ListUsers implements chat.UserAdminStore: a prefix as a range on each key's index, as
// SearchUsers does, and the page's start as a range on the username key.
func (s *Store) ListUsers(ctx context.Context, prefix, after string, limit int) ([]chat.User, bool, error) {
	if limit < 1 {
		return nil, false, fmt.Errorf("sqlite: list users: limit %d, want at least 1", limit)
	}
	key := chat.FoldKey(prefix)
	end, bounded := keyrange.PrefixEnd(key)
	match := `1`
	args := []any{after}
	switch {
	case key != "" && bounded:
		match = `((username_key >= ? AND username_key < ?) OR (display_key >= ? AND display_key < ?))`
		args = append(args, key, end, key, end)
	case key != "": // nothing is past the last rune
		match = `(username_key >= ? OR display_key >= ?)`
		args = append(args, key, key)
	}
	args = append(args, limit+1)
	rows, err := s.r.QueryContext(ctx, `
		SELECT `+userColumns+` FROM users
		WHERE username_key > ? AND `+match+`
		ORDER BY username_key LIMIT ?`, args...)
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: list users: %w", err)
	}
	users, err := scanUsers(rows)
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: list users: %w", err)
	}
	more := len(users) > limit
	return users[:min(len(users), limit)], more, nil
}

// AddAudit implements chat.AuditStore.
func (s *Store) AddAudit(ctx context.Context, e chat.AuditEntry) error {
	_, err := s.w.ExecContext(ctx, `
		INSERT INTO audit (id, actor_id, via, action, target_type, target_id, detail, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.ActorID, e.Via, e.Action, e.TargetType, e.TargetID, e.Detail, millis(e.CreatedAt.Time))
	if err != nil {
		return fmt.Errorf("sqlite: add audit %s: %w", e.Action, err)
	}
	return nil
}

// Audit implements chat.AuditStore.
func (s *Store) Audit(ctx context.Context, before string, limit int) ([]chat.AuditEntry, bool, error) {
	if limit < 1 {
		return nil, false, fmt.Errorf("sqlite: audit: limit %d, want at least 1", limit)
	}
	var (
		rows *sql.Rows
		err  error
	)
	const cols = `SELECT id, actor_id, via, action, target_type, target_id, detail, created_at FROM audit`
	if before == "" {
		rows, err = s.r.QueryContext(ctx, cols+` ORDER BY id DESC LIMIT ?`, limit+1)
	} else {
		rows, err = s.r.QueryContext(ctx, cols+` WHERE id < ? ORDER BY id DESC LIMIT ?`, before, limit+1)
	}
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: audit: %w", err)
	}
	defer rows.Close()
	out := []chat.AuditEntry{}
	for rows.Next() {
		var (
			e  chat.AuditEntry
			at int64
		)
		if err := rows.Scan(&e.ID, &e.ActorID, &e.Via, &e.Action, &e.TargetType, &e.TargetID, &e.Detail, &at); err != nil {
			return nil, false, fmt.Errorf("sqlite: audit: %w", err)
		}
		e.CreatedAt = chat.At(fromMillis(at))
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("sqlite: audit: %w", err)
	}
	more := len(out) > limit
	return out[:min(len(out), limit)], more, nil
}

var (
	_ chat.UserAdminStore = (*Store)(nil)
	_ chat.AuditStore     = (*Store)(nil)
)
