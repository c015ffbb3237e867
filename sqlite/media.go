package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/chatchat/chatchat/chat"
)

var (
	_ chat.MediaStore      = (*Store)(nil)
	_ chat.MediaUsageStore = (*Store)(nil)
)

const mediaColumns = `id, room_id, uploader_id, filename, content_type, size, width, height,
	has_thumb, pending, attached, created_at`

// CreateMedia implements chat.MediaStore.
func (s *Store) CreateMedia(ctx context.Context, m chat.Media) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO media (`+mediaColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.RoomID, m.UploaderID, m.Filename, m.ContentType, m.Size, m.Width, m.Height,
		m.HasThumb, m.Pending, m.Attached, millis(m.CreatedAt.Time))
	switch {
	case isUnique(err):
		return fmt.Errorf("sqlite: create media %s: %w", m.ID, chat.ErrConflict)
	case err != nil:
		return fmt.Errorf("sqlite: create media %s: %w", m.ID, err)
	}
	return nil
}

// Media implements chat.MediaStore.
func (s *Store) Media(ctx context.Context, id string) (chat.Media, error) {
	m, err := scanMedia(s.r.QueryRowContext(ctx, `SELECT `+mediaColumns+` FROM media WHERE id = ?`, id))
	if err != nil {
		return chat.Media{}, fmt.Errorf("sqlite: media %s: %w", id, notFound(err))
	}
	return m, nil
}

// UpdateMedia implements chat.MediaStore.
func (s *Store) UpdateMedia(ctx context.Context, m chat.Media) error {
	res, err := s.w.ExecContext(ctx, `UPDATE media SET content_type = ?, size = ?, width = ?,
		height = ?, has_thumb = ?, pending = ? WHERE id = ?`,
		m.ContentType, m.Size, m.Width, m.Height, m.HasThumb, m.Pending, m.ID)
	return affectedOne("update media "+m.ID, res, err)
}

// AttachMedia implements chat.MediaStore.
func (s *Store) AttachMedia(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, `UPDATE media SET attached = 1 WHERE id = ?`, id)
	return affectedOne("attach media "+id, res, err)
}

// DetachMedia implements chat.MediaStore.
func (s *Store) DetachMedia(ctx context.Context, id string) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE media SET attached = 0 WHERE id = ?`, id); err != nil {
		return fmt.Errorf("sqlite: detach media %s: %w", id, err)
	}
	return nil
}

// UnattachedMedia implements chat.MediaStore.
func (s *Store) UnattachedMedia(ctx context.Context, before time.Time, limit int) ([]chat.Media, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+mediaColumns+` FROM media
		WHERE attached = 0 AND created_at < ? ORDER BY created_at, id LIMIT ?`, millis(before), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: unattached media: %w", err)
	}
	defer rows.Close()
	var out []chat.Media
	for rows.Next() {
		m, err := scanMedia(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: unattached media: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: unattached media: %w", err)
	}
	return out, nil
}

// DeleteUnattachedMedia implements chat.MediaStore. One statement on the single writer:
// an AttachMedia either ran before it (and nothing is deleted) or finds no row.
func (s *Store) DeleteUnattachedMedia(ctx context.Context, id string) (bool, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM media WHERE id = ? AND attached = 0`, id)
	if err != nil {
		return false, fmt.Errorf("sqlite: delete media %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlite: delete media %s: %w", id, err)
	}
	return n == 1, nil
}

// MediaUsage implements chat.MediaUsageStore, from the index media_uploader alone.
func (s *Store) MediaUsage(ctx context.Context, uploaderID string, since time.Time) (chat.MediaUsage, error) {
	var (
		u      chat.MediaUsage
		oldest sql.NullInt64
	)
	err := s.r.QueryRowContext(ctx, `SELECT
		coalesce(sum(CASE WHEN created_at >= ?1 THEN 1 END), 0),
		min(CASE WHEN created_at >= ?1 THEN created_at END),
		coalesce(sum(size), 0)
		FROM media WHERE uploader_id = ?2`, millis(since), uploaderID).Scan(&u.Recent, &oldest, &u.Bytes)
	if err != nil {
		return chat.MediaUsage{}, fmt.Errorf("sqlite: media usage of %s: %w", uploaderID, err)
	}
	if oldest.Valid {
		u.OldestRecent = fromMillis(oldest.Int64)
	}
	return u, nil
}

func scanMedia(row interface{ Scan(...any) error }) (chat.Media, error) {
	var (
		m         chat.Media
		createdAt int64
	)
	err := row.Scan(&m.ID, &m.RoomID, &m.UploaderID, &m.Filename, &m.ContentType, &m.Size,
		&m.Width, &m.Height, &m.HasThumb, &m.Pending, &m.Attached, &createdAt)
	m.CreatedAt = chat.At(fromMillis(createdAt))
	return m, err
}
