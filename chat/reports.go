package chat

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
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
	// Context is, for administrators, up to ReportContext messages on each side of the
	// reported one in its room, oldest first, the reported one included: what it answered.
	Context []Message `json:"context,omitempty"`
}

// ReportContext is how many messages before and after a reported one its report shows.
const ReportContext = 2

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

// Report audit actions.
const AuditResolveReport = "resolve_report"

// ReportList is one page of reports for administrators.
type ReportList struct {
	Reports    []Report `json:"reports"`
	NextCursor *string  `json:"nextCursor"`
}

// ReportMessage files a report of a message of a room the caller is a member of. Reporting
// one's own message is bad input; the reason is 1–1000 characters; a user files at most
// ReportsPerUserPerDay a day (429 report_quota).
func (s *Service) ReportMessage(ctx context.Context, callerID, roomID, messageID, reason string) (Report, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || utf8.RuneCountInString(reason) > MaxReportReasonRunes || !utf8.ValidString(reason) {
		return Report{}, Errorf(Invalid, "bad_request", "reason must be 1 to %d characters", MaxReportReasonRunes)
	}
	m, _, err := s.loadForChange(ctx, callerID, roomID, messageID, false)
	if err != nil {
		return Report{}, err
	}
	if m.SenderID == callerID {
		return Report{}, Errorf(Invalid, "bad_request", "you cannot report your own message")
	}
	now := s.cfg.Now()
	n, err := s.reports.CountReportsSince(ctx, callerID, now.Add(-24*time.Hour))
	if err != nil {
		return Report{}, err
	}
	if n >= ReportsPerUserPerDay {
		return Report{}, &Error{Kind: RateLimited, Code: "report_quota",
			Message: fmt.Sprintf("at most %d reports a day", ReportsPerUserPerDay), RetryAfter: time.Hour}
	}
	r := Report{
		ID: NewID(), RoomID: roomID, MessageID: messageID, ReporterID: callerID, SenderID: m.SenderID,
		Reason: reason, Status: ReportOpen, CreatedAt: At(now),
	}
	if err := s.reports.CreateReport(ctx, r); err != nil {
		return Report{}, err
	}
	return r, nil
}

// Reports lists reports for an administrator, newest first, by status ("" all; open or
// resolved otherwise), each with its message as it is now.
func (s *Service) Reports(ctx context.Context, callerID, status string, limit int, cursor string) (ReportList, error) {
	if _, err := s.administrator(ctx, callerID); err != nil {
		return ReportList{}, err
	}
	if status != "" && status != ReportOpen && status != ReportResolved {
		return ReportList{}, Errorf(Invalid, "bad_request", `status must be "open" or "resolved"`)
	}
	limit, err := adminPage(limit)
	if err != nil {
		return ReportList{}, err
	}
	before, err := parseCursor(cursor)
	if err != nil {
		return ReportList{}, err
	}
	reports, more, err := s.reports.Reports(ctx, status, before, limit)
	if err != nil {
		return ReportList{}, err
	}
	for i := range reports {
		s.attachReported(ctx, &reports[i])
	}
	list := ReportList{Reports: reports}
	if more && len(reports) > 0 {
		next := makeCursor(reports[len(reports)-1].ID)
		list.NextCursor = &next
	}
	return list, nil
}

// attachReported fills in the reported message as it is now (a tombstone once deleted).
func (s *Service) attachReported(ctx context.Context, r *Report) {
	m, err := s.changes.Message(ctx, r.RoomID, r.MessageID)
	if err != nil {
		return // gone with its room: the report stands without it
	}
	r.Message = &m
	before, _, err := s.messages.Messages(ctx, r.RoomID, HistoryQuery{BeforeSeq: m.Seq, Limit: ReportContext})
	if err != nil {
		return
	}
	after, _, err := s.messages.Messages(ctx, r.RoomID, HistoryQuery{AfterSeq: m.Seq, Limit: ReportContext})
	if err != nil {
		return
	}
	r.Context = append(append(append(make([]Message, 0, len(before)+1+len(after)), before...), m), after...)
}

// ResolveReport resolves an open report with an action: dismiss, delete_message (the
// message becomes a tombstone, as its sender's delete would make it) or suspend_sender.
// The action is taken again on a retry of a resolved report with the same action, so that
// a failure after the resolution is recorded can be finished; another action on a
// resolved report is a conflict.
func (s *Service) ResolveReport(ctx context.Context, callerID, reportID, action string) (Report, error) {
	if _, err := s.administrator(ctx, callerID); err != nil {
		return Report{}, err
	}
	switch action {
	case ActionDismiss, ActionDeleteMessage, ActionSuspendSender:
	default:
		return Report{}, Errorf(Invalid, "bad_request", `action must be "dismiss", "delete_message" or "suspend_sender"`)
	}
	r, err := s.reports.Report(ctx, reportID)
	if IsNotFound(err) {
		return Report{}, Errorf(NotFound, "report_not_found", "no such report")
	}
	if err != nil {
		return Report{}, err
	}
	if r.Status == ReportResolved && r.Action != action {
		return Report{}, Errorf(Conflict, "report_resolved", "the report was resolved with %s already", r.Action)
	}
	if r.Status == ReportOpen {
		if err := s.record(ctx, callerID, AuditResolveReport, "report", r.ID, action); err != nil {
			return Report{}, err
		}
		if r, _, err = s.reports.ResolveReport(ctx, reportID, action, callerID, s.cfg.Now()); err != nil {
			return Report{}, err
		}
		if r.Action != action { // another administrator resolved it first, otherwise
			return Report{}, Errorf(Conflict, "report_resolved", "the report was resolved with %s already", r.Action)
		}
	}
	switch action {
	case ActionDeleteMessage:
		m, err := s.changes.Message(ctx, r.RoomID, r.MessageID)
		if err == nil && !m.Deleted() {
			err = s.removeMessage(ctx, m)
		}
		if err != nil && !IsNotFound(err) {
			return Report{}, err
		}
	case ActionSuspendSender:
		if _, err := s.Suspend(ctx, callerID, r.SenderID); err != nil && ErrorCode(err) != "user_not_found" {
			return Report{}, err
		}
	}
	s.attachReported(ctx, &r)
	return r, nil
}
