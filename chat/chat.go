// Package chat holds ChatChat's domain: users, rooms, messages, read state, the events that
// cross servers, the errors every layer shares, and the small interfaces that storage, the
// event bus and presence implement. It imports no transport or storage package.
package chat

import (
	"crypto/rand"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/oklog/ulid/v2"
)

// Room types.
const (
	RoomDirect = "direct"
	RoomGroup  = "group"
)

// Message types.
const (
	MessageText  = "text"
	MessageImage = "image"
	MessageFile  = "file"
)

// User is a person who can sign in. The password hash never leaves the store layer in a User.
type User struct {
	ID          string    `json:"id"`
	Username    string    `json:"username"`
	DisplayName string    `json:"displayName"`
	CreatedAt   Time      `json:"createdAt"`
	Presence    *Presence `json:"presence,omitempty"`

	// Admin: a server administrator. Shown only to the user themself (Profile) and to
	// administrators (AdminUser), never in another user's view.
	Admin bool `json:"-"`
	// SuspendedAt is when an administrator suspended the user; nil when not suspended.
	SuspendedAt *Time `json:"-"`
}

// Profile is a user as they see themself: with whether they administer the server.
type Profile struct {
	User
	Admin bool `json:"admin"`
}

// Own returns u as u sees themself.
func (u User) Own() Profile { return Profile{User: u, Admin: u.Admin} }

// Presence is a user's online status as the presence service sees it.
type Presence struct {
	UserID       string `json:"userId"`
	Status       string `json:"status"`
	LastActiveAt *Time  `json:"lastActiveAt"`
}

// Presence statuses.
const (
	StatusOnline  = "online"
	StatusOffline = "offline"
)

// Room is a conversation. MemberIDs is always filled; the per-caller fields only where the
// answer is for one caller.
type Room struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Name string `json:"name"`
	// Description is a group's description, set by its owner or admins; "" when none.
	Description string   `json:"description"`
	MemberIDs   []string `json:"memberIds"`
	LastSeq     int64    `json:"lastSeq"`
	// LastRev is the room's change counter: the rev of its last created or changed message.
	LastRev   int64 `json:"lastRev"`
	CreatedAt Time  `json:"createdAt"`
	// CreatedBy is who created the room: a group's first owner. "" for rooms stored
	// before it was recorded. Not part of the wire format.
	CreatedBy string `json:"-"`
	// BannedIDs are the users banned from a group, filled only for an answer to its
	// owner or an admin (nil, and absent from the JSON, for everyone else).
	BannedIDs []string `json:"bannedIds,omitzero"`
	// RetentionDays is how many days the room keeps messages, set by a server
	// administrator; 0 keeps them forever. nil (absent): the server's default.
	RetentionDays *int `json:"retentionDays,omitempty"`
	// ExpiredThroughSeq is the highest seq that retention deleted: history at or below it
	// may be gone (pinned messages stay). 0 (absent): nothing expired.
	ExpiredThroughSeq int64 `json:"expiredThroughSeq,omitempty"`

	UnreadCount *int64 `json:"unreadCount,omitempty"`
	// MentionCount is, for the caller, the room's messages above their read cursor that
	// mention them and are not deleted.
	MentionCount *int64   `json:"mentionCount,omitempty"`
	LastMessage  *Message `json:"lastMessage,omitempty"`
	Muted        *bool    `json:"muted,omitempty"`
	Members      []Member `json:"members,omitempty"`
}

// HasMember reports whether userID is in r.MemberIDs.
func (r *Room) HasMember(userID string) bool {
	for _, id := range r.MemberIDs {
		if id == userID {
			return true
		}
	}
	return false
}

// Member is one user's membership of a room, with their read and delivery cursors.
// LastDeliveredSeq is never behind LastReadSeq: reading a message means it arrived.
type Member struct {
	UserID           string `json:"userId"`
	LastReadSeq      int64  `json:"lastReadSeq"`
	LastDeliveredSeq int64  `json:"lastDeliveredSeq"`
	Muted            bool   `json:"muted"`
	JoinedAt         Time   `json:"joinedAt"`
	// Role is RoleOwner, RoleAdmin or RoleMember in a group; RoleMember in a direct room.
	Role string `json:"role"`
}

// UserRoom is a room as one member sees it in their room list.
type UserRoom struct {
	Room
	LastReadSeq int64
	MutedByUser bool
	// ActiveAt is the time of the room's last message, or of its creation: it orders room
	// lists and is the key that pages them.
	ActiveAt time.Time
}

// RoomPage asks for one page of a user's rooms, most recently active first.
type RoomPage struct {
	// Limit is the most rooms the page holds (at least 1).
	Limit int
	// MaxMembers ends the page early once its rooms hold this many members together, so
	// that a user in many large rooms gets bounded pages; a page always holds at least one
	// room. 0: no member bound.
	MaxMembers int
	// After is the last room of the previous page; zero for the first page.
	After RoomKey
}

// RoomKey is a room's place in a room list: rooms are ordered by ActiveAt, newest first,
// then by ID, highest first.
type RoomKey struct {
	ActiveAt time.Time
	ID       string
}

// IsZero reports whether k names no room (the first page).
func (k RoomKey) IsZero() bool { return k.ID == "" }

// Message is one message of a room. Seq increases by one per room, starting at 1; Rev is
// the room's change counter at the message's last change (creation included), so that a
// reader keeps, per message, the state with the highest Rev.
type Message struct {
	ID          string `json:"id"`
	RoomID      string `json:"roomId"`
	Seq         int64  `json:"seq"`
	SenderID    string `json:"senderId"`
	ClientMsgID string `json:"clientMsgId"`
	Type        string `json:"type"`
	Text        string `json:"text"`
	MediaID     string `json:"mediaId,omitempty"`
	Media       *Media `json:"media,omitempty"`
	CreatedAt   Time   `json:"createdAt"`
	UnreadCount int    `json:"unreadCount"`
	// UndeliveredCount is the members, sender excluded, whose delivery cursor is below
	// Seq: the message has not reached any device of theirs yet.
	UndeliveredCount int `json:"undeliveredCount"`

	Rev int64 `json:"rev"`
	// ReplyToID is the message this one replies to, as stored; ReplyTo is that message as
	// it is now, resolved when the message is read.
	ReplyToID string     `json:"-"`
	ReplyTo   *ReplyTo   `json:"replyTo,omitempty"`
	Mentions  []string   `json:"mentions,omitempty"`
	EditedAt  *Time      `json:"editedAt,omitempty"`
	DeletedAt *Time      `json:"deletedAt,omitempty"`
	Reactions []Reaction `json:"reactions,omitempty"`
	PinnedAt  *Time      `json:"pinnedAt,omitempty"`
	PinnedBy  string     `json:"pinnedBy,omitempty"`
}

// Deleted reports whether the message is a tombstone.
func (m *Message) Deleted() bool { return m.DeletedAt != nil }

// ReplyTo is the message another one replies to, as it is now.
type ReplyTo struct {
	ID       string `json:"id"`
	Seq      int64  `json:"seq"`
	SenderID string `json:"senderId"`
	Type     string `json:"type"`
	Text     string `json:"text"`
	Deleted  bool   `json:"deleted"`
}

// Reaction is one emoji on a message: how many reacted with it, and who.
type Reaction struct {
	Emoji   string   `json:"emoji"`
	Count   int      `json:"count"`
	UserIDs []string `json:"userIds"`
}

// Media is an uploaded file or image that belongs to one room.
type Media struct {
	ID           string `json:"id"`
	RoomID       string `json:"roomId"`
	UploaderID   string `json:"-"`
	Filename     string `json:"filename"`
	ContentType  string `json:"contentType"`
	Size         int64  `json:"size"`
	Width        int    `json:"width,omitempty"`
	Height       int    `json:"height,omitempty"`
	HasThumb     bool   `json:"-"`
	URL          string `json:"url,omitempty"`
	ThumbURL     string `json:"thumbUrl,omitempty"`
	URLExpiresAt *Time  `json:"urlExpiresAt,omitempty"`
	CreatedAt    Time   `json:"-"`
	// Attached is true once a message references the media; unattached uploads are
	// collected after a day.
	Attached bool `json:"-"`
	// Pending is true while a presigned upload's bytes have not been checked yet: its
	// ContentType and Size are what the client declared until then.
	Pending bool `json:"-"`
}

// ReadReceipt is a member's read cursor after a mark-as-read.
type ReadReceipt struct {
	RoomID      string `json:"roomId"`
	UserID      string `json:"userId"`
	LastReadSeq int64  `json:"lastReadSeq"`
}

// DeliveryReceipt is a member's delivery cursor: the data of DELIVERY_RECEIPT_UPDATED and
// the answer of POST /rooms/{roomId}/delivered.
type DeliveryReceipt struct {
	RoomID           string `json:"roomId"`
	UserID           string `json:"userId"`
	LastDeliveredSeq int64  `json:"lastDeliveredSeq"`
}

// RefreshToken is the stored form of an opaque refresh token: only its hash is kept.
// Tokens rotate on use; all tokens descended from one login share a FamilyID, so that a
// reused (stolen) token can revoke the whole family.
type RefreshToken struct {
	Hash      string
	UserID    string
	FamilyID  string
	CreatedAt time.Time
	ExpiresAt time.Time
	Revoked   bool
	// UsedAt is when the token was first exchanged; zero while it is unused. A repeat
	// within the token service's grace period after it is a lost answer being retried,
	// later it is a replay.
	UsedAt time.Time
	// Successor is the pair issued for the token's first use, sealed by the token service
	// (the store cannot read it), so that the one repeat allowed in the grace period gets
	// the same pair. Empty until recorded.
	Successor []byte
	// GraceUsed records that the one repeat has been answered.
	GraceUsed bool
}

// HistoryQuery selects a page of a room's messages. With BeforeSeq set (or neither set) the
// page is the newest messages below BeforeSeq and HasMore means older ones exist; with only
// AfterSeq set the page is the oldest messages above AfterSeq and HasMore means newer ones
// exist. Pages are always ascending by seq.
type HistoryQuery struct {
	AfterSeq  int64
	BeforeSeq int64
	Limit     int
	// Forward marks AfterSeq as set even when it is 0, so that "after seq 0" pages from
	// the room's first message instead of being taken for "unset" (the newest page): a
	// RESUME, re-sync or gap fill from 0 must replay from the start.
	Forward bool
}

// Ascending reports whether the page is the oldest messages above AfterSeq (true) or the
// newest below BeforeSeq (false).
func (q HistoryQuery) Ascending() bool {
	return q.BeforeSeq <= 0 && (q.Forward || q.AfterSeq > 0)
}

// ids makes ULIDs that increase strictly within this process, even within one millisecond,
// so that "newest first by id" (notification pages, message ids) is a total order. It is the
// one piece of package state: an id source is process-wide by nature, like crypto/rand's.
var ids = struct {
	sync.Mutex
	entropy *ulid.MonotonicEntropy
}{entropy: ulid.Monotonic(rand.Reader, 0)}

// NewID returns a new unique, time-ordered id (a ULID, lower case).
func NewID() string {
	ids.Lock()
	id := ulid.MustNew(ulid.Now(), ids.entropy)
	ids.Unlock()
	return strings.ToLower(id.String())
}

// DirectKey is the key that makes a direct room between two users unique, whatever the
// order in which they are named.
func DirectKey(a, b string) string {
	if a > b {
		a, b = b, a
	}
	return a + ":" + b
}

// replyTextRunes is how much of a replied-to message's text a reply shows.
const replyTextRunes = 200

// NewReplyTo returns the ReplyTo of a replied-to message as stored: its text cut to 200
// characters (no ellipsis), and none once it is deleted.
func NewReplyTo(id string, seq int64, senderID, typ, text string, deleted bool) *ReplyTo {
	if deleted {
		text = ""
	} else if utf8.RuneCountInString(text) > replyTextRunes {
		n := 0
		for i := range text {
			if n == replyTextRunes {
				text = text[:i]
				break
			}
			n++
		}
	}
	return &ReplyTo{ID: id, Seq: seq, SenderID: senderID, Type: typ, Text: text, Deleted: deleted}
}
