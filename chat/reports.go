package chat

import (
	"context"
	"time"
)

// Reports: a member reports a message of their room to the server's administrators, who
// resolve it with an action. A reporter sees only their own reports (the answer of the
// report call); administrators see them all.

// Report statuses and the actions that resolve one.
const (
	ReportOpen     = "open"
	ReportResolved = "resolved"

	ActionDismiss       = "dismiss"
	ActionDeleteMessage = "delete_message"
	ActionSuspendSender = "suspend_sender"
)

// Report limits: a reason's length, and how many reports one user may file a day (each
// costs an administrator's time: the quota of the hardening review).
const (
	MaxReportReasonRunes = 1000
	ReportsPerUserPerDay = 20
)

// Report is one report of a message.
type Report struct {
	ID         string `json:"id"`
	RoomID     string `json:"roomId"`
	MessageID  string `json:"messageId"`
	ReporterID string `json:"reporterId"`
	// SenderID is who sent the reported message, kept so that suspend_sender acts on the
	// right user even after the message is deleted.
	SenderID   string `json:"senderId"`
	Reason     string `json:"reason"`
	Status     string `json:"status"`
	Action     string `json:"action,omitempty"`
	ResolvedBy string `json:"resolvedBy,omitempty"`
	ResolvedAt *Time  `json:"resolvedAt,omitempty"`
	CreatedAt  Time   `json:"createdAt"`
	// Message is the reported message as it is now, for administrators.
	Message *Message `json:"message,omitempty"`
}

// ReportStore keeps reports.
type ReportStore interface {
	// CreateReport stores r.
	CreateReport(ctx context.Context, r Report) error
	// Report returns the report with the id, or ErrNotFound.
	Report(ctx context.Context, id string) (Report, error)
	// Reports returns up to limit reports with the status ("" any), with an id below
	// before ("" from the newest), newest first, and whether more exist.
	Reports(ctx context.Context, status, before string, limit int) ([]Report, bool, error)
	// CountReportsSince counts the reports reporterID filed at or after since.
	CountReportsSince(ctx context.Context, reporterID string, since time.Time) (int, error)
	// ResolveReport marks an open report resolved with the action, by whom and when, and
	// returns it; a resolved one is returned unchanged with resolved false. ErrNotFound.
	ResolveReport(ctx context.Context, id, action, by string, at time.Time) (r Report, resolved bool, err error)
}
