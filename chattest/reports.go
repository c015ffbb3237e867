package chattest

import (
	"slices"
	"sync"
	"testing"

	"github.com/chatchat/chatchat/chat"
)

// TestReportStore runs the contract of chat.ReportStore.
func TestReportStore(t *testing.T, newStore func(t *testing.T) chat.Store) {
	runStoreCases(t, newStore, []storeCase{
		{"CreateAndPage", testReportsPage},
		{"CountSince", testReportsCount},
		{"ResolveOnce", testReportResolveOnce},
	})
}

func newReport(reporter string, at int) chat.Report {
	return chat.Report{
		ID: chat.NewID(), RoomID: chat.NewID(), MessageID: chat.NewID(), ReporterID: reporter,
		SenderID: chat.NewID(), Reason: "spam", Status: chat.ReportOpen, CreatedAt: chat.At(storeAt(at)),
	}
}

func testReportsPage(t *testing.T, s chat.Store) {
	ctx := t.Context()
	var open, all []string
	for i := range 5 {
		r := newReport(chat.NewID(), i)
		if err := s.CreateReport(ctx, r); err != nil {
			t.Fatalf("CreateReport: %v", err)
		}
		all = append([]string{r.ID}, all...)
		if i != 2 {
			open = append([]string{r.ID}, open...)
		} else if _, ok, err := s.ResolveReport(ctx, r.ID, chat.ActionDismiss, "boss", storeAt(9)); err != nil || !ok {
			t.Fatalf("ResolveReport: %v %v", ok, err)
		}
	}
	walk := func(status string) []string {
		var ids []string
		before := ""
		for range 10 {
			page, more, err := s.Reports(ctx, status, before, 2)
			if err != nil {
				t.Fatalf("Reports: %v", err)
			}
			for _, r := range page {
				ids = append(ids, r.ID)
			}
			if !more {
				break
			}
			before = page[len(page)-1].ID
		}
		return ids
	}
	if got := walk(chat.ReportOpen); !slices.Equal(got, open) {
		t.Errorf("open reports = %v, want newest first %v", got, open)
	}
	if got := walk(""); !slices.Equal(got, all) {
		t.Errorf("all reports = %v, want %v", got, all)
	}
	got, err := s.Report(ctx, all[4])
	if err != nil || got.Reason != "spam" || got.Status != chat.ReportOpen || got.ResolvedAt != nil || !got.CreatedAt.Equal(storeAt(0)) {
		t.Errorf("Report = %+v, %v", got, err)
	}
	_, err = s.Report(ctx, chat.NewID())
	wantNotFound(t, "Report(unknown)", err)
}

func testReportsCount(t *testing.T, s chat.Store) {
	ctx := t.Context()
	me := chat.NewID()
	for _, at := range []int{0, 5, 6, 7} {
		if err := s.CreateReport(ctx, newReport(me, at)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateReport(ctx, newReport(chat.NewID(), 6)); err != nil {
		t.Fatal(err)
	}
	if n, err := s.CountReportsSince(ctx, me, storeAt(5)); err != nil || n != 3 {
		t.Errorf("CountReportsSince = %d, %v; want 3", n, err)
	}
}

func testReportResolveOnce(t *testing.T, s chat.Store) {
	ctx := t.Context()
	r := newReport(chat.NewID(), 0)
	if err := s.CreateReport(ctx, r); err != nil {
		t.Fatal(err)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
	)
	for i := range 6 {
		wg.Go(func() {
			got, ok, err := s.ResolveReport(ctx, r.ID, chat.ActionDeleteMessage, "admin"+string(rune('a'+i)), storeAt(3))
			if err != nil || got.Status != chat.ReportResolved || got.Action != chat.ActionDeleteMessage || got.ResolvedAt == nil {
				t.Errorf("ResolveReport = %+v, %v", got, err)
			}
			if ok {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d resolutions took effect, want exactly 1", wins)
	}
	_, _, err := s.ResolveReport(ctx, chat.NewID(), chat.ActionDismiss, "x", storeAt(3))
	wantNotFound(t, "ResolveReport(unknown)", err)
}
