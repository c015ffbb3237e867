package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/chatchat/chatchat/chat"
)

const reportColumns = `id, room_id, message_id, reporter_id, sender_id, reason, status, action, resolved_by, resolved_at, created_at`

func scanReport(row scanner) (chat.Report, error) {
	var (
		r        chat.Report
		resolved sql.NullInt64
		at       int64
	)
	if err := row.Scan(&r.ID, &r.RoomID, &r.MessageID, &r.ReporterID, &r.SenderID, &r.Reason, &r.Status,
		&r.Action, &r.ResolvedBy, &resolved, &at); err != nil {
		return chat.Report{}, err
	}
	r.ResolvedAt = optionalTime(resolved)
	r.CreatedAt = chat.At(fromMillis(at))
	return r, nil
}

// CreateReport implements chat.ReportStore.
func (s *Store) CreateReport(ctx context.Context, r chat.Report) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO reports (`+reportColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)`,
		r.ID, r.RoomID, r.MessageID, r.ReporterID, r.SenderID, r.Reason, r.Status, r.Action, r.ResolvedBy, millis(r.CreatedAt.Time))
	if err != nil {
		return fmt.Errorf("sqlite: create report: %w", err)
	}
	return nil
}

// Report implements chat.ReportStore.
func (s *Store) Report(ctx context.Context, id string) (chat.Report, error) {
	r, err := scanReport(s.r.QueryRowContext(ctx, `SELECT `+reportColumns+` FROM reports WHERE id = ?`, id))
	if err != nil {
		return chat.Report{}, fmt.Errorf("sqlite: report %s: %w", id, notFound(err))
	}
	return r, nil
}

// Reports implements chat.ReportStore.
func (s *Store) Reports(ctx context.Context, status, before string, limit int) ([]chat.Report, bool, error) {
	if limit < 1 {
		return nil, false, fmt.Errorf("sqlite: reports: limit %d, want at least 1", limit)
	}
	where, args := `1`, []any{}
	if status != "" {
		where, args = `status = ?`, append(args, status)
	}
	if before != "" {
		where, args = where+` AND id < ?`, append(args, before)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+reportColumns+` FROM reports WHERE `+where+` ORDER BY id DESC LIMIT ?`,
		append(args, limit+1)...)
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: reports: %w", err)
	}
	defer rows.Close()
	out := []chat.Report{}
	for rows.Next() {
		r, err := scanReport(rows)
		if err != nil {
			return nil, false, fmt.Errorf("sqlite: reports: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("sqlite: reports: %w", err)
	}
	more := len(out) > limit
	return out[:min(len(out), limit)], more, nil
}

// CountReportsSince implements chat.ReportStore.
func (s *Store) CountReportsSince(ctx context.Context, reporterID string, since time.Time) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM reports WHERE reporter_id = ? AND created_at >= ?`,
		reporterID, millis(since)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlite: count reports: %w", err)
	}
	return n, nil
}

// ResolveReport implements chat.ReportStore: the update only matches an open report, so
// that two administrators resolving at once resolve it once.
func (s *Store) ResolveReport(ctx context.Context, id, action, by string, at time.Time) (chat.Report, bool, error) {
	res, err := s.w.ExecContext(ctx, `
		UPDATE reports SET status = ?, action = ?, resolved_by = ?, resolved_at = ?
		WHERE id = ? AND status = ?`, chat.ReportResolved, action, by, millis(at), id, chat.ReportOpen)
	if err != nil {
		return chat.Report{}, false, fmt.Errorf("sqlite: resolve report %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return chat.Report{}, false, fmt.Errorf("sqlite: resolve report %s: %w", id, err)
	}
	r, err := scanReport(s.w.QueryRowContext(ctx, `SELECT `+reportColumns+` FROM reports WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return chat.Report{}, false, fmt.Errorf("sqlite: resolve report %s: %w", id, chat.ErrNotFound)
	}
	if err != nil {
		return chat.Report{}, false, fmt.Errorf("sqlite: resolve report %s: %w", id, err)
	}
	return r, n == 1, nil
}

var _ chat.ReportStore = (*Store)(nil)
