package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/chatchat/chatchat/chat"
)

// TestMigrateToRevs: a database from before revisions (schema version 7) keeps its rooms
// and messages, which read as rev 0; the room's next message takes rev 1, and a change to
// an old message the next rev after that.
func TestMigrateToRevs(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range migrations[:7] {
		if _, err := db.ExecContext(ctx, m); err != nil {
			t.Fatalf("old migration: %v", err)
		}
	}
	for _, q := range []string{
		`CREATE TABLE schema_version (version INTEGER NOT NULL) STRICT`,
		`INSERT INTO schema_version (version) VALUES (7)`,
		`INSERT INTO users (id, username, username_key, display_name, display_key, password_hash, created_at) VALUES ('u1', 'ann', 'ann', 'Ann', 'ann', 'x', 0)`,
		`INSERT INTO rooms (id, type, name, direct_key, last_seq, created_at, active_at) VALUES ('r1', 'group', 'g', NULL, 2, 0, 0)`,
		`INSERT INTO memberships (room_id, user_id, joined_at) VALUES ('r1', 'u1', 0)`,
		`INSERT INTO messages (id, room_id, seq, sender_id, client_msg_id, type, text, created_at) VALUES ('m1', 'r1', 1, 'u1', 'c1', 'text', 'one', 0)`,
		`INSERT INTO messages (id, room_id, seq, sender_id, client_msg_id, type, text, created_at) VALUES ('m2', 'r1', 2, 'u1', 'c2', 'text', 'two', 0)`,
	} {
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
	r, err := s.Room(ctx, "r1")
	if err != nil || r.LastRev != 0 || r.LastSeq != 2 {
		t.Fatalf("migrated room: %+v, %v", r, err)
	}
	page, _, err := s.Messages(ctx, "r1", chat.HistoryQuery{Limit: 10})
	if err != nil || len(page) != 2 || page[0].Rev != 0 || page[1].Text != "two" {
		t.Fatalf("migrated messages: %+v, %v", page, err)
	}
	if ch, _, err := s.Changes(ctx, "r1", 0, 10); err != nil || len(ch) != 0 {
		t.Fatalf("changes of a migrated room: %d, %v; want none", len(ch), err)
	}
	m3, _, err := s.CreateMessage(ctx, chat.Message{ID: "m3", RoomID: "r1", SenderID: "u1", ClientMsgID: "c3", Type: chat.MessageText, Text: "three"}, nil)
	if err != nil || m3.Seq != 3 || m3.Rev != 1 {
		t.Fatalf("new message after the migration: seq %d rev %d, %v; want 3 and 1", m3.Seq, m3.Rev, err)
	}
	m1, _, err := s.ChangeMessage(ctx, chat.Change{Kind: chat.ChangeEdit, RoomID: "r1", MessageID: "m1", Text: "one!"})
	if err != nil || m1.Rev != 2 {
		t.Fatalf("edit of an old message: rev %d, %v; want 2", m1.Rev, err)
	}
}
