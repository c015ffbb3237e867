package chat

import (
	"context"
	"time"
)

// UserStore keeps users and their password hashes.
type UserStore interface {
	// CreateUser stores u. A username that is taken (case-insensitively) gives ErrConflict.
	CreateUser(ctx context.Context, u User, passwordHash string) error
	// User returns the user with the id, or ErrNotFound.
	User(ctx context.Context, id string) (User, error)
	// UserByUsername returns the user with the username (case-insensitive) and its password
	// hash, or ErrNotFound.
	UserByUsername(ctx context.Context, username string) (User, string, error)
	// UsersByIDs returns the users among ids that exist, in no particular order.
	UsersByIDs(ctx context.Context, ids []string) ([]User, error)
	// SearchUsers returns up to limit users whose username or display name starts with
	// prefix (case-insensitive), ordered by username.
	SearchUsers(ctx context.Context, prefix string, limit int) ([]User, error)
}

// TokenStore keeps hashed refresh tokens.
type TokenStore interface {
	// CreateRefreshToken stores t.
	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	// RefreshToken returns the token with the hash, or ErrNotFound.
	RefreshToken(ctx context.Context, hash string) (RefreshToken, error)
	// ConsumeRefreshToken atomically marks the token with the hash as used at now, unless
	// it was used already, and returns it as it was before the call. firstUse is false when
	// it had been used already (a repeat or a replay: UsedAt, Successor and GraceUsed say
	// which). Unknown: ErrNotFound.
	ConsumeRefreshToken(ctx context.Context, hash string, now time.Time) (t RefreshToken, firstUse bool, err error)
	// SetSuccessor records the sealed pair issued for the token's first use, and reports
	// whether the token has been revoked meanwhile (so that a refresh racing a revocation
	// never hands out a pair that outlives it). Unknown: ErrNotFound.
	SetSuccessor(ctx context.Context, hash string, sealed []byte) (revoked bool, err error)
	// ClaimGrace atomically takes the one repeat a used token with a recorded successor
	// allows, and returns the token as it was before the call: claimed is true for the one
	// call that took it. A token without a successor yet is returned unchanged with claimed
	// false and GraceUsed false. Unknown: ErrNotFound.
	ClaimGrace(ctx context.Context, hash string) (t RefreshToken, claimed bool, err error)
	// RevokeTokenFamily revokes every token of the family.
	RevokeTokenFamily(ctx context.Context, familyID string) error
	// RevokeUserTokens revokes every token of the user.
	RevokeUserTokens(ctx context.Context, userID string) error
	// TokenFamilies returns the distinct families of the user that have a token created at
	// or after since: the sessions that may have live access tokens.
	TokenFamilies(ctx context.Context, userID string, since time.Time) ([]string, error)
	// DropSuccessors removes the sealed successors of the tokens first used before
	// usedBefore (their grace period is over) and returns how many, so that a sealed pair
	// is kept no longer than it can be claimed.
	DropSuccessors(ctx context.Context, usedBefore time.Time) (int64, error)
	// PruneRefreshTokens deletes the tokens that expired at or before now, used or not,
	// and returns how many.
	PruneRefreshTokens(ctx context.Context, now time.Time) (int64, error)
}

// RevocationStore keeps the sessions that were ended while access tokens issued from them
// may still be alive (see Revocation). It is small by design: a record lives as long as
// the longest access token, so every process can load all of it.
type RevocationStore interface {
	// AddRevocations stores rs. A session recorded already keeps the later ExpiresAt.
	AddRevocations(ctx context.Context, rs []Revocation) error
	// Revocations returns the records whose ExpiresAt is after now.
	Revocations(ctx context.Context, now time.Time) ([]Revocation, error)
	// PruneRevocations deletes the records whose ExpiresAt is at or before now, and
	// returns how many.
	PruneRevocations(ctx context.Context, now time.Time) (int64, error)
}

// The store is split by use: each interface below is what one part of the service reads
// and writes, with a contract suite of its own in chattest. A new feature adds a small
// interface (and its suite) rather than methods on a large one; Store is only their union,
// for wiring and for the suites.

// RoomStore keeps rooms and answers which rooms a user is in.
type RoomStore interface {
	// CreateRoom stores r with its members (r.MemberIDs), each with cursor 0 and role
	// RoleMember, except a group's r.CreatedBy, who is its RoleOwner. For a direct
	// room directKey is DirectKey of its two members, and a second room with the same key
	// gives ErrConflict; group rooms pass "".
	CreateRoom(ctx context.Context, r Room, directKey string) error
	// Room returns the room with MemberIDs (and Description, CreatedBy) filled, or
	// ErrNotFound.
	Room(ctx context.Context, id string) (Room, error)
	// DirectRoom returns the direct room with the key, or ErrNotFound.
	DirectRoom(ctx context.Context, directKey string) (Room, error)
	// UserRooms returns one page of the rooms userID is a member of (see RoomPage), each
	// with MemberIDs, ActiveAt, LastMessage (the message with the highest seq, if any) and
	// the user's cursor and mute setting; most recently active first. more reports that
	// rooms exist after the page.
	UserRooms(ctx context.Context, userID string, page RoomPage) (rooms []UserRoom, more bool, err error)
	// UserRoomIDs returns the ids of the rooms userID is a member of.
	UserRoomIDs(ctx context.Context, userID string) ([]string, error)
	// UserRoomSeqs returns, for each room userID is a member of, the room's last seq.
	UserRoomSeqs(ctx context.Context, userID string) (map[string]int64, error)
}

// MemberStore keeps who is in a room and each member's own settings.
type MemberStore interface {
	// Members returns the room's members with their cursors.
	Members(ctx context.Context, roomID string) ([]Member, error)
	// Member returns one membership, or ErrNotFound when userID is not a member.
	Member(ctx context.Context, roomID, userID string) (Member, error)
	// AddMembers adds the users that are not members yet, with their cursor at the room's
	// current last seq (history before joining counts as read) and role RoleMember, and
	// returns those added. Users banned from the room (ModerationStore) are not added, and
	// a ban concurrent with the add leaves them out in the end whichever comes first.
	AddMembers(ctx context.Context, roomID string, userIDs []string, at time.Time) ([]string, error)
	// RemoveMember removes a membership; ErrNotFound when there is none. When it was a
	// group's owner, ownership passes to the earliest admin (by joinedAt, then user id),
	// else the earliest member, in the same write where the store has transactions.
	RemoveMember(ctx context.Context, roomID, userID string) error
	// SetMuted sets a member's mute setting; ErrNotFound when not a member.
	SetMuted(ctx context.Context, roomID, userID string, muted bool) error
}

// ModerationStore keeps what a group's owner and admins change: the room's name and
// description, its members' roles, and its bans.
type ModerationStore interface {
	// UpdateRoom sets the room's name and description; a nil one is left as it is.
	// ErrNotFound for an unknown room.
	UpdateRoom(ctx context.Context, roomID string, name, description *string) error
	// SetRole sets a member's role (RoleOwner, RoleAdmin, RoleMember); ErrNotFound when
	// userID is not a member.
	SetRole(ctx context.Context, roomID, userID, role string) error
	// Ban records that userID is banned from the room and ends their membership if they
	// have one (as RemoveMember does, ownership included); removed reports whether they
	// were a member. Banning twice is no error. ErrNotFound for an unknown room.
	Ban(ctx context.Context, roomID, userID, byID string, at time.Time) (removed bool, err error)
	// Unban lifts a ban; ErrNotFound when userID is not banned from the room.
	Unban(ctx context.Context, roomID, userID string) error
	// Banned returns those of userIDs that are banned from the room.
	Banned(ctx context.Context, roomID string, userIDs []string) ([]string, error)
	// Bans returns every user banned from the room, earliest ban first.
	Bans(ctx context.Context, roomID string) ([]string, error)
}

// CursorStore keeps read cursors and answers the unread questions they settle.
type CursorStore interface {
	// AdvanceReadCursor moves a member's cursor to min(seq, room's last seq) unless it is
	// already there or beyond (a cursor never moves back), and returns the cursor after the
	// call. The delivery cursor (DeliveryStore) moves with it in the same write, so that it
	// is never behind. ErrNotFound when not a member.
	AdvanceReadCursor(ctx context.Context, roomID, userID string, seq int64) (int64, error)
	// UnreadCount returns how many members of the room, senderID excluded, have a read
	// cursor below seq, without listing the members: a large room is counted on every send.
	UnreadCount(ctx context.Context, roomID, senderID string, seq int64) (int, error)
	// UnreadTotal returns the sum over userID's rooms of the room's last seq minus the
	// user's read cursor (a push's badge).
	UnreadTotal(ctx context.Context, userID string) (int64, error)
}

// DeliveryStore keeps delivery cursors: how far a member's devices have received a room's
// messages. A delivery cursor never moves back and is never behind the read cursor (moving
// the read cursor, by AdvanceReadCursor or CreateMessage's advance, moves it too).
type DeliveryStore interface {
	// AdvanceDeliveredCursor moves a member's delivery cursor to min(seq, room's last seq)
	// unless it is already there or beyond, and returns the cursor after the call and
	// whether this call moved it. ErrNotFound when not a member.
	AdvanceDeliveredCursor(ctx context.Context, roomID, userID string, seq int64) (cursor int64, moved bool, err error)
	// UndeliveredCount returns how many members of the room, senderID excluded, have a
	// delivery cursor below seq, without listing the members (like UnreadCount).
	UndeliveredCount(ctx context.Context, roomID, senderID string, seq int64) (int, error)
}

// MessageStore keeps messages.
type MessageStore interface {
	// CreateMessage gives m the room's next seq, stores it, and advances the cursors of
	// the users in advance (members only; the sender and the room's viewers) to that seq.
	// A created message comes back with UnreadCount set, counted with the write, so that
	// the send path asks no second question. A created message is pending in the outbox
	// (OutboxStore) in the same atomic write, until MarkPublished. When m.SenderID already stored a message with
	// m.ClientMsgID, it stores nothing and returns that message with created false (its
	// UnreadCount is not set).
	// m.ID and m.CreatedAt are set by the caller.
	CreateMessage(ctx context.Context, m Message, advance []string) (stored Message, created bool, err error)
	// Messages returns a page of a room's messages (see HistoryQuery) and whether more
	// exist beyond it.
	Messages(ctx context.Context, roomID string, q HistoryQuery) ([]Message, bool, error)
}

// OutboxStore records which created messages have not yet gone out to their live sessions
// and pushes: CreateMessage makes a message pending atomically with storing it, and a
// relay publishes what stays pending (the publisher died, its client hung up, the bus
// blipped), so that nothing stored is left undelivered.
type OutboxStore interface {
	// MarkPublished records that the message's events and push job went out. Marking a
	// message that is not pending (or unknown) is no error.
	MarkPublished(ctx context.Context, roomID, messageID string) error
	// Pending reports whether the message is still pending.
	Pending(ctx context.Context, roomID, messageID string) (bool, error)
	// PendingMessages returns up to limit pending messages created at or before before,
	// oldest first.
	PendingMessages(ctx context.Context, before time.Time, limit int) ([]Message, error)
}

// MessageChangeStore keeps the changes to messages after they are created: edits, deletes,
// reactions and pins. A change that changes something gives the message the room's next
// rev atomically with the change, and leaves the change pending (like OutboxStore's
// created messages) until MarkChangePublished, so that a relay publishes what a failed
// publisher left behind. A change that changes nothing (a reaction already there, a second
// delete, an unpin of a message that is not pinned) takes no rev.
//
// Messages come back in their current state: Rev, reactions (ordered by first use), pin,
// mentions, and ReplyTo resolved to the replied-to message as it is now.
type MessageChangeStore interface {
	// Message returns a message of the room, or ErrNotFound.
	Message(ctx context.Context, roomID, messageID string) (Message, error)
	// ChangeMessage applies c and returns the message after it; changed is false when c
	// changed nothing (the message is then returned as it is). An unknown message (or one
	// of another room) gives ErrNotFound; an edit, reaction or pin of a deleted message
	// ErrMessageDeleted; a reaction with a new emoji past c.MaxEmoji distinct ones
	// ErrTooManyReactions; a pin past c.MaxPins pinned messages in the room ErrTooManyPins.
	ChangeMessage(ctx context.Context, c Change) (m Message, changed bool, err error)
	// Changes returns up to limit messages of the room whose rev is above afterRev,
	// ascending by rev, and whether more exist. A range of a (room, rev) index.
	Changes(ctx context.Context, roomID string, afterRev int64, limit int) ([]Message, bool, error)
	// Pins returns the room's pinned messages, most recently pinned first.
	Pins(ctx context.Context, roomID string) ([]Message, error)
	// MarkChangePublished records that MESSAGE_UPDATED went out for the message at rev;
	// a later change stays pending. Unknown or not pending is no error.
	MarkChangePublished(ctx context.Context, roomID, messageID string, rev int64) error
	// PendingChanges returns up to limit messages whose last change is pending since at
	// or before before, oldest first.
	PendingChanges(ctx context.Context, before time.Time, limit int) ([]Message, error)
}

// MentionStore counts the mentions a member has not read.
type MentionStore interface {
	// MentionCounts returns, for each room of after, how many of its messages with a seq
	// above after[roomID] mention userID and are not deleted; rooms with none may be left
	// out. A range of a (room, mentioned user, seq) index per room, never a scan of the
	// room's messages.
	MentionCounts(ctx context.Context, userID string, after map[string]int64) (map[string]int64, error)
}

// ChangeKind names what a Change does.
type ChangeKind int

// Change kinds.
const (
	ChangeEdit ChangeKind = iota + 1
	ChangeDelete
	ChangeReact
	ChangeUnreact
	ChangePin
	ChangeUnpin
)

// Change is one change to a message, as MessageChangeStore.ChangeMessage applies it. The
// service has checked who may make it; the store checks what depends on the message's
// state at the moment of the write (deleted, the limits).
type Change struct {
	Kind      ChangeKind
	RoomID    string
	MessageID string
	// UserID is who reacts, unreacts or pins.
	UserID string
	// Text and Mentions replace the message's for an edit.
	Text     string
	Mentions []string
	Emoji    string
	At       time.Time
	// MaxEmoji bounds a message's distinct emoji; MaxPins a room's pinned messages.
	MaxEmoji int
	MaxPins  int
}

// Errors of MessageChangeStore, as clients see them.
var (
	ErrMessageDeleted   = &Error{Kind: Conflict, Code: "deleted", Message: "the message is deleted"}
	ErrTooManyReactions = &Error{Kind: Conflict, Code: "too_many_reactions", Message: "the message has as many distinct emoji as it may"}
	ErrTooManyPins      = &Error{Kind: Conflict, Code: "too_many_pins", Message: "the room has as many pinned messages as it may"}
)

// RoomHead is where a room's counters stand: its last message's seq and its last change's
// rev.
type RoomHead struct {
	LastSeq int64
	LastRev int64
}

// RoomHeadStore answers where rooms' counters stand, many rooms in one query: a RESUME of
// hundreds of rooms asks the store only about those that moved.
type RoomHeadStore interface {
	// RoomHeads returns the heads of the rooms among ids that exist.
	RoomHeads(ctx context.Context, ids []string) (map[string]RoomHead, error)
}

// Store is the union of the stores the chat service uses. Each storage adapter implements
// it and passes chattest.TestStore.
type Store interface {
	UserStore
	TokenStore
	RevocationStore
	RoomStore
	MemberStore
	ModerationStore
	CursorStore
	DeliveryStore
	MessageStore
	OutboxStore
	UserAdminStore
	AuditStore
	BlockStore
	ReportStore
	UserDataStore
	RoomHeadStore
	MessageChangeStore
	MentionStore
	RetentionStore
}

// Pinger is implemented by adapters that depend on a server; /readyz calls it.
type Pinger interface {
	Ping(ctx context.Context) error
}
