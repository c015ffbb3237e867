package api

import (
	"context"
	"io"
	"time"

	"github.com/chatchat/chatchat/auth"
	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/media"
)

// What the API server calls, declared here where it is used, small and grouped by use, so
// that handlers can be tested with fakes. The implementations are named on each; the
// compile-time checks are in fit_test.go.

// Authenticator signs users up and in and verifies their tokens (auth.Service).
type Authenticator interface {
	Signup(ctx context.Context, username, password, displayName string) (chat.User, auth.Tokens, error)
	Login(ctx context.Context, username, password string) (chat.User, auth.Tokens, error)
	Refresh(ctx context.Context, refreshToken string) (auth.Tokens, error)
	// Authenticate verifies an access token: whose it is, and the session it belongs to.
	Authenticate(token string) (chat.Identity, error)
	// Logout ends the session of one of the caller's refresh tokens (session_not_found
	// for anyone else's), everywhere: tokens refused, sockets closed.
	Logout(ctx context.Context, userID, refreshToken string) error
	// LogoutAll ends every session of the caller.
	LogoutAll(ctx context.Context, userID string) error
	// CheckPassword verifies the caller's password (bad_password otherwise).
	CheckPassword(ctx context.Context, userID, password string) error
}

// Limiter is a keyed rate limit (ratelimit.Keyed).
type Limiter interface {
	Allow(key string) (ok bool, retryAfter time.Duration)
}

// Users finds people and tells whether they are online (chat.Service).
type Users interface {
	// User returns a user's profile, or an error with code user_not_found.
	User(ctx context.Context, userID string) (chat.User, error)
	// UserWithPresence returns a user's profile with their presence.
	UserWithPresence(ctx context.Context, userID string) (chat.User, error)
	// SearchUsers finds users by username or display-name prefix.
	SearchUsers(ctx context.Context, q string, limit int) ([]chat.User, error)
	// Presence returns the presence of up to 100 users.
	Presence(ctx context.Context, userIDs []string) ([]chat.Presence, error)
}

// Rooms creates rooms, lists a caller's, and changes their members and the caller's
// settings (chat.Service). Each checks that the caller may.
type Rooms interface {
	// CreateRoom creates a group, or returns the existing direct room (created false).
	CreateRoom(ctx context.Context, callerID string, in chat.NewRoom) (room chat.Room, created bool, err error)
	// Rooms returns the caller's rooms, most recently active first.
	Rooms(ctx context.Context, callerID string, limit int, cursor string) (chat.RoomList, error)
	// Room returns one of the caller's rooms.
	Room(ctx context.Context, callerID, roomID string) (chat.Room, error)
	// AddMembers adds users to a group the caller is in.
	AddMembers(ctx context.Context, callerID, roomID string, userIDs []string) (chat.Room, error)
	// Leave removes the caller from a room.
	Leave(ctx context.Context, callerID, roomID string) error
	// SetMuted sets whether the caller gets push notifications of the room.
	SetMuted(ctx context.Context, callerID, roomID string, muted bool) (chat.Room, error)
}

// Messages sends a room's messages, pages through them and records how far the caller has
// read and received (chat.Service).
type Messages interface {
	// SendMessage stores and publishes a message; created is false for a retried
	// clientMsgId, which returns the stored message.
	SendMessage(ctx context.Context, callerID, roomID string, in chat.NewMessage) (m chat.Message, created bool, err error)
	// History returns a page of the room's messages and whether more exist beyond it.
	History(ctx context.Context, callerID, roomID string, q chat.HistoryQuery) ([]chat.Message, bool, error)
	// MarkRead moves the caller's read cursor forward to seq.
	MarkRead(ctx context.Context, callerID, roomID string, seq int64) (chat.ReadReceipt, error)
	// MarkDelivered moves the caller's delivery cursor forward to seq.
	MarkDelivered(ctx context.Context, callerID, roomID string, seq int64) (chat.DeliveryReceipt, error)
}

// Blocking is who the caller blocks (chat.Service).
type Blocking interface {
	Block(ctx context.Context, callerID, userID string) error
	Unblock(ctx context.Context, callerID, userID string) error
	Blocks(ctx context.Context, callerID string) ([]chat.User, error)
}

// Administration is what server administrators do (chat.Service). Each checks that the
// caller administers the server (403 not_admin).
type Administration interface {
	// Me returns the caller's own profile, with whether they administer the server.
	Me(ctx context.Context, callerID string) (chat.Profile, error)
	AdminUsers(ctx context.Context, callerID, q string, limit int, cursor string) (chat.AdminUserList, error)
	Suspend(ctx context.Context, callerID, userID string) (chat.AdminUser, error)
	Unsuspend(ctx context.Context, callerID, userID string) (chat.AdminUser, error)
	AuditLog(ctx context.Context, callerID string, limit int, cursor string) (chat.AuditList, error)
	Reports(ctx context.Context, callerID, status string, limit int, cursor string) (chat.ReportList, error)
	ResolveReport(ctx context.Context, callerID, reportID, action string) (chat.Report, error)
	SetRoomRetention(ctx context.Context, callerID, roomID string, in chat.RetentionPatch) (chat.Room, error)
	AdminRooms(ctx context.Context, callerID string) ([]chat.Room, error)
}

// UserData exports and erases what is stored about a user (chat.Service).
type UserData interface {
	Export(ctx context.Context, userID string, w io.Writer) error
	// EraseUser erases userID, by themself or by an administrator (actorID).
	EraseUser(ctx context.Context, actorID, userID string) error
}

// Reporting files reports of messages for the administrators (chat.Service).
type Reporting interface {
	ReportMessage(ctx context.Context, callerID, roomID, messageID, reason string) (chat.Report, error)
}

// MessageChanges changes sent messages and lists what changed (chat.Service). Each checks
// that the caller may.
type MessageChanges interface {
	// EditMessage replaces the text (and mentions) of the caller's text message.
	EditMessage(ctx context.Context, callerID, roomID, messageID string, in chat.MessageEdit) (chat.Message, error)
	// DeleteMessage makes a message a tombstone; again is no error.
	DeleteMessage(ctx context.Context, callerID, roomID, messageID string) error
	// React and Unreact add and remove the caller's reaction; both idempotent.
	React(ctx context.Context, callerID, roomID, messageID, emoji string) (chat.Message, error)
	Unreact(ctx context.Context, callerID, roomID, messageID, emoji string) (chat.Message, error)
	// Pin and Unpin pin and unpin a message; both idempotent.
	Pin(ctx context.Context, callerID, roomID, messageID string) (chat.Message, error)
	Unpin(ctx context.Context, callerID, roomID, messageID string) (chat.Message, error)
	// Pins returns the room's pinned messages, most recently pinned first.
	Pins(ctx context.Context, callerID, roomID string) ([]chat.Message, error)
	// Changes returns the room's messages changed after afterRev, ascending by rev.
	Changes(ctx context.Context, callerID, roomID string, afterRev int64, limit int) (chat.ChangesPage, error)
}

// Search finds messages of the caller's rooms by their words (chat.Service).
type Search interface {
	SearchMessages(ctx context.Context, callerID string, in chat.SearchInput) ([]chat.Message, bool, error)
}

// Moderation is what a group's owner and admins do (chat.Service); the service asks the
// policy who may.
type Moderation interface {
	// UpdateRoom renames a group or changes its description.
	UpdateRoom(ctx context.Context, callerID, roomID string, in chat.RoomPatch) (chat.Room, error)
	// SetMemberRole makes a member an admin or a member again.
	SetMemberRole(ctx context.Context, callerID, roomID, userID, role string) (chat.Room, error)
	// RemoveMember removes another member.
	RemoveMember(ctx context.Context, callerID, roomID, userID string) error
	// Ban removes a user and keeps them from being added again; Unban lifts it.
	Ban(ctx context.Context, callerID, roomID, userID string) (chat.Room, error)
	Unban(ctx context.Context, callerID, roomID, userID string) error
}

// Chat is the chat service as the API server uses it (chat.Service).
type Chat interface {
	Users
	Rooms
	Moderation
	Messages
	Blocking
	Reporting
	UserData
	Administration
	MessageChanges
	Search
}

// MediaUploads takes the files people send to a room (media.Service). Each checks that the
// caller is a member.
type MediaUploads interface {
	// MaxUploadBytes is the largest file accepted; a larger body is refused unread.
	MaxUploadBytes() int64
	// Upload checks and stores a file; the answer carries signed URLs.
	Upload(ctx context.Context, userID, roomID, filename string, r io.Reader) (chat.Media, error)
	// Presign records an upload that the client sends straight to the blob store.
	Presign(ctx context.Context, userID, roomID string, in media.PresignRequest) (media.Presigned, error)
}

// MediaDownloads opens stored media for the people who may see it (media.Service).
type MediaDownloads interface {
	// Open returns a variant for userID: an upload no message uses yet for its uploader
	// only, attached media for the members of its room; anyone else gets media_not_found.
	Open(ctx context.Context, userID, mediaID, variant string) (media.Download, error)
	// OpenSigned returns the variant a signed URL names, once its signature and expiry
	// are checked.
	OpenSigned(ctx context.Context, mediaID, variant, exp, sig string) (media.Download, error)
}

// Media is the media service as the API server uses it (media.Service).
type Media interface {
	MediaUploads
	MediaDownloads
}

// Devices keeps the caller's push tokens (chat.DeviceStore).
type Devices interface {
	// RegisterDevice stores d; created is false when the token was already d.UserID's.
	// A token of another user moves to d.UserID.
	RegisterDevice(ctx context.Context, d chat.Device) (created bool, err error)
	// DeleteDevice removes userID's token; an error of kind NotFound when the token is
	// not userID's.
	DeleteDevice(ctx context.Context, userID, token string) error
	// Devices returns the devices of the users (to keep each user under MaxDevices).
	Devices(ctx context.Context, userIDs []string) ([]chat.Device, error)
}

// Notifications is the caller's push history (chat.DeviceStore).
type Notifications interface {
	// Notifications returns up to limit of userID's entries with an id below beforeID
	// (all when ""), newest first, and whether more exist.
	Notifications(ctx context.Context, userID, beforeID string, limit int) ([]chat.Notification, bool, error)
}
