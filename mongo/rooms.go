package mongo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/chatchat/chatchat/chat"
)

// roomDoc is a room as stored. LastSeq is the seq counter that CreateMessage increments;
// LastMessage is a copy of the message with seq LastMessageSeq, kept so that a room list
// needs no join ($lookup is one of the things the store avoids).
type roomDoc struct {
	ID   string `bson:"_id"`
	Type string `bson:"type"`
	Name string `bson:"name"`
	// Description and CreatedBy are absent from rooms stored before moderation.
	Description string `bson:"description,omitempty"`
	CreatedBy   string `bson:"createdBy,omitempty"`
	DirectKey   string `bson:"directKey"`
	LastSeq     int64  `bson:"lastSeq"`
	// LastRev is the change counter that every create and change increments; rooms
	// stored before revs existed have none and start at 0.
	LastRev   int64         `bson:"lastRev"`
	CreatedAt bson.DateTime `bson:"createdAt"`
	// ActiveAt is the time of the last message, or of creation: it orders room lists.
	ActiveAt       bson.DateTime `bson:"activeAt"`
	LastMessageSeq int64         `bson:"lastMessageSeq"`
	LastMessage    *messageDoc   `bson:"lastMessage,omitempty"`
	// RetentionDays and ExpiredThroughSeq: retention.go; an absent retention is the
	// server's default, an absent expiredThroughSeq 0.
	RetentionDays     *int  `bson:"retentionDays,omitempty"`
	ExpiredThroughSeq int64 `bson:"expiredThroughSeq,omitempty"`
}

func (d roomDoc) room() chat.Room {
	return chat.Room{ID: d.ID, Type: d.Type, Name: d.Name, Description: d.Description, CreatedBy: d.CreatedBy, LastSeq: d.LastSeq, LastRev: d.LastRev, CreatedAt: chat.At(fromDate(d.CreatedAt)), MemberIDs: []string{},
		RetentionDays: d.RetentionDays, ExpiredThroughSeq: d.ExpiredThroughSeq}
}

// memberDoc is one membership with its read and delivery cursors. Its _id is the driver's
// ObjectID; the unique (roomId, userId) index is the key. Memberships stored before
// delivery cursors existed have no lastDeliveredSeq: theirs is their read cursor, which
// is what member() and UndeliveredCount take it to be (no migration rewrites them).
type memberDoc struct {
	RoomID           string        `bson:"roomId"`
	UserID           string        `bson:"userId"`
	LastReadSeq      int64         `bson:"lastReadSeq"`
	LastDeliveredSeq int64         `bson:"lastDeliveredSeq"`
	Muted            bool          `bson:"muted"`
	JoinedAt         bson.DateTime `bson:"joinedAt"`
	// Role is absent from memberships stored before roles: they read as members, and
	// each such group's owner is set once at open (backfillOwners).
	Role string `bson:"role,omitempty"`
}

func (d memberDoc) member() chat.Member {
	role := d.Role
	if role == "" {
		role = chat.RoleMember
	}
	return chat.Member{UserID: d.UserID, Role: role, LastReadSeq: d.LastReadSeq, LastDeliveredSeq: d.delivered(),
		Muted: d.Muted, JoinedAt: chat.At(fromDate(d.JoinedAt))}
}

// delivered is the membership's delivery cursor: never behind its read cursor.
func (d memberDoc) delivered() int64 { return max(d.LastDeliveredSeq, d.LastReadSeq) }

// storedDirectKey is the directKey field of a room. Group rooms get one derived from their
// own id, so that every room has a distinct key and the unique index needs to be neither
// partial nor sparse; the prefixes keep the two kinds from ever colliding.
func storedDirectKey(roomID, directKey string) string {
	if directKey == "" {
		return "group:" + roomID
	}
	return "direct:" + directKey
}

func memberKey(roomID, userID string) bson.D {
	return bson.D{{Key: "roomId", Value: roomID}, {Key: "userId", Value: userID}}
}

// byJoinOrder sorts memberships as the SQLite store does.
func byJoinOrder() bson.D {
	return bson.D{{Key: "joinedAt", Value: 1}, {Key: "userId", Value: 1}}
}

// CreateRoom implements chat.RoomStore. A member id that is not a user gives
// chat.ErrNotFound.
//
// Without transactions the memberships are written first and the room last: until the
// room document exists the memberships are invisible (room look-ups and room lists start
// from the room), so a failure part-way leaves nothing anyone sees, and calling again with
// the same room repairs it. A direct key that is taken fails the room insert; the
// memberships written for it are then removed.
func (s *Store) CreateRoom(ctx context.Context, r chat.Room, directKey string) error {
	what := "create room " + r.ID
	ids := chat.UniqueIDs(r.MemberIDs)
	if err := s.usersExist(ctx, what, ids); err != nil {
		return err
	}
	at := date(r.CreatedAt.Time)
	for _, uid := range ids {
		role := chat.RoleMember
		if r.Type == chat.RoomGroup && uid == r.CreatedBy {
			role = chat.RoleOwner
		}
		_, err := s.memberships().InsertOne(ctx, memberDoc{RoomID: r.ID, UserID: uid, JoinedAt: at, Role: role})
		if err != nil && !mongo.IsDuplicateKeyError(err) { // a duplicate: an earlier attempt's
			return s.fail(ctx, what, err)
		}
	}
	_, err := s.rooms().InsertOne(ctx, roomDoc{
		ID: r.ID, Type: r.Type, Name: r.Name, Description: r.Description, CreatedBy: r.CreatedBy, DirectKey: storedDirectKey(r.ID, directKey),
		CreatedAt: at, ActiveAt: at,
	})
	if mongo.IsDuplicateKeyError(err) {
		// The room id itself may be what exists (a repeated call); only memberships of a
		// room that was never stored are removed.
		n, cerr := s.rooms().CountDocuments(ctx, bson.D{{Key: "_id", Value: r.ID}})
		if cerr == nil && n == 0 {
			if _, derr := s.memberships().DeleteMany(ctx, bson.D{{Key: "roomId", Value: r.ID}}); derr != nil {
				s.logger.Warn("mongo: memberships of a rejected room left behind (invisible)", "room", r.ID, "err", derr)
			}
		}
		return fmt.Errorf("mongo: %s: %w", what, chat.ErrConflict)
	}
	if err != nil {
		return s.fail(ctx, what, err)
	}
	return nil
}

// usersExist returns chat.ErrNotFound unless every id is a user.
func (s *Store) usersExist(ctx context.Context, what string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	n, err := s.users().CountDocuments(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
	if err != nil {
		return s.fail(ctx, what, err)
	}
	if n != int64(len(ids)) {
		return fmt.Errorf("mongo: %s: a member is not a user: %w", what, chat.ErrNotFound)
	}
	return nil
}

// Room implements chat.RoomStore.
func (s *Store) Room(ctx context.Context, id string) (chat.Room, error) {
	return s.roomWhere(ctx, "room "+id, bson.D{{Key: "_id", Value: id}})
}

// DirectRoom implements chat.RoomStore.
func (s *Store) DirectRoom(ctx context.Context, directKey string) (chat.Room, error) {
	if directKey == "" {
		return chat.Room{}, fmt.Errorf("mongo: direct room: empty key: %w", chat.ErrNotFound)
	}
	return s.roomWhere(ctx, "direct room "+directKey, bson.D{{Key: "directKey", Value: storedDirectKey("", directKey)}})
}

func (s *Store) roomWhere(ctx context.Context, what string, filter bson.D) (chat.Room, error) {
	var d roomDoc
	err := s.rooms().FindOne(ctx, filter, options.FindOne().SetProjection(bson.D{{Key: "lastMessage", Value: 0}})).Decode(&d)
	if err != nil {
		return chat.Room{}, s.notFound(ctx, what, err)
	}
	r := d.room()
	members, err := s.findMembers(ctx, what, bson.D{{Key: "roomId", Value: r.ID}})
	if err != nil {
		return chat.Room{}, err
	}
	for _, m := range members {
		r.MemberIDs = append(r.MemberIDs, m.UserID)
	}
	return r, nil
}

func (s *Store) findMembers(ctx context.Context, what string, filter bson.D) ([]memberDoc, error) {
	cur, err := s.memberships().Find(ctx, filter, options.Find().SetSort(byJoinOrder()))
	if err != nil {
		return nil, s.fail(ctx, what+": members", err)
	}
	var docs []memberDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, s.fail(ctx, what+": members", err)
	}
	return docs, nil
}

// UserRooms implements chat.RoomStore: four queries, whatever the number of rooms — the
// user's memberships, one page of their rooms, the page's member counts, and the page's
// memberships (no $lookup, which DocumentDB-safe code avoids).
func (s *Store) UserRooms(ctx context.Context, userID string, page chat.RoomPage) ([]chat.UserRoom, bool, error) {
	if page.Limit < 1 {
		return nil, false, fmt.Errorf("mongo: user rooms: limit %d, want at least 1", page.Limit)
	}
	what := "user rooms of " + userID
	mine, err := s.findMembers(ctx, what, bson.D{{Key: "userId", Value: userID}})
	if err != nil || len(mine) == 0 {
		return []chat.UserRoom{}, false, err
	}
	me := make(map[string]memberDoc, len(mine))
	ids := make([]string, 0, len(mine))
	for _, m := range mine {
		ids = append(ids, m.RoomID)
		me[m.RoomID] = m
	}
	// Most recently active first; ties by id, newest first, as ids are time-ordered.
	filter := bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}
	if !page.After.IsZero() {
		at := bson.NewDateTimeFromTime(page.After.ActiveAt)
		filter = append(filter, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "activeAt", Value: bson.D{{Key: "$lt", Value: at}}}},
			bson.D{{Key: "activeAt", Value: at}, {Key: "_id", Value: bson.D{{Key: "$lt", Value: page.After.ID}}}},
		}})
	}
	cur, err := s.rooms().Find(ctx, filter, options.Find().
		SetSort(bson.D{{Key: "activeAt", Value: -1}, {Key: "_id", Value: -1}}).
		SetLimit(int64(page.Limit)+1))
	if err != nil {
		return nil, false, s.fail(ctx, what, err)
	}
	var docs []roomDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, false, s.fail(ctx, what, err)
	}
	more := len(docs) > page.Limit
	docs = docs[:min(len(docs), page.Limit)]
	if len(docs) == 0 {
		return []chat.UserRoom{}, false, nil
	}
	pageIDs := make([]string, len(docs))
	for i, d := range docs {
		pageIDs[i] = d.ID
	}
	if page.MaxMembers > 0 {
		counts, err := s.memberCounts(ctx, what, pageIDs)
		if err != nil {
			return nil, false, err
		}
		total := 0
		for i, d := range docs {
			if i > 0 && total+counts[d.ID] > page.MaxMembers {
				docs, pageIDs, more = docs[:i], pageIDs[:i], true
				break
			}
			total += counts[d.ID]
		}
	}
	all, err := s.findMembers(ctx, what, bson.D{{Key: "roomId", Value: bson.D{{Key: "$in", Value: pageIDs}}}})
	if err != nil {
		return nil, false, err
	}
	memberIDs := map[string][]string{}
	for _, m := range all {
		memberIDs[m.RoomID] = append(memberIDs[m.RoomID], m.UserID)
	}
	rooms := make([]chat.UserRoom, 0, len(docs))
	for _, d := range docs {
		ur := chat.UserRoom{Room: d.room(), LastReadSeq: me[d.ID].LastReadSeq, MutedByUser: me[d.ID].Muted,
			ActiveAt: d.ActiveAt.Time()}
		ur.MemberIDs = []string{}
		if ids := memberIDs[d.ID]; ids != nil {
			ur.MemberIDs = ids
		}
		if d.LastMessage != nil && d.LastMessageSeq > 0 {
			m := d.LastMessage.message()
			ur.LastMessage = &m
		}
		rooms = append(rooms, ur)
	}
	return rooms, more, nil
}

// memberCounts returns how many members each of the rooms has, in one query.
func (s *Store) memberCounts(ctx context.Context, what string, roomIDs []string) (map[string]int, error) {
	cur, err := s.memberships().Aggregate(ctx, mongo.Pipeline{
		{{Key: "$match", Value: bson.D{{Key: "roomId", Value: bson.D{{Key: "$in", Value: roomIDs}}}}}},
		{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$roomId"}, {Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}}}}},
	})
	if err != nil {
		return nil, s.fail(ctx, what+": member counts", err)
	}
	var rows []struct {
		ID string `bson:"_id"`
		N  int    `bson:"n"`
	}
	if err := cur.All(ctx, &rows); err != nil {
		return nil, s.fail(ctx, what+": member counts", err)
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.ID] = r.N
	}
	return out, nil
}

// UserRoomIDs implements chat.RoomStore. Memberships whose room was never stored (see
// CreateRoom) are left out.
func (s *Store) UserRoomIDs(ctx context.Context, userID string) ([]string, error) {
	seqs, err := s.UserRoomSeqs(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(seqs))
	for id := range seqs {
		out = append(out, id)
	}
	return out, nil
}

// UserRoomSeqs implements chat.RoomStore: the user's memberships, then their rooms' seq
// counters (no $lookup, which DocumentDB-safe code avoids).
func (s *Store) UserRoomSeqs(ctx context.Context, userID string) (map[string]int64, error) {
	what := "user room seqs of " + userID
	mine, err := s.findMembers(ctx, what, bson.D{{Key: "userId", Value: userID}})
	if err != nil || len(mine) == 0 {
		return map[string]int64{}, err
	}
	ids := make([]string, 0, len(mine))
	for _, m := range mine {
		ids = append(ids, m.RoomID)
	}
	cur, err := s.rooms().Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: "lastSeq", Value: 1}}))
	if err != nil {
		return nil, s.fail(ctx, what, err)
	}
	var docs []struct {
		ID      string `bson:"_id"`
		LastSeq int64  `bson:"lastSeq"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, s.fail(ctx, what, err)
	}
	out := make(map[string]int64, len(docs))
	for _, d := range docs {
		out[d.ID] = d.LastSeq
	}
	return out, nil
}

// Members implements chat.RoomStore. An unknown room has no members.
func (s *Store) Members(ctx context.Context, roomID string) ([]chat.Member, error) {
	docs, err := s.findMembers(ctx, "members of "+roomID, bson.D{{Key: "roomId", Value: roomID}})
	if err != nil {
		return nil, err
	}
	out := make([]chat.Member, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.member())
	}
	return out, nil
}

// Member implements chat.RoomStore.
func (s *Store) Member(ctx context.Context, roomID, userID string) (chat.Member, error) {
	var d memberDoc
	if err := s.memberships().FindOne(ctx, memberKey(roomID, userID)).Decode(&d); err != nil {
		return chat.Member{}, s.notFound(ctx, fmt.Sprintf("member %s of %s", userID, roomID), err)
	}
	return d.member(), nil
}

// AddMembers implements chat.RoomStore. An unknown room, or a user id that is not a user,
// gives chat.ErrNotFound and adds no one.
//
// The room's last seq is read before the memberships are written, with no transaction
// around the two: a message stored in between counts as unread for the new member, which
// errs on the side of showing a message rather than hiding it.
func (s *Store) AddMembers(ctx context.Context, roomID string, userIDs []string, at time.Time) ([]string, error) {
	what := "add members to " + roomID
	lastSeq, err := s.lastSeq(ctx, what, roomID)
	if err != nil {
		return nil, err
	}
	ids := chat.UniqueIDs(userIDs)
	if err := s.usersExist(ctx, what, ids); err != nil {
		return nil, err
	}
	added := []string{}
	for _, uid := range ids {
		_, err := s.memberships().InsertOne(ctx, memberDoc{RoomID: roomID, UserID: uid, LastReadSeq: lastSeq, LastDeliveredSeq: lastSeq, JoinedAt: date(at), Role: chat.RoleMember})
		switch {
		case mongo.IsDuplicateKeyError(err): // already a member
		case err != nil:
			return nil, s.fail(ctx, what, err)
		default:
			added = append(added, uid)
		}
	}
	return s.dropBanned(ctx, what, roomID, added)
}

// dropBanned removes again the memberships just added of users banned from the room. The
// bans are read after the memberships are written, and Ban writes the ban before it
// removes the membership: whichever order an add and a ban of one user interleave in, one
// of them removes the membership, so a ban is never undone by a concurrent add.
func (s *Store) dropBanned(ctx context.Context, what, roomID string, added []string) ([]string, error) {
	if len(added) == 0 {
		return added, nil
	}
	banned, err := s.Banned(ctx, roomID, added)
	if err != nil || len(banned) == 0 {
		return added, err
	}
	for _, uid := range banned {
		if _, err := s.removeMember(ctx, what, roomID, uid); err != nil {
			return nil, err
		}
	}
	return slices.DeleteFunc(added, func(id string) bool { return slices.Contains(banned, id) }), nil
}

// lastSeq returns the room's seq counter, or chat.ErrNotFound.
func (s *Store) lastSeq(ctx context.Context, what, roomID string) (int64, error) {
	var d struct {
		LastSeq int64 `bson:"lastSeq"`
	}
	err := s.rooms().FindOne(ctx, bson.D{{Key: "_id", Value: roomID}},
		options.FindOne().SetProjection(bson.D{{Key: "lastSeq", Value: 1}})).Decode(&d)
	if err != nil {
		return 0, s.notFound(ctx, what, err)
	}
	return d.LastSeq, nil
}

// RemoveMember implements chat.RoomStore. See removeMember for the owner's.
func (s *Store) RemoveMember(ctx context.Context, roomID, userID string) error {
	what := fmt.Sprintf("remove member %s of %s", userID, roomID)
	removed, err := s.removeMember(ctx, what, roomID, userID)
	if err != nil {
		return err
	}
	if !removed {
		return fmt.Errorf("mongo: %s: %w", what, chat.ErrNotFound)
	}
	return nil
}

// removeMember deletes a membership; removed is false when there was none. Without a
// transaction, an owner's successor (the earliest admin, else the earliest member) is
// made owner first and the owner's membership deleted after: a failure in between leaves
// two owners, one of them still a member, and the retried leave finishes it — never a
// group without an owner.
func (s *Store) removeMember(ctx context.Context, what, roomID, userID string) (removed bool, err error) {
	var d memberDoc
	if err := s.memberships().FindOne(ctx, memberKey(roomID, userID)).Decode(&d); err != nil {
		if isNoDocuments(err) {
			return false, nil
		}
		return false, s.fail(ctx, what, err)
	}
	if d.Role == chat.RoleOwner {
		if err := s.passOwnership(ctx, what, roomID, userID); err != nil {
			return false, err
		}
	}
	res, err := s.memberships().DeleteOne(ctx, memberKey(roomID, userID))
	if err != nil {
		return false, s.fail(ctx, what, err)
	}
	return res.DeletedCount == 1, nil
}

// passOwnership makes the earliest admin of the room other than ownerID, else its earliest
// other member, the owner. Nobody else: nothing to do.
func (s *Store) passOwnership(ctx context.Context, what, roomID, ownerID string) error {
	others := bson.D{{Key: "roomId", Value: roomID}, {Key: "userId", Value: bson.D{{Key: "$ne", Value: ownerID}}}}
	for _, filter := range []bson.D{append(others[:2:2], bson.E{Key: "role", Value: chat.RoleAdmin}), others} {
		var next memberDoc
		err := s.memberships().FindOne(ctx, filter, options.FindOne().SetSort(byJoinOrder())).Decode(&next)
		if isNoDocuments(err) {
			continue
		}
		if err != nil {
			return s.fail(ctx, what+": pass ownership", err)
		}
		_, err = s.memberships().UpdateOne(ctx, memberKey(roomID, next.UserID),
			bson.D{{Key: "$set", Value: bson.D{{Key: "role", Value: chat.RoleOwner}}}})
		if err != nil {
			return s.fail(ctx, what+": pass ownership", err)
		}
		return nil
	}
	return nil
}

// SetMuted implements chat.RoomStore.
func (s *Store) SetMuted(ctx context.Context, roomID, userID string, muted bool) error {
	what := fmt.Sprintf("set muted of %s in %s", userID, roomID)
	res, err := s.memberships().UpdateOne(ctx, memberKey(roomID, userID),
		bson.D{{Key: "$set", Value: bson.D{{Key: "muted", Value: muted}}}})
	if err != nil {
		return s.fail(ctx, what, err)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("mongo: %s: %w", what, chat.ErrNotFound)
	}
	return nil
}

// AdvanceReadCursor implements chat.RoomStore. The cursor moves by $max in one
// findAndModify, so concurrent calls cannot move it back, and calling again is harmless;
// the delivery cursor moves by the same $max in the same write.
// The cap is the room's counter as read just before; a message stored in between is
// simply not covered by this call.
func (s *Store) AdvanceReadCursor(ctx context.Context, roomID, userID string, seq int64) (int64, error) {
	what := fmt.Sprintf("advance read cursor of %s in %s", userID, roomID)
	lastSeq, err := s.lastSeq(ctx, what, roomID)
	if err != nil {
		return 0, err
	}
	var d memberDoc
	err = s.memberships().FindOneAndUpdate(ctx, memberKey(roomID, userID),
		bson.D{{Key: "$max", Value: bson.D{
			{Key: "lastReadSeq", Value: min(seq, lastSeq)},
			{Key: "lastDeliveredSeq", Value: min(seq, lastSeq)},
		}}},
		options.FindOneAndUpdate().SetReturnDocument(options.After),
	).Decode(&d)
	if err != nil {
		return 0, s.notFound(ctx, what, err)
	}
	return d.LastReadSeq, nil
}

// isNoDocuments reports whether err says that nothing matched.
func isNoDocuments(err error) bool { return errors.Is(err, mongo.ErrNoDocuments) }

// UnreadCount implements chat.CursorStore: one count on the (roomId, userId) index
// instead of fetching every membership of the room, which dominates a send to a large room.
func (s *Store) UnreadCount(ctx context.Context, roomID, senderID string, seq int64) (int, error) {
	return s.unreadExcept(ctx, roomID, []string{senderID}, seq)
}

// unreadExcept counts the room's members, other than those listed, whose read cursor is
// below seq.
func (s *Store) unreadExcept(ctx context.Context, roomID string, except []string, seq int64) (int, error) {
	n, err := s.memberships().CountDocuments(ctx, bson.D{
		{Key: "roomId", Value: roomID},
		{Key: "userId", Value: bson.D{{Key: "$nin", Value: except}}},
		{Key: "lastReadSeq", Value: bson.D{{Key: "$lt", Value: seq}}},
	})
	if err != nil {
		return 0, s.fail(ctx, "unread count of "+roomID, err)
	}
	return int(n), nil
}

// UnreadTotal implements chat.CursorStore: the user's cursors, then their rooms' seq
// counters, in two queries (no $lookup).
func (s *Store) UnreadTotal(ctx context.Context, userID string) (int64, error) {
	cur, err := s.memberships().Find(ctx, bson.D{{Key: "userId", Value: userID}},
		options.Find().SetProjection(bson.D{{Key: "roomId", Value: 1}, {Key: "lastReadSeq", Value: 1}}))
	if err != nil {
		return 0, s.fail(ctx, "unread total", err)
	}
	var ms []memberDoc
	if err := cur.All(ctx, &ms); err != nil {
		return 0, s.fail(ctx, "unread total", err)
	}
	if len(ms) == 0 {
		return 0, nil
	}
	read := make(map[string]int64, len(ms))
	ids := make([]string, 0, len(ms))
	for _, m := range ms {
		read[m.RoomID] = m.LastReadSeq
		ids = append(ids, m.RoomID)
	}
	cur, err = s.rooms().Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}},
		options.Find().SetProjection(bson.D{{Key: "lastSeq", Value: 1}}))
	if err != nil {
		return 0, s.fail(ctx, "unread total", err)
	}
	var rs []roomDoc
	if err := cur.All(ctx, &rs); err != nil {
		return 0, s.fail(ctx, "unread total", err)
	}
	var total int64
	for _, r := range rs {
		total += max(r.LastSeq-read[r.ID], 0)
	}
	return total, nil
}
