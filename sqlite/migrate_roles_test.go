package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/chatchat/chatchat/chat"
)

// TestMigrateToRoles: a database from before roles (schema version 12) gets an owner in
// every group: its earliest member by joined_at, ties by user id. The founding members
// share the room's creation time, so the lowest id among them wins; where they all left,
// the member who joined first. Direct rooms' members stay members.
func TestMigrateToRoles(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range migrations[:12] {
		if _, err := db.ExecContext(ctx, m); err != nil {
			t.Fatalf("old migration: %v", err)
		}
	}
	stmts := []string{
		`CREATE TABLE schema_version (version INTEGER NOT NULL) STRICT`,
		`INSERT INTO schema_version (version) VALUES (12)`,
		// g1: founded by u2 and u1 at 0, u3 joined at 5. g2: its founders left; u3 joined
		// at 7, u1 at 9. d1: a direct room.
		`INSERT INTO rooms (id, type, name, direct_key, last_seq, created_at, active_at) VALUES ('g1', 'group', 'one', NULL, 0, 0, 0)`,
		`INSERT INTO rooms (id, type, name, direct_key, last_seq, created_at, active_at) VALUES ('g2', 'group', 'two', NULL, 0, 0, 0)`,
		`INSERT INTO rooms (id, type, name, direct_key, last_seq, created_at, active_at) VALUES ('d1', 'direct', '', 'u1:u2', 0, 0, 0)`,
		`INSERT INTO memberships (room_id, user_id, joined_at) VALUES ('g1', 'u2', 0), ('g1', 'u1', 0), ('g1', 'u3', 5)`,
		`INSERT INTO memberships (room_id, user_id, joined_at) VALUES ('g2', 'u1', 9), ('g2', 'u3', 7)`,
		`INSERT INTO memberships (room_id, user_id, joined_at) VALUES ('d1', 'u1', 0), ('d1', 'u2', 0)`,
	}
	for _, id := range []string{"u1", "u2", "u3"} {
		stmts = append(stmts, `INSERT INTO users (id, username, username_key, display_name, display_key, password_hash, created_at) VALUES ('`+id+`', '`+id+`', '`+id+`', 'x', 'x', 'x', 0)`)
	}
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open migrates: %v", err)
	}
	defer s.Close()
	for room, want := range map[string]map[string]string{
		"g1": {"u1": chat.RoleOwner, "u2": chat.RoleMember, "u3": chat.RoleMember},
		"g2": {"u3": chat.RoleOwner, "u1": chat.RoleMember},
		"d1": {"u1": chat.RoleMember, "u2": chat.RoleMember},
	} {
		ms, err := s.Members(ctx, room)
		if err != nil || len(ms) != len(want) {
			t.Fatalf("%s: members %+v, %v", room, ms, err)
		}
		for _, m := range ms {
			if m.Role != want[m.UserID] {
				t.Errorf("%s: %s is %q, want %q", room, m.UserID, m.Role, want[m.UserID])
			}
		}
	}
	r, err := s.Room(ctx, "g1")
	if err != nil || r.Description != "" || r.CreatedBy != "" {
		t.Fatalf("migrated room %+v, %v: want no description and no recorded creator", r, err)
	}
}
