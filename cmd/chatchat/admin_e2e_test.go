package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/client"
)

// TestAdministration: `chatchat admin grant` (run beside the running cluster, on its
// store) makes a user an administrator at once; the administrator lists users and suspends
// one, whose socket on a chat node closes with 4003, whose tokens every node refuses and
// whose login is refused with 403 suspended; unsuspending lets them log in again; a revoke
// takes effect at once; every action is in the audit log.
func TestAdministration(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()
	boss, bossA := newUser(t, c.api, "boss")
	bob, bobA := newUser(t, c.api, "bob")

	// Not an administrator yet: 403 not_admin, and the profile says so.
	if _, err := boss.AdminUsers(ctx, "", 0, ""); client.ErrorCode(err) != "not_admin" || client.ErrorStatus(err) != http.StatusForbidden {
		t.Fatalf("admin API before the grant: %v, want 403 not_admin", err)
	}
	if me, err := boss.Me(ctx); err != nil || me.Admin {
		t.Fatalf("me before the grant = %+v, %v", me, err)
	}
	adminCmd(t, c, "grant", bossA.User.Username)
	if me, err := boss.Me(ctx); err != nil || !me.Admin {
		t.Fatalf("me after the grant = %+v, %v; want admin", me, err)
	}
	if _, err := bob.AdminUsers(ctx, "", 0, ""); client.ErrorCode(err) != "not_admin" {
		t.Fatalf("another user on the admin API: %v, want not_admin", err)
	}

	list, err := boss.AdminUsers(ctx, bobA.User.Username[:4], 0, "")
	if err != nil || len(list.Users) == 0 {
		t.Fatalf("admin users: %+v, %v", list, err)
	}
	found := false
	for _, u := range list.Users {
		found = found || u.ID == bobA.User.ID && u.SuspendedAt == nil && !u.Admin
	}
	if !found {
		t.Fatalf("admin users %+v lack bob, unsuspended", list.Users)
	}

	bc := connect(t, wsClient(c.ws1, bob))
	tokens := bob.Tokens()
	u, err := boss.Suspend(ctx, bobA.User.ID)
	if err != nil || u.SuspendedAt == nil {
		t.Fatalf("suspend = %+v, %v", u, err)
	}
	closedWith(t, bc, client.CloseForbidden)
	if _, err := client.New(c.api.URL, client.WithTokens(tokens)).Me(ctx); client.ErrorStatus(err) != http.StatusUnauthorized {
		t.Errorf("API with a suspended user's tokens: %v, want 401", err)
	}
	if _, err := client.New(c.ws2.URL, client.WithTokens(client.Tokens{AccessToken: tokens.AccessToken}), client.WithHeartbeat(0)).Connect(ctx); client.ErrorStatus(err) != http.StatusUnauthorized {
		t.Errorf("chat node handshake with a suspended user's token: %v, want 401", err)
	}
	again := client.New(c.api.URL, client.WithHeartbeat(0))
	if _, err := again.Login(ctx, bobA.User.Username, "correct horse battery"); client.ErrorCode(err) != "suspended" || client.ErrorStatus(err) != http.StatusForbidden {
		t.Errorf("a suspended user's login: %v, want 403 suspended", err)
	}
	if _, err := boss.Suspend(ctx, bossA.User.ID); client.ErrorStatus(err) != http.StatusBadRequest {
		t.Errorf("suspending oneself: %v, want 400", err)
	}

	if u, err := boss.Unsuspend(ctx, bobA.User.ID); err != nil || u.SuspendedAt != nil {
		t.Fatalf("unsuspend = %+v, %v", u, err)
	}
	if _, err := again.Login(ctx, bobA.User.Username, "correct horse battery"); err != nil {
		t.Errorf("login after unsuspend: %v", err)
	}

	adminCmd(t, c, "revoke", bossA.User.Username)
	if _, err := boss.AdminUsers(ctx, "", 0, ""); client.ErrorCode(err) != "not_admin" {
		t.Errorf("admin API after the revoke: %v, want not_admin", err)
	}
	adminCmd(t, c, "grant", bossA.User.Username)
	audit, err := boss.AuditLog(ctx, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range audit.Entries {
		actions = append(actions, e.Action+"/"+e.Via)
	}
	want := []string{"grant_admin/cli", "revoke_admin/cli", chat.AuditUnsuspend + "/api", chat.AuditSuspend + "/api", "grant_admin/cli"}
	if strings.Join(actions, " ") != strings.Join(want, " ") {
		t.Errorf("audit = %v, want newest first %v", actions, want)
	}
	if e := audit.Entries[3]; e.ActorID != bossA.User.ID || e.TargetID != bobA.User.ID {
		t.Errorf("suspend entry = %+v, want actor boss and target bob", e)
	}
}

// adminCmd runs `chatchat admin VERB USERNAME` on the cluster's store, as an operator would
// beside the running servers.
func adminCmd(t *testing.T, c *cluster, verb, username string) {
	t.Helper()
	var out, errOut bytes.Buffer
	args := append(append([]string{"admin", verb}, c.args...), username)
	if err := run(context.Background(), args, nil, &out, &errOut); err != nil {
		t.Fatalf("chatchat admin %s: %v\n%s", verb, err, errOut.String())
	}
	if !strings.Contains(out.String(), username) {
		t.Errorf("chatchat admin %s printed %q", verb, out.String())
	}
}
