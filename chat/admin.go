package chat

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Server administration: administrators (User.Admin, granted with `chatchat admin grant`)
// list and suspend users and read the audit log of what administrators did.

// AdminUser is a user as an administrator sees them.
type AdminUser struct {
	User
	Admin       bool  `json:"admin"`
	SuspendedAt *Time `json:"suspendedAt"`
}

func adminView(u User) AdminUser {
	return AdminUser{User: u, Admin: u.Admin, SuspendedAt: u.SuspendedAt}
}

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

// Admin API page sizes.
const (
	DefaultAdminPage = 50
	MaxAdminPage     = 200
)

// CloseSuspended is the WebSocket close code of a suspended user's sessions.
const CloseSuspended = 4003

// Me returns the caller's own profile, with whether they administer the server.
func (s *Service) Me(ctx context.Context, callerID string) (Profile, error) {
	u, err := s.User(ctx, callerID)
	if err != nil {
		return Profile{}, err
	}
	return u.Own(), nil
}

// administrator returns the caller if they may act as a server administrator.
func (s *Service) administrator(ctx context.Context, callerID string) (User, error) {
	u, err := s.users.User(ctx, callerID)
	if IsNotFound(err) {
		return User{}, mayAdminister(User{})
	}
	if err != nil {
		return User{}, err
	}
	return u, mayAdminister(u)
}

func adminPage(limit int) (int, error) {
	switch {
	case limit < 0:
		return 0, Errorf(Invalid, "bad_request", "limit must not be negative")
	case limit == 0:
		return DefaultAdminPage, nil
	default:
		return min(limit, MaxAdminPage), nil
	}
}

// AdminUsers lists users for an administrator: those whose username or display name
// starts with q ("" all), by username, a page at a time.
func (s *Service) AdminUsers(ctx context.Context, callerID, q string, limit int, cursor string) (AdminUserList, error) {
	if _, err := s.administrator(ctx, callerID); err != nil {
		return AdminUserList{}, err
	}
	limit, err := adminPage(limit)
	if err != nil {
		return AdminUserList{}, err
	}
	if utf8.RuneCountInString(q) > 64 {
		return AdminUserList{}, Errorf(Invalid, "bad_request", "q is too long")
	}
	after, err := parseCursor(cursor)
	if err != nil {
		return AdminUserList{}, err
	}
	users, more, err := s.admins.ListUsers(ctx, strings.TrimSpace(q), after, limit)
	if err != nil {
		return AdminUserList{}, err
	}
	list := AdminUserList{Users: make([]AdminUser, 0, len(users))}
	for _, u := range users {
		list.Users = append(list.Users, adminView(u))
	}
	if more && len(users) > 0 {
		next := makeCursor(FoldKey(users[len(users)-1].Username))
		list.NextCursor = &next
	}
	return list, nil
}

// Suspend suspends a user: from then on their login is refused (403 suspended), their
// tokens are refused and their sockets on every node are closed with 4003. Suspending a
// suspended user changes nothing and is not logged again. An administrator cannot suspend
// themself (nobody could then undo it from the API if they are the only one).
func (s *Service) Suspend(ctx context.Context, callerID, userID string) (AdminUser, error) {
	if _, err := s.administrator(ctx, callerID); err != nil {
		return AdminUser{}, err
	}
	if userID == callerID {
		return AdminUser{}, Errorf(Invalid, "bad_request", "administrators cannot suspend themselves")
	}
	u, err := s.User(ctx, userID)
	if err != nil {
		return AdminUser{}, err
	}
	if u.SuspendedAt == nil {
		if err := s.record(ctx, callerID, AuditSuspend, TargetUser, userID, u.Username); err != nil {
			return AdminUser{}, err
		}
		now := s.cfg.Now()
		if u, err = s.admins.SetSuspended(ctx, userID, &now); err != nil {
			return AdminUser{}, err
		}
	}
	// Ended even when suspended already: a retry after a failure here must finish the job.
	if s.sessions != nil {
		if err := s.sessions.EndUserSessions(context.WithoutCancel(ctx), userID, CloseSuspended); err != nil {
			return AdminUser{}, fmt.Errorf("suspend: end sessions: %w", err)
		}
	}
	return adminView(u), nil
}

// Unsuspend lifts a suspension; the user logs in again.
func (s *Service) Unsuspend(ctx context.Context, callerID, userID string) (AdminUser, error) {
	if _, err := s.administrator(ctx, callerID); err != nil {
		return AdminUser{}, err
	}
	u, err := s.User(ctx, userID)
	if err != nil {
		return AdminUser{}, err
	}
	if u.SuspendedAt != nil {
		if err := s.record(ctx, callerID, AuditUnsuspend, TargetUser, userID, u.Username); err != nil {
			return AdminUser{}, err
		}
		if u, err = s.admins.SetSuspended(ctx, userID, nil); err != nil {
			return AdminUser{}, err
		}
	}
	return adminView(u), nil
}

// AuditLog returns the audit log for an administrator, newest first, a page at a time.
func (s *Service) AuditLog(ctx context.Context, callerID string, limit int, cursor string) (AuditList, error) {
	if _, err := s.administrator(ctx, callerID); err != nil {
		return AuditList{}, err
	}
	limit, err := adminPage(limit)
	if err != nil {
		return AuditList{}, err
	}
	before, err := parseCursor(cursor)
	if err != nil {
		return AuditList{}, err
	}
	entries, more, err := s.audit.Audit(ctx, before, limit)
	if err != nil {
		return AuditList{}, err
	}
	list := AuditList{Entries: entries}
	if more && len(entries) > 0 {
		next := makeCursor(entries[len(entries)-1].ID)
		list.NextCursor = &next
	}
	return list, nil
}

// record writes the audit entry of an administrator's action through the API, before the
// action: no action goes unrecorded, and an entry whose action then failed is an attempt
// (the administrator sees the error and retries).
func (s *Service) record(ctx context.Context, actorID, action, targetType, targetID, detail string) error {
	e := NewAuditEntry(actorID, "api", action, targetType, targetID, detail, s.cfg.Now())
	if err := s.audit.AddAudit(ctx, e); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// NewAuditEntry returns an entry with a fresh id.
func NewAuditEntry(actorID, via, action, targetType, targetID, detail string, at time.Time) AuditEntry {
	return AuditEntry{
		ID: NewID(), ActorID: actorID, Via: via, Action: action, TargetType: targetType,
		TargetID: targetID, Detail: detail, CreatedAt: At(at),
	}
}

// makeCursor and parseCursor keep a page's position opaque to clients.
func makeCursor(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

func parseCursor(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(c) > 256 || len(raw) == 0 {
		return "", Errorf(Invalid, "bad_cursor", "cursor is not one this server gave")
	}
	return string(raw), nil
}
