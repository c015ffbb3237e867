package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// CreateRoom implements chat.RoomStore. A member id that is not a user gives
// chat.ErrNotFound.
func (s *Store) CreateRoom(ctx context.Context, r chat.Room, directKey string) error {
	var key any // NULL for group rooms, so that they do not collide on the unique key
	if directKey != "" {
		key = directKey
	}
	at := millis(r.CreatedAt.Time)
	return s.write(ctx, "create room", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO rooms (id, type, name, description, created_by, direct_key, last_seq, created_at, active_at)
			VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)`,
			r.ID, r.Type, r.Name, r.Description, r.CreatedBy, key, at, at)
		if isUnique(err) {
			return fmt.Errorf("sqlite: create room %s: %w", r.ID, chat.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("sqlite: create room %s: %w", r.ID, err)
		}
		for _, uid := range chat.UniqueIDs(r.MemberIDs) {
			role := chat.RoleMember
			if r.Type == chat.RoomGroup && uid == r.CreatedBy {
				role = chat.RoleOwner
			}
			_, err := tx.ExecContext(ctx, `
				INSERT INTO memberships (room_id, user_id, last_read_seq, joined_at, role)
				VALUES (?, ?, 0, ?, ?)`, r.ID, uid, at, role)
			if isForeignKey(err) {
				return fmt.Errorf("sqlite: create room %s: user %s: %w", r.ID, uid, chat.ErrNotFound)
			}
			if err != nil {
				return fmt.Errorf("sqlite: create room %s: add %s: %w", r.ID, uid, err)
			}
		}
		return nil
	})
}

const roomColumns = `r.id, r.type, r.name, r.last_seq, r.created_at, r.last_rev, r.description, r.created_by,
	r.retention_days, r.expired_through_seq`

// Room implements chat.RoomStore.
func (s *Store) Room(ctx context.Context, id string) (chat.Room, error) {
	return s.roomWhere(ctx, "room "+id, `r.id = ?`, id)
}

// DirectRoom implements chat.RoomStore.
func (s *Store) DirectRoom(ctx context.Context, directKey string) (chat.Room, error) {
	return s.roomWhere(ctx, "direct room "+directKey, `r.direct_key = ?`, directKey)
}

func (s *Store) roomWhere(ctx context.Context, what, where string, arg any) (chat.Room, error) {
	var r chat.Room
	err := s.read(ctx, what, func(tx *sql.Tx) error {
		var at int64
		err := tx.QueryRowContext(ctx, `SELECT `+roomColumns+` FROM rooms r WHERE `+where, arg).
			Scan(&r.ID, &r.Type, &r.Name, &r.LastSeq, &at, &r.LastRev, &r.Description, &r.CreatedBy, nullDays{&r.RetentionDays}, &r.ExpiredThroughSeq)
		if err != nil {
			return fmt.Errorf("sqlite: %s: %w", what, notFound(err))
		}
		r.CreatedAt = chat.At(fromMillis(at))
		ids, err := memberIDs(ctx, tx, r.ID)
		if err != nil {
			return fmt.Errorf("sqlite: %s: %w", what, err)
		}
		r.MemberIDs = ids
		return nil
	})
	return r, err
}

func memberIDs(ctx context.Context, tx *sql.Tx, roomID string) ([]string, error) {
	rows, err := tx.QueryContext(ctx,
		`SELECT user_id FROM memberships WHERE room_id = ? ORDER BY joined_at, user_id`, roomID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// UserRooms implements chat.RoomStore. The last message is found through the room's
// last_seq on the (room_id, seq) index, not by scanning the room's messages.
func (s *Store) UserRooms(ctx context.Context, userID string, page chat.RoomPage) ([]chat.UserRoom, bool, error) {
	if page.Limit < 1 {
		return nil, false, fmt.Errorf("sqlite: user rooms: limit %d, want at least 1", page.Limit)
	}
	rooms := []chat.UserRoom{}
	more := false
	err := s.read(ctx, "user rooms", func(tx *sql.Tx) error {
		after, args := "", []any{userID}
		if !page.After.IsZero() {
			at := page.After.ActiveAt.UnixMilli()
			after = ` AND (r.active_at < ? OR (r.active_at = ? AND r.id < ?))`
			args = append(args, at, at, page.After.ID)
		}
		// One row beyond the limit says whether more follow. The member count comes from
		// the room row, so that the page can stop before its members' ids
		// grow past the bound (member_count is kept by triggers).
		args = append(args, page.Limit+1)
		rows, err := tx.QueryContext(ctx, `
			SELECT `+roomColumns+`, me.last_read_seq, me.muted,
			       r.member_count, r.active_at,
			       m.id, m.seq, m.sender_id, m.client_msg_id, m.type, m.text, m.media_id, m.created_at,
			       m.rev, m.edited_at, m.deleted_at
			FROM memberships me
			JOIN rooms r ON r.id = me.room_id
			LEFT JOIN messages m ON m.room_id = r.id AND m.seq = r.last_seq
			WHERE me.user_id = ?`+after+`
			ORDER BY r.active_at DESC, r.id DESC
			LIMIT ?`, args...)
		if err != nil {
			return fmt.Errorf("sqlite: user rooms: %w", err)
		}
		defer rows.Close()
		members := 0
		for rows.Next() {
			var (
				ur     chat.UserRoom
				at     int64
				count  int
				active int64
				msgID  sql.NullString
				m      chat.Message
				msgAt  sql.NullInt64
				seq    sql.NullInt64
				cols   [5]sql.NullString
				extra  [3]sql.NullInt64 // rev, edited_at, deleted_at
			)
			if err := rows.Scan(&ur.ID, &ur.Type, &ur.Name, &ur.LastSeq, &at, &ur.LastRev, &ur.Description, &ur.CreatedBy, nullDays{&ur.RetentionDays}, &ur.ExpiredThroughSeq, &ur.LastReadSeq, &ur.MutedByUser,
				&count, &active, &msgID, &seq, &cols[0], &cols[1], &cols[2], &cols[3], &cols[4], &msgAt,
				&extra[0], &extra[1], &extra[2]); err != nil {
				return fmt.Errorf("sqlite: user rooms: %w", err)
			}
			if len(rooms) == page.Limit || (len(rooms) > 0 && page.MaxMembers > 0 && members+count > page.MaxMembers) {
				more = true
				break
			}
			members += count
			ur.ActiveAt = fromMillis(active)
			ur.CreatedAt = chat.At(fromMillis(at))
			ur.MemberIDs = make([]string, 0, count)
			if msgID.Valid {
				m = chat.Message{
					ID: msgID.String, RoomID: ur.ID, Seq: seq.Int64, SenderID: cols[0].String,
					ClientMsgID: cols[1].String, Type: cols[2].String, Text: cols[3].String,
					MediaID: cols[4].String, CreatedAt: chat.At(fromMillis(msgAt.Int64)),
					Rev: extra[0].Int64, EditedAt: timeOrNil(extra[1].Int64), DeletedAt: timeOrNil(extra[2].Int64),
				}
				ur.LastMessage = &m
			}
			rooms = append(rooms, ur)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlite: user rooms: %w", err)
		}
		rows.Close()
		if len(rooms) == 0 {
			return nil
		}
		return fillMembers(ctx, tx, rooms)
	})
	if err != nil {
		return nil, false, err
	}
	return rooms, more, nil
}

// fillMembers sets each room's MemberIDs: every room's members in one query rather than
// one per room.
func fillMembers(ctx context.Context, tx *sql.Tx, rooms []chat.UserRoom) error {
	index := make(map[string]int, len(rooms))
	ids := make([]any, len(rooms))
	for i, r := range rooms {
		index[r.ID] = i
		ids[i] = r.ID
	}
	marks := strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",")
	rows, err := tx.QueryContext(ctx, `
		SELECT room_id, user_id FROM memberships
		WHERE room_id IN (`+marks+`)
		ORDER BY room_id, joined_at, user_id`, ids...)
	if err != nil {
		return fmt.Errorf("sqlite: user rooms: members: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var roomID, uid string
		if err := rows.Scan(&roomID, &uid); err != nil {
			return fmt.Errorf("sqlite: user rooms: members: %w", err)
		}
		rooms[index[roomID]].MemberIDs = append(rooms[index[roomID]].MemberIDs, uid)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: user rooms: members: %w", err)
	}
	return nil
}

// UserRoomIDs implements chat.RoomStore.
func (s *Store) UserRoomIDs(ctx context.Context, userID string) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT room_id FROM memberships WHERE user_id = ?`, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: user room ids: %w", err)
	}
	defer rows.Close()
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlite: user room ids: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: user room ids: %w", err)
	}
	return ids, nil
}

// UserRoomSeqs implements chat.RoomStore.
func (s *Store) UserRoomSeqs(ctx context.Context, userID string) (map[string]int64, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT r.id, r.last_seq FROM memberships m JOIN rooms r ON r.id = m.room_id WHERE m.user_id = ?`, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: user room seqs: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var seq int64
		if err := rows.Scan(&id, &seq); err != nil {
			return nil, fmt.Errorf("sqlite: user room seqs: %w", err)
		}
		out[id] = seq
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: user room seqs: %w", err)
	}
	return out, nil
}

const memberColumns = `user_id, last_read_seq, last_delivered_seq, muted, joined_at, role`

func scanMember(row scanner) (chat.Member, error) {
	var (
		m  chat.Member
		at int64
	)
	if err := row.Scan(&m.UserID, &m.LastReadSeq, &m.LastDeliveredSeq, &m.Muted, &at, &m.Role); err != nil {
		return chat.Member{}, err
	}
	m.JoinedAt = chat.At(fromMillis(at))
	return m, nil
}

// Members implements chat.RoomStore. An unknown room has no members.
func (s *Store) Members(ctx context.Context, roomID string) ([]chat.Member, error) {
	rows, err := s.r.QueryContext(ctx,
		`SELECT `+memberColumns+` FROM memberships WHERE room_id = ? ORDER BY joined_at, user_id`, roomID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: members of %s: %w", roomID, err)
	}
	defer rows.Close()
	members := []chat.Member{}
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: members of %s: %w", roomID, err)
		}
		members = append(members, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: members of %s: %w", roomID, err)
	}
	return members, nil
}

// unreadCountSQL counts a message's unread members: the room's member count less the members
// whose cursor is at or past seq (a short index range: the sender and the viewers the
// message advanced) and less the sender when behind. Counting the members behind seq
// instead scans the whole room, which was a tenth of the server's CPU in a 1,000-member
// broadcast. Arguments: room id, seq, sender id.
const unreadCountSQL = `
		SELECT r.member_count
			- (SELECT count(*) FROM memberships WHERE room_id = r.id AND last_read_seq >= ?2)
			- (SELECT count(*) FROM memberships WHERE room_id = r.id AND user_id = ?3 AND last_read_seq < ?2)
		FROM rooms r WHERE r.id = ?1`

// UnreadCount implements chat.CursorStore (unreadCountSQL). An unknown room has no unread
// members.
func (s *Store) UnreadCount(ctx context.Context, roomID, senderID string, seq int64) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, unreadCountSQL, roomID, seq, senderID).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite: unread count of %s: %w", roomID, err)
	}
	return n, nil
}

// Member implements chat.RoomStore.
func (s *Store) Member(ctx context.Context, roomID, userID string) (chat.Member, error) {
	m, err := scanMember(s.r.QueryRowContext(ctx,
		`SELECT `+memberColumns+` FROM memberships WHERE room_id = ? AND user_id = ?`, roomID, userID))
	if err != nil {
		return chat.Member{}, fmt.Errorf("sqlite: member %s of %s: %w", userID, roomID, notFound(err))
	}
	return m, nil
}

// AddMembers implements chat.RoomStore. An unknown room, or a user id that is not a
// user, gives chat.ErrNotFound and adds no one. Users banned from the room are not added.
func (s *Store) AddMembers(ctx context.Context, roomID string, userIDs []string, at time.Time) ([]string, error) {
	added := []string{}
	err := s.write(ctx, "add members", func(tx *sql.Tx) error {
		// The cursor is read inside the write transaction, so no message can slip in
		// between reading last_seq and joining: the new member has read exactly the
		// history before them.
		var lastSeq int64
		err := tx.QueryRowContext(ctx, `SELECT last_seq FROM rooms WHERE id = ?`, roomID).Scan(&lastSeq)
		if err != nil {
			return fmt.Errorf("sqlite: add members to %s: %w", roomID, notFound(err))
		}
		for _, uid := range chat.UniqueIDs(userIDs) {
			// A user banned from the room is skipped in the same write: a ban racing
			// the add cannot be undone by it.
			res, err := tx.ExecContext(ctx, `
				INSERT INTO memberships (room_id, user_id, last_read_seq, last_delivered_seq, joined_at)
				SELECT ?1, ?2, ?3, ?3, ?4
				WHERE NOT EXISTS (SELECT 1 FROM bans WHERE room_id = ?1 AND user_id = ?2)
				ON CONFLICT (room_id, user_id) DO NOTHING`, roomID, uid, lastSeq, millis(at))
			if isForeignKey(err) {
				return fmt.Errorf("sqlite: add members to %s: user %s: %w", roomID, uid, chat.ErrNotFound)
			}
			if err != nil {
				return fmt.Errorf("sqlite: add members to %s: %w", roomID, err)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				added = append(added, uid)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return added, nil
}

// RemoveMember implements chat.RoomStore: the membership goes and, when it was the
// owner's, ownership passes in the same transaction.
func (s *Store) RemoveMember(ctx context.Context, roomID, userID string) error {
	return s.write(ctx, "remove member", func(tx *sql.Tx) error {
		removed, err := removeMember(ctx, tx, roomID, userID)
		if err == nil && !removed {
			err = chat.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("sqlite: remove member %s of %s: %w", userID, roomID, err)
		}
		return nil
	})
}

// removeMember deletes a membership in tx and, when it was the owner's, makes the
// earliest admin, else the earliest member, the owner. removed is false when there was no
// membership.
func removeMember(ctx context.Context, tx *sql.Tx, roomID, userID string) (removed bool, err error) {
	var role string
	err = tx.QueryRowContext(ctx,
		`DELETE FROM memberships WHERE room_id = ? AND user_id = ? RETURNING role`, roomID, userID).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil || role != chat.RoleOwner {
		return err == nil, err
	}
	_, err = tx.ExecContext(ctx, `
		UPDATE memberships SET role = 'owner'
		WHERE room_id = ?1 AND user_id = (
			SELECT user_id FROM memberships WHERE room_id = ?1
			ORDER BY role <> 'admin', joined_at, user_id LIMIT 1)`, roomID)
	return err == nil, err
}

// SetMuted implements chat.RoomStore.
func (s *Store) SetMuted(ctx context.Context, roomID, userID string, muted bool) error {
	res, err := s.w.ExecContext(ctx,
		`UPDATE memberships SET muted = ? WHERE room_id = ? AND user_id = ?`, muted, roomID, userID)
	return affectedOne("set muted of "+userID+" in "+roomID, res, err)
}

// AdvanceReadCursor implements chat.RoomStore. One statement does the whole rule (never
// back, never past the room's last seq, the delivery cursor never behind), so concurrent
// calls cannot undo each other. Both assignments see the row's old values, hence the
// read cursor's new value spelt out twice.
func (s *Store) AdvanceReadCursor(ctx context.Context, roomID, userID string, seq int64) (int64, error) {
	var cursor int64
	err := s.w.QueryRowContext(ctx, `
		UPDATE memberships
		SET last_read_seq = max(last_read_seq, min(?1, (SELECT last_seq FROM rooms WHERE id = room_id))),
			last_delivered_seq = max(last_delivered_seq, last_read_seq, min(?1, (SELECT last_seq FROM rooms WHERE id = room_id)))
		WHERE room_id = ?2 AND user_id = ?3
		RETURNING last_read_seq`, seq, roomID, userID).Scan(&cursor)
	if err != nil {
		return 0, fmt.Errorf("sqlite: advance read cursor of %s in %s: %w", userID, roomID, notFound(err))
	}
	return cursor, nil
}

// affectedOne turns an Exec result that touched no row (an UPDATE or DELETE that matched
// nothing) into chat.ErrNotFound.
func affectedOne(what string, res sql.Result, err error) error {
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite: %s: %w", what, chat.ErrNotFound)
	}
	return nil
}

// UnreadTotal implements chat.CursorStore.
func (s *Store) UnreadTotal(ctx context.Context, userID string) (int64, error) {
	var n int64
	err := s.r.QueryRowContext(ctx, `
		SELECT COALESCE(SUM(MAX(r.last_seq - m.last_read_seq, 0)), 0)
		FROM memberships m JOIN rooms r ON r.id = m.room_id
		WHERE m.user_id = ?`, userID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlite: unread total: %w", err)
	}
	return n, nil
}

// nullDays scans a nullable day count into a *int (NULL: nil).
type nullDays struct{ p **int }

func (d nullDays) Scan(v any) error {
	var n sql.NullInt64
	if err := n.Scan(v); err != nil {
		return err
	}
	*d.p = nil
	if n.Valid {
		days := int(n.Int64)
		*d.p = &days
	}
	return nil
}
