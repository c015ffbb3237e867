package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// AdvanceDeliveredCursor implements chat.DeliveryStore. The update matches only when the
// cursor moves (never back, never past the room's last seq), in one statement, so
// concurrent calls cannot undo each other; when it matches nothing, a read tells a cursor
// already there from a user who is not a member.
func (s *Store) AdvanceDeliveredCursor(ctx context.Context, roomID, userID string, seq int64) (int64, bool, error) {
	what := fmt.Sprintf("advance delivery cursor of %s in %s", userID, roomID)
	var cursor int64
	err := s.w.QueryRowContext(ctx, `
		UPDATE memberships
		SET last_delivered_seq = min(?1, (SELECT last_seq FROM rooms WHERE id = room_id))
		WHERE room_id = ?2 AND user_id = ?3
			AND last_delivered_seq < min(?1, (SELECT last_seq FROM rooms WHERE id = room_id))
		RETURNING last_delivered_seq`, seq, roomID, userID).Scan(&cursor)
	if err == nil {
		return cursor, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, false, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	err = s.w.QueryRowContext(ctx, `SELECT last_delivered_seq FROM memberships WHERE room_id = ? AND user_id = ?`,
		roomID, userID).Scan(&cursor)
	if err != nil {
		return 0, false, fmt.Errorf("sqlite: %s: %w", what, notFound(err))
	}
	return cursor, false, nil
}

// undeliveredCountSQL is unreadCountSQL for delivery cursors: the member count less the
// short range of memberships_delivered at or past seq, less the sender when behind.
// Arguments: room id, seq, sender id.
const undeliveredCountSQL = `
		SELECT r.member_count
			- (SELECT count(*) FROM memberships WHERE room_id = r.id AND last_delivered_seq >= ?2)
			- (SELECT count(*) FROM memberships WHERE room_id = r.id AND user_id = ?3 AND last_delivered_seq < ?2)
		FROM rooms r WHERE r.id = ?1`

// UndeliveredCount implements chat.DeliveryStore (undeliveredCountSQL). An unknown room has
// no undelivered members.
func (s *Store) UndeliveredCount(ctx context.Context, roomID, senderID string, seq int64) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, undeliveredCountSQL, roomID, seq, senderID).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite: undelivered count of %s: %w", roomID, err)
	}
	return n, nil
}
