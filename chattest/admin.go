package chattest

import (
	"slices"
	"testing"

	"github.com/chatchat/chatchat/chat"
)

// TestUserAdminStore runs the contract of chat.UserAdminStore.
func TestUserAdminStore(t *testing.T, newStore func(t *testing.T) chat.Store) {
	runStoreCases(t, newStore, []storeCase{
		{"SetAdmin", testSetAdmin},
		{"SetSuspended", testSetSuspended},
		{"ListUsers", testListUsers},
	})
}

// TestAuditStore runs the contract of chat.AuditStore.
func TestAuditStore(t *testing.T, newStore func(t *testing.T) chat.Store) {
	runStoreCases(t, newStore, []storeCase{
		{"AddAndPage", testAuditPages},
	})
}

func testSetAdmin(t *testing.T, s chat.Store) {
	ctx := t.Context()
	u := storeUser(t, s, "ann")
	if got, _ := s.User(ctx, u.ID); got.Admin || got.SuspendedAt != nil {
		t.Fatalf("a new user = %+v, want neither admin nor suspended", got)
	}
	if err := s.SetAdmin(ctx, u.ID, true); err != nil {
		t.Fatalf("SetAdmin: %v", err)
	}
	got, err := s.User(ctx, u.ID)
	if err != nil || !got.Admin {
		t.Fatalf("after SetAdmin(true): %+v, %v", got, err)
	}
	byName, _, err := s.UserByUsername(ctx, "ANN")
	if err != nil || !byName.Admin {
		t.Errorf("UserByUsername after SetAdmin(true): %+v, %v", byName, err)
	}
	if err := s.SetAdmin(ctx, u.ID, false); err != nil {
		t.Fatalf("SetAdmin(false): %v", err)
	}
	if got, _ := s.User(ctx, u.ID); got.Admin {
		t.Error("still admin after SetAdmin(false)")
	}
	wantNotFound(t, "SetAdmin(unknown)", s.SetAdmin(ctx, chat.NewID(), true))
}

func testSetSuspended(t *testing.T, s chat.Store) {
	ctx := t.Context()
	u := storeUser(t, s, "ben")
	at := storeAt(3)
	got, err := s.SetSuspended(ctx, u.ID, &at)
	if err != nil || got.SuspendedAt == nil || !got.SuspendedAt.Equal(at) || got.ID != u.ID {
		t.Fatalf("SetSuspended = %+v, %v; want suspended at %v", got, err, at)
	}
	for _, read := range []func() (chat.User, error){
		func() (chat.User, error) { return s.User(ctx, u.ID) },
		func() (chat.User, error) { u, _, err := s.UserByUsername(ctx, "ben"); return u, err },
	} {
		if got, err := read(); err != nil || got.SuspendedAt == nil || !got.SuspendedAt.Equal(at) {
			t.Errorf("read back = %+v, %v; want suspended at %v", got, err, at)
		}
	}
	got, err = s.SetSuspended(ctx, u.ID, nil)
	if err != nil || got.SuspendedAt != nil {
		t.Fatalf("SetSuspended(nil) = %+v, %v; want not suspended", got, err)
	}
	if got, _ := s.User(ctx, u.ID); got.SuspendedAt != nil {
		t.Error("still suspended after SetSuspended(nil)")
	}
	_, err = s.SetSuspended(ctx, chat.NewID(), &at)
	wantNotFound(t, "SetSuspended(unknown)", err)
}

func testListUsers(t *testing.T, s chat.Store) {
	ctx := t.Context()
	for _, name := range []string{"carl", "Cara", "dora", "cecil", "bob"} {
		storeUser(t, s, name)
	}
	names := func(us []chat.User) []string {
		var out []string
		for _, u := range us {
			out = append(out, u.Username)
		}
		return out
	}
	// All users, two a page, in lower-cased username order.
	var all []string
	after := ""
	for range 10 {
		page, more, err := s.ListUsers(ctx, "", after, 2)
		if err != nil {
			t.Fatalf("ListUsers: %v", err)
		}
		all = append(all, names(page)...)
		if !more {
			break
		}
		after = chat.FoldKey(page[len(page)-1].Username)
	}
	if want := []string{"bob", "Cara", "carl", "cecil", "dora"}; !slices.Equal(all, want) {
		t.Fatalf("paged = %v, want %v", all, want)
	}
	// A prefix of username or display name (storeUser's display name is "Name <username>"
	// or the like; the username prefix is what this checks), case-insensitive.
	page, more, err := s.ListUsers(ctx, "CA", "", 10)
	if err != nil || more || !slices.Equal(names(page), []string{"Cara", "carl"}) {
		t.Errorf("ListUsers(CA) = %v, more %v, %v; want [Cara carl]", names(page), more, err)
	}
	page, more, err = s.ListUsers(ctx, "ca", "cara", 10)
	if err != nil || more || !slices.Equal(names(page), []string{"carl"}) {
		t.Errorf("ListUsers(ca, after cara) = %v, more %v, %v; want [carl]", names(page), more, err)
	}
	if _, _, err := s.ListUsers(ctx, "", "", 0); err == nil {
		t.Error("ListUsers(limit 0) gave no error")
	}
}

func testAuditPages(t *testing.T, s chat.Store) {
	ctx := t.Context()
	var ids []string
	for i := range 5 {
		e := chat.AuditEntry{
			ID: chat.NewID(), ActorID: chat.NewID(), Via: "api", Action: chat.AuditSuspend,
			TargetType: chat.TargetUser, TargetID: chat.NewID(), Detail: "d", CreatedAt: chat.At(storeAt(i)),
		}
		if i == 0 {
			e.ActorID, e.Via, e.Detail = "", "cli", ""
		}
		if err := s.AddAudit(ctx, e); err != nil {
			t.Fatalf("AddAudit: %v", err)
		}
		ids = append([]string{e.ID}, ids...)
	}
	var got []chat.AuditEntry
	before := ""
	for range 10 {
		page, more, err := s.Audit(ctx, before, 2)
		if err != nil {
			t.Fatalf("Audit: %v", err)
		}
		got = append(got, page...)
		if !more {
			break
		}
		before = page[len(page)-1].ID
	}
	var gotIDs []string
	for _, e := range got {
		gotIDs = append(gotIDs, e.ID)
	}
	if !slices.Equal(gotIDs, ids) {
		t.Fatalf("audit pages = %v, want newest first %v", gotIDs, ids)
	}
	last := got[len(got)-1]
	if last.Via != "cli" || last.ActorID != "" || last.Action != chat.AuditSuspend || last.TargetType != chat.TargetUser ||
		!last.CreatedAt.Equal(storeAt(0)) {
		t.Errorf("oldest entry = %+v", last)
	}
	if got[0].Detail != "d" || got[0].ActorID == "" {
		t.Errorf("newest entry = %+v", got[0])
	}
}
