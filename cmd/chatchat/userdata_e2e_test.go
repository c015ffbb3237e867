package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/client"
)

// TestExportAndErase: a user exports everything stored about them (profile, rooms, own
// messages, blocks, devices); erasing needs their password; once erased every message of
// theirs is a tombstone for the others, their profile is anonymised, their sockets close,
// and nobody can log in as them. An administrator erases another user, which the audit
// log records.
func TestExportAndErase(t *testing.T) {
	n := startNode(t, "", nil, "--rate-send", "0")
	ctx := context.Background()
	ann, annA := newUser(t, n, "ann")
	bob, bobA := newUser(t, n, "bob")
	room, _, err := ann.CreateRoom(ctx, client.NewRoom{Type: "direct", MemberIDs: []string{bobA.User.ID}})
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"first of ann", "second of ann"} {
		if _, _, err := ann.SendMessage(ctx, room.ID, client.NewMessage{Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := bob.SendMessage(ctx, room.ID, client.NewMessage{Text: "bob's"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ann.RegisterDevice(ctx, client.PlatformAndroid, "ann-phone-token"); err != nil {
		t.Fatal(err)
	}
	if err := ann.Block(ctx, bobA.User.ID); err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	if err := ann.Export(ctx, &buf); err != nil {
		t.Fatalf("export: %v", err)
	}
	var export struct {
		User     struct{ ID, Username string }
		Rooms    []struct{ ID string }
		Messages []struct{ Text, SenderID string }
		Blocked  []string `json:"blockedUserIds"`
		Devices  []struct{ Token string }
	}
	if err := json.Unmarshal(buf.Bytes(), &export); err != nil {
		t.Fatalf("export is not JSON: %v\n%s", err, buf.String())
	}
	if export.User.ID != annA.User.ID || len(export.Rooms) != 1 || len(export.Messages) != 2 ||
		export.Messages[0].Text != "first of ann" || len(export.Blocked) != 1 || len(export.Devices) != 1 {
		t.Fatalf("export = %+v", export)
	}

	conn := connect(t, ann)
	if err := ann.EraseMe(ctx, "not my password"); client.ErrorCode(err) != "bad_password" || client.ErrorStatus(err) != http.StatusForbidden {
		t.Fatalf("erase with a wrong password: %v, want 403 bad_password", err)
	}
	if err := ann.EraseMe(ctx, "correct horse battery"); err != nil {
		t.Fatalf("erase: %v", err)
	}
	closedWith(t, conn, client.CloseUnauthorized)
	page, _, err := bob.History(ctx, room.ID, chat.HistoryQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range page {
		if m.SenderID == annA.User.ID && (m.DeletedAt == nil || m.Text != "") {
			t.Errorf("an erased user's message survives: %+v", m)
		}
		if m.SenderID == bobA.User.ID && m.Text != "bob's" {
			t.Errorf("bob's own message changed: %+v", m)
		}
	}
	u, err := bob.User(ctx, annA.User.ID)
	if err != nil || u.DisplayName != "Deleted user" || strings.Contains(u.Username, "ann") {
		t.Errorf("the erased profile = %+v, %v", u, err)
	}
	again := client.New(n.URL, client.WithHeartbeat(0))
	if _, err := again.Login(ctx, annA.User.Username, "correct horse battery"); client.ErrorStatus(err) != http.StatusUnauthorized {
		t.Errorf("login as the erased user: %v, want 401", err)
	}
	// Her name is held: nobody can sign up as her at once.
	if _, err := again.Signup(ctx, annA.User.Username, "another horse battery", "Ann?"); client.ErrorCode(err) != "username_taken" {
		t.Errorf("signing up with the erased user's name: %v, want 409 username_taken", err)
	}
	// Her memberships ended.
	if r, err := bob.Room(ctx, room.ID); err != nil || slices.Contains(r.MemberIDs, annA.User.ID) {
		t.Errorf("the room after the erasure = %+v, %v; want her gone", r.MemberIDs, err)
	}

	// An administrator erases bob; the audit log says who did.
	boss, bossA := newUser(t, n, "boss")
	if err := bob.EraseUser(ctx, bossA.User.ID); client.ErrorCode(err) != "not_admin" {
		t.Errorf("erasing another user without being an administrator: %v, want not_admin", err)
	}
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"admin", "grant", "--data-dir", n.DataDir, bossA.User.Username}, nil, &out, &errOut); err != nil {
		t.Fatalf("admin grant: %v %s", err, errOut.String())
	}
	if err := boss.EraseUser(ctx, bobA.User.ID); err != nil {
		t.Fatalf("administrator erases bob: %v", err)
	}
	audit, err := boss.AuditLog(ctx, 0, "")
	if err != nil || len(audit.Entries) == 0 || audit.Entries[0].Action != "erase_user" || audit.Entries[0].TargetID != bobA.User.ID {
		t.Errorf("audit = %+v, %v; want erase_user of bob first", audit, err)
	}
}
