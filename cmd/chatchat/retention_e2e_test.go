package main

import (
	"context"
	"net/http"
	"testing"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/client"
)

// TestRoomRetention: an administrator sets a room's retention through the API of a cluster
// (on the MongoDB-wire store); the members' sockets on a chat node hear ROOM_UPDATED with
// it, the room shows it, the audit log has it, and only administrators may. The sweep
// itself is held by the chat and store suites, which control the clock.
func TestRoomRetention(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()
	boss, bossA := newUser(t, c.api, "boss")
	ann, _ := newUser(t, c.api, "ann")
	g, _, err := ann.CreateRoom(ctx, client.NewRoom{Type: "group", Name: "g"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ann.SetRoomRetention(ctx, g.ID, 7)
	wantAPIError(t, err, http.StatusForbidden, "not_admin")
	adminCmd(t, c, "grant", bossA.User.Username)

	conn := connect(t, wsClient(c.ws1, ann))
	r, err := boss.SetRoomRetention(ctx, g.ID, 7)
	if err != nil || retentionOf(r) != 7 || r.ID != g.ID {
		t.Fatalf("SetRoomRetention = %+v, %v", r, err)
	}
	expect(t, conn, "ROOM_UPDATED", func(ev client.Event) bool {
		rr, err := ev.Room()
		return err == nil && rr.ID == g.ID && retentionOf(rr) == 7
	})
	if got, err := ann.Room(ctx, g.ID); err != nil || retentionOf(got) != 7 {
		t.Fatalf("the member's room = %+v, %v; want retentionDays 7", got, err)
	}
	_, err = boss.SetRoomRetention(ctx, g.ID, -1)
	wantAPIError(t, err, http.StatusBadRequest, "bad_request")
	_, err = boss.SetRoomRetention(ctx, "no-such-room", 7)
	wantAPIError(t, err, http.StatusNotFound, "room_not_found")
	if r, err := boss.SetRoomRetention(ctx, g.ID, 0); err != nil || retentionOf(r) != 0 {
		t.Fatalf("forever (0) = %+v, %v", r, err)
	}
	log, err := boss.AuditLog(ctx, 10, "")
	if err != nil || len(log.Entries) < 2 || log.Entries[0].Action != "set_retention" || log.Entries[0].Detail != "0 days" || log.Entries[1].Detail != "7 days" {
		t.Fatalf("audit log = %+v, %v", log.Entries, err)
	}
}

// retentionOf is a room's own retention in days; -1 when it has none (the server's default).
func retentionOf(r chat.Room) int {
	if r.RetentionDays == nil {
		return -1
	}
	return *r.RetentionDays
}
