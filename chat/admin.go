package chat

import (
	"context"
	"time"
)

// Server administration: administrators (User.Admin, granted with `chatchat admin grant`)
// list and suspend users and read the audit log of what administrators did.

// AdminUser is a user as an administrator sees them.
type AdminUser struct {
	User
	Admin       bool  `json:"admin"`
	SuspendedAt *Time `json:"suspendedAt"`
}

func adminView(u User) AdminUser { return AdminUser{User: u, Admin: u.Admin, SuspendedAt: u.SuspendedAt} }

// AdminUserList is one page of users for an administrator; NextCursor asks for the next
// page, nil on the last.
type AdminUserList struct {
	Users      []AdminUser `json:"users"`
	NextCursor *string     `json:"nextCursor"`
}

// AuditEntry is one administrator's action.
type AuditEntry struct {
	ID string `json:"id"`
	// ActorID is the administrator; "" when the command line did it (Via "cli").
	ActorID string `json:"actorId"`
	Via     string `json:"via"`
	// Action names what was done: "grant_admin", "revoke_admin", "suspend", "unsuspend", …
	Action     string `json:"action"`
	TargetType string `json:"targetType"`
	TargetID   string `json:"targetId"`
	// Detail adds what the action alone does not say (a username, a retention); never
	// message text.
	Detail    string `json:"detail,omitempty"`
	CreatedAt Time   `json:"createdAt"`
}

// Audit actions and target types.
const (
	AuditGrantAdmin  = "grant_admin"
	AuditRevokeAdmin = "revoke_admin"
	AuditSuspend     = "suspend"
	AuditUnsuspend   = "unsuspend"

	TargetUser = "user"
)

// AuditList is one page of the audit log, newest first.
type AuditList struct {
	Entries    []AuditEntry `json:"entries"`
	NextCursor *string      `json:"nextCursor"`
}

// UserAdminStore keeps what administrators change about users.
type UserAdminStore interface {
	// SetAdmin grants (true) or revokes server administration. ErrNotFound: no such user.
	SetAdmin(ctx context.Context, userID string, admin bool) error
	// SetSuspended marks the user suspended since at, or not suspended when at is nil,
	// and returns the user as stored after the call. ErrNotFound: no such user.
	SetSuspended(ctx context.Context, userID string, at *time.Time) (User, error)
	// ListUsers returns up to limit users whose username or display name starts with
	// prefix (case-insensitive; "" matches all), ordered by lower-cased username, starting
	// after the user whose lower-cased username is after (""; from the first); more says
	// whether others follow.
	ListUsers(ctx context.Context, prefix, after string, limit int) (users []User, more bool, err error)
}

// AuditStore keeps the audit log of administrators' actions.
type AuditStore interface {
	// AddAudit stores e (its ID set by the caller, time-ordered).
	AddAudit(ctx context.Context, e AuditEntry) error
	// Audit returns up to limit entries with an ID below before ("" from the newest),
	// newest first, and whether older ones exist.
	Audit(ctx context.Context, before string, limit int) (entries []AuditEntry, more bool, err error)
}

// SessionEnder ends every session of a user on every node: their refresh tokens revoked,
// their access tokens refused, their sockets closed with closeCode. The auth service
// implements it.
type SessionEnder interface {
	EndUserSessions(ctx context.Context, userID string, closeCode int) error
}
