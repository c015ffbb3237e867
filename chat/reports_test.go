package chat_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chatchat/chatchat/chat"
)

// TestReports: members report messages of their rooms (not their own, within the quota);
// administrators list them with the message and resolve them with an action, once.
func TestReports(t *testing.T) {
	f := newFixture(t, 4)
	ctx := context.Background()
	boss, ann, bob, eve := f.users[0], f.users[1], f.users[2], f.users[3]
	g, _, err := f.svc.CreateRoom(ctx, ann, chat.NewRoom{Type: "group", Name: "g", MemberIDs: []string{bob}})
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := f.svc.SendMessage(ctx, bob, g.ID, chat.NewMessage{Text: "rude"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.ReportMessage(ctx, eve, g.ID, m.ID, "spam")
	wantCode(t, err, "room_not_found") // not a member: the room does not exist for her
	_, err = f.svc.ReportMessage(ctx, bob, g.ID, m.ID, "spam")
	wantCode(t, err, "bad_request") // one's own message
	_, err = f.svc.ReportMessage(ctx, ann, g.ID, m.ID, " ")
	wantCode(t, err, "bad_request")
	_, err = f.svc.ReportMessage(ctx, ann, g.ID, m.ID, strings.Repeat("x", chat.MaxReportReasonRunes+1))
	wantCode(t, err, "bad_request")
	_, err = f.svc.ReportMessage(ctx, ann, g.ID, chat.NewID(), "spam")
	wantCode(t, err, "message_not_found")
	rep, err := f.svc.ReportMessage(ctx, ann, g.ID, m.ID, "spam")
	if err != nil || rep.Status != chat.ReportOpen || rep.SenderID != bob {
		t.Fatalf("ReportMessage = %+v, %v", rep, err)
	}

	_, err = f.svc.Reports(ctx, ann, chat.ReportOpen, 0, "")
	wantCode(t, err, "not_admin")
	if err := f.store.SetAdmin(ctx, boss, true); err != nil {
		t.Fatal(err)
	}
	list, err := f.svc.Reports(ctx, boss, chat.ReportOpen, 0, "")
	if err != nil || len(list.Reports) != 1 || list.Reports[0].Message == nil || list.Reports[0].Message.Text != "rude" {
		t.Fatalf("Reports = %+v, %v", list, err)
	}
	_, err = f.svc.ResolveReport(ctx, boss, rep.ID, "ban")
	wantCode(t, err, "bad_request")
	_, err = f.svc.ResolveReport(ctx, boss, chat.NewID(), chat.ActionDismiss)
	wantCode(t, err, "report_not_found")
	done, err := f.svc.ResolveReport(ctx, boss, rep.ID, chat.ActionDeleteMessage)
	if err != nil || done.Status != chat.ReportResolved || done.Action != chat.ActionDeleteMessage || done.Message == nil || !done.Message.Deleted() {
		t.Fatalf("ResolveReport = %+v, %v; want resolved, the message a tombstone", done, err)
	}
	if _, err := f.svc.ResolveReport(ctx, boss, rep.ID, chat.ActionDeleteMessage); err != nil {
		t.Errorf("the same resolution again: %v", err)
	}
	_, err = f.svc.ResolveReport(ctx, boss, rep.ID, chat.ActionDismiss)
	wantCode(t, err, "report_resolved")
	if open, _ := f.svc.Reports(ctx, boss, chat.ReportOpen, 0, ""); len(open.Reports) != 0 {
		t.Errorf("open reports after the resolution: %+v", open.Reports)
	}

	// suspend_sender suspends the message's sender.
	m2, _, _ := f.svc.SendMessage(ctx, bob, g.ID, chat.NewMessage{Text: "again"})
	rep2, err := f.svc.ReportMessage(ctx, ann, g.ID, m2.ID, "again")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.ResolveReport(ctx, boss, rep2.ID, chat.ActionSuspendSender); err != nil {
		t.Fatal(err)
	}
	if u, _ := f.store.User(ctx, bob); u.SuspendedAt == nil {
		t.Error("suspend_sender left the sender unsuspended")
	}
	// Every resolution is in the audit log.
	audit, _ := f.svc.AuditLog(ctx, boss, 0, "")
	n := 0
	for _, e := range audit.Entries {
		if e.Action == chat.AuditResolveReport {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d resolve_report entries, want 2: %+v", n, audit.Entries)
	}
}

// TestReportQuota: a user files at most ReportsPerUserPerDay reports a day.
func TestReportQuota(t *testing.T) {
	f := newFixture(t, 2)
	ctx := context.Background()
	ann, bob := f.users[0], f.users[1]
	g, _, _ := f.svc.CreateRoom(ctx, ann, chat.NewRoom{Type: "group", Name: "g", MemberIDs: []string{bob}})
	m, _, err := f.svc.SendMessage(ctx, bob, g.ID, chat.NewMessage{Text: "x"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range chat.ReportsPerUserPerDay {
		if _, err := f.svc.ReportMessage(ctx, ann, g.ID, m.ID, "spam"); err != nil {
			t.Fatalf("report %d: %v", i, err)
		}
	}
	_, err = f.svc.ReportMessage(ctx, ann, g.ID, m.ID, "spam")
	wantCode(t, err, "report_quota")
	if e, ok := err.(*chat.Error); !ok || e.RetryAfter <= 0 || chat.ErrorKind(err) != chat.RateLimited {
		t.Errorf("quota error %#v: want rate limited with a Retry-After", err)
	}
}
