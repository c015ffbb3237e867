package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// migrations are applied in order, each once; schema_version holds how many have been.
// Append only: never edit a migration that has shipped.
var migrations = []string{
	// 1: users, refresh tokens, rooms, memberships, messages.
	`
CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	username      TEXT NOT NULL,
	-- Lower-cased copies make uniqueness and prefix search case-insensitive and indexable.
	username_key  TEXT NOT NULL UNIQUE,
	display_name  TEXT NOT NULL,
	display_key   TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	created_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX users_display_key ON users (display_key);

CREATE TABLE refresh_tokens (
	hash       TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	family_id  TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used       INTEGER NOT NULL DEFAULT 0,
	revoked    INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

CREATE TABLE rooms (
	id         TEXT PRIMARY KEY,
	type       TEXT NOT NULL,
	name       TEXT NOT NULL,
	-- NULL for group rooms; UNIQUE lets any number of NULLs through.
	direct_key TEXT UNIQUE,
	last_seq   INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,
	-- The time of the last message, or of creation: orders a user's room list.
	active_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE memberships (
	room_id       TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
	user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	last_read_seq INTEGER NOT NULL DEFAULT 0,
	muted         INTEGER NOT NULL DEFAULT 0,
	joined_at     INTEGER NOT NULL,
	PRIMARY KEY (room_id, user_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX memberships_user ON memberships (user_id, room_id);

CREATE TABLE messages (
	id            TEXT PRIMARY KEY,
	room_id       TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
	seq           INTEGER NOT NULL,
	sender_id     TEXT NOT NULL,
	client_msg_id TEXT NOT NULL,
	type          TEXT NOT NULL,
	text          TEXT NOT NULL,
	media_id      TEXT NOT NULL DEFAULT '',
	created_at    INTEGER NOT NULL
) STRICT;
-- History pages and a room's last message (seq = rooms.last_seq) are range and point
-- look-ups on this index.
CREATE UNIQUE INDEX messages_room_seq ON messages (room_id, seq);
-- Idempotent sends. A message without a client id is never a retry of another.
CREATE UNIQUE INDEX messages_sender_client ON messages (sender_id, client_msg_id)
	WHERE client_msg_id <> '';
`,
	// 2: push devices and the notification history.
	`
CREATE TABLE devices (
	token      TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	platform   TEXT NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX devices_user ON devices (user_id);

CREATE TABLE notifications (
	id         TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL,
	token      TEXT NOT NULL,
	message_id TEXT NOT NULL,
	room_id    TEXT NOT NULL,
	seq        INTEGER NOT NULL,
	platform   TEXT NOT NULL,
	status     TEXT NOT NULL,
	error      TEXT NOT NULL DEFAULT '',
	title      TEXT NOT NULL,
	body       TEXT NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;
-- One entry per message and device: a job redelivered by the queue finds the devices
-- already pushed here and skips them.
CREATE UNIQUE INDEX notifications_message_token ON notifications (message_id, token);
CREATE INDEX notifications_user ON notifications (user_id, id);
`,
	// 3: uploaded media (the bytes are in a blob store).
	`
CREATE TABLE media (
	id           TEXT PRIMARY KEY,
	room_id      TEXT NOT NULL,
	uploader_id  TEXT NOT NULL,
	filename     TEXT NOT NULL,
	content_type TEXT NOT NULL,
	size         INTEGER NOT NULL,
	width        INTEGER NOT NULL DEFAULT 0,
	height       INTEGER NOT NULL DEFAULT 0,
	has_thumb    INTEGER NOT NULL DEFAULT 0,
	pending      INTEGER NOT NULL DEFAULT 0,
	attached     INTEGER NOT NULL DEFAULT 0,
	created_at   INTEGER NOT NULL
) STRICT;
-- The orphan collector's scan: only uploads no message refers to, oldest first.
CREATE INDEX media_unattached ON media (created_at) WHERE attached = 0;
`,
	// 4: what UnreadCount needs to count a message's unread members in O(readers) rather
	// than O(members): the room's member count, kept by triggers (so that cascades from
	// deleted users count too), and the members by read cursor, whose range at or past a
	// new message's seq holds only the sender and the room's viewers.
	`
ALTER TABLE rooms ADD COLUMN member_count INTEGER NOT NULL DEFAULT 0;
UPDATE rooms SET member_count = (SELECT count(*) FROM memberships m WHERE m.room_id = rooms.id);
CREATE INDEX memberships_read ON memberships (room_id, last_read_seq);
CREATE TRIGGER memberships_count_insert AFTER INSERT ON memberships BEGIN
	UPDATE rooms SET member_count = member_count + 1 WHERE id = NEW.room_id;
END;
CREATE TRIGGER memberships_count_delete AFTER DELETE ON memberships BEGIN
	UPDATE rooms SET member_count = member_count - 1 WHERE id = OLD.room_id;
END;
`,
	// 5: the outbox: messages stored but not yet published to their sessions and pushes.
	// A row is written in the message's own transaction and deleted once it went out.
	`
CREATE TABLE outbox (
	message_id TEXT PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX outbox_created ON outbox (created_at);
`,
	// 6: sessions that end. A used refresh token keeps when it was used and the sealed
	// pair it was exchanged for, so that a repeat within the grace period gets the same
	// pair; a user's tokens by creation time find the sessions that logout-all ends; tokens
	// by expiry are what pruning deletes. revocations holds the ended sessions whose access
	// tokens may still be alive, until the longest of those has expired.
	`
ALTER TABLE refresh_tokens ADD COLUMN used_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE refresh_tokens ADD COLUMN successor BLOB;
ALTER TABLE refresh_tokens ADD COLUMN grace_used INTEGER NOT NULL DEFAULT 0;
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id, created_at);
CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at);
-- The few tokens that hold a sealed successor, for dropping it once the grace is over.
CREATE INDEX refresh_tokens_sealed ON refresh_tokens (used_at) WHERE successor IS NOT NULL;

CREATE TABLE revocations (
	session_id TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX revocations_expiry ON revocations (expires_at);
`,
	// 7: the upload quotas' question, a user's uploads of the last hour and the bytes of
	// all of them, answered from one range of this index without reading the table.
	`
CREATE INDEX media_uploader ON media (uploader_id, created_at, size);
`,
	// 8: server administration: who administers, who is suspended, and the audit log of
	// what administrators did (ids are time-ordered, so the key pages it newest first).
	`
ALTER TABLE users ADD COLUMN admin INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN suspended_at INTEGER;
CREATE TABLE audit (
	id          TEXT PRIMARY KEY,
	actor_id    TEXT NOT NULL,
	via         TEXT NOT NULL,
	action      TEXT NOT NULL,
	target_type TEXT NOT NULL,
	target_id   TEXT NOT NULL,
	detail      TEXT NOT NULL,
	created_at  INTEGER NOT NULL
) STRICT;
`,
	// 9: who blocks whom; the second index answers "which of these users block me".
	`
CREATE TABLE blocks (
	blocker_id TEXT NOT NULL,
	blocked_id TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (blocker_id, blocked_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX blocks_blocked ON blocks (blocked_id, blocker_id);
`,
	// 10: reports of messages to the administrators: listed by status newest first, and
	// counted per reporter for the daily quota.
	`
CREATE TABLE reports (
	id          TEXT PRIMARY KEY,
	room_id     TEXT NOT NULL,
	message_id  TEXT NOT NULL,
	reporter_id TEXT NOT NULL,
	sender_id   TEXT NOT NULL,
	reason      TEXT NOT NULL,
	status      TEXT NOT NULL,
	action      TEXT NOT NULL DEFAULT '',
	resolved_by TEXT NOT NULL DEFAULT '',
	resolved_at INTEGER,
	created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX reports_status ON reports (status, id);
CREATE INDEX reports_reporter ON reports (reporter_id, created_at);
`,
	// 11: delivery cursors. A member's last_delivered_seq is never behind last_read_seq
	// (what was read was delivered), so existing memberships start there; the index is
	// UndeliveredCount's, as memberships_read is UnreadCount's.
	`
ALTER TABLE memberships ADD COLUMN last_delivered_seq INTEGER NOT NULL DEFAULT 0;
UPDATE memberships SET last_delivered_seq = last_read_seq;
CREATE INDEX memberships_delivered ON memberships (room_id, last_delivered_seq);
`,
	// 12: rich messages. A room's change counter (last_rev) and each message's rev: every
	// create and change takes the room's next one. Existing rooms and messages start at
	// rev 0 (free: no row is rewritten); their first change gets rev 1. A message's
	// reactions are rows of their own, one per (message, emoji, user), so that a reaction
	// is one small insert whatever the message already has; their id orders emoji by first
	// use. Mentions are kept with the message for reading and in mentions, whose
	// (room_id, user_id, seq) key counts a member's unread mentions as an index range.
	// change_pending_at marks a change not yet published (the outbox of changes).
	`
ALTER TABLE rooms ADD COLUMN last_rev INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN reply_to_id TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN mentions TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN edited_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN deleted_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN pinned_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN pinned_by TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN change_pending_at INTEGER;
CREATE INDEX messages_room_rev ON messages (room_id, rev);
CREATE INDEX messages_room_pinned ON messages (room_id, pinned_at) WHERE pinned_at > 0;
CREATE INDEX messages_change_pending ON messages (change_pending_at) WHERE change_pending_at IS NOT NULL;

CREATE TABLE reactions (
	id         INTEGER PRIMARY KEY,
	message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
	emoji      TEXT NOT NULL,
	user_id    TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX reactions_key ON reactions (message_id, emoji, user_id);
-- A message's reactions in order of first use, without a sort.
CREATE INDEX reactions_message ON reactions (message_id, id);

CREATE TABLE mentions (
	room_id    TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	seq        INTEGER NOT NULL,
	message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
	PRIMARY KEY (room_id, user_id, seq)
) STRICT, WITHOUT ROWID;
CREATE INDEX mentions_message ON mentions (message_id);
`,
	// 13: the user's data: their messages by sender for export and erasure, and when an
	// erased user was erased.
	`
CREATE INDEX messages_sender ON messages (sender_id, id);
ALTER TABLE users ADD COLUMN erased_at INTEGER;
`,
	// 14: group moderation. Each membership has a role; a room records its creator and has
	// a description; bans keep who may not be added back. Earlier versions did not record
	// a group's creator, so each existing group's earliest member (by joined_at, ties by
	// user id) becomes its owner. The members a group was created with share its creation
	// time as joined_at, so among them this is the lowest user id (ids are time-ordered:
	// the one who signed up first), which need not be the creator; it is the closest
	// stored fact, and the owner can pass the role on by promoting and leaving. Direct
	// rooms' members stay 'member'.
	`
ALTER TABLE rooms ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE rooms ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
ALTER TABLE memberships ADD COLUMN role TEXT NOT NULL DEFAULT 'member';
UPDATE memberships AS m SET role = 'owner'
WHERE m.room_id IN (SELECT id FROM rooms WHERE type = 'group')
  AND m.user_id = (SELECT e.user_id FROM memberships e WHERE e.room_id = m.room_id
                   ORDER BY e.joined_at, e.user_id LIMIT 1);

CREATE TABLE bans (
	room_id    TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
	user_id    TEXT NOT NULL,
	banned_by  TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (room_id, user_id)
) STRICT, WITHOUT ROWID;
`,
	// 15: message search (search.go). An FTS5 index of each message's text and room,
	// keyed by the message's rowid; contentless (the text is read from messages) with
	// deletes, so that an edit or a delete takes the old entry out. unicode61 splits
	// tokens as chat.SearchWords does; the prefix indexes make the two- and three-
	// character prefix queries of Korean words an index look-up. The index is not written
	// in a send's transaction, where FTS5's per-transaction segment doubled a send's cost:
	// the triggers queue the message in search_pending (fresh: never indexed, so nothing to
	// take out first), and the store's indexer applies the queue in batches, and a search
	// first (read-your-writes). Every write path queues: sends, edits, tombstones, erasure,
	// retention and rooms' deletions.
	`
CREATE VIRTUAL TABLE message_search USING fts5(room, body,
	tokenize = "unicode61 remove_diacritics 2 categories 'L* N* Co M*'",
	prefix = '2 3', content = '', contentless_delete = 1);
INSERT INTO message_search (rowid, room, body)
	SELECT rowid, room_id, text FROM messages WHERE text <> '' AND deleted_at = 0;
CREATE TABLE search_pending (
	msg_rowid INTEGER PRIMARY KEY,
	fresh     INTEGER NOT NULL
) STRICT;
CREATE TRIGGER messages_search_insert AFTER INSERT ON messages
	WHEN new.text <> '' AND new.deleted_at = 0 BEGIN
	INSERT OR IGNORE INTO search_pending (msg_rowid, fresh) VALUES (new.rowid, 1);
END;
CREATE TRIGGER messages_search_update AFTER UPDATE OF text, deleted_at ON messages
	WHEN old.text IS NOT new.text OR old.deleted_at IS NOT new.deleted_at BEGIN
	INSERT OR IGNORE INTO search_pending (msg_rowid, fresh) VALUES (old.rowid, 0);
END;
CREATE TRIGGER messages_search_delete AFTER DELETE ON messages BEGIN
	INSERT OR IGNORE INTO search_pending (msg_rowid, fresh) VALUES (old.rowid, 0);
END;
`,
	// 16: retention (retention.go). A room's own retention in days (0: forever; NULL: the
	// server's default) and the highest seq its sweeps deleted.
	`
ALTER TABLE rooms ADD COLUMN retention_days INTEGER;
ALTER TABLE rooms ADD COLUMN expired_through_seq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX rooms_retention ON rooms (retention_days) WHERE retention_days IS NOT NULL;
`,
	// 17: erasures that finish after a crash (erasing_at: begun, not ended) and erased
	// users' usernames held for a while (name_held: username_key still the old name's).
	`
ALTER TABLE users ADD COLUMN erasing_at INTEGER;
ALTER TABLE users ADD COLUMN name_held INTEGER NOT NULL DEFAULT 0;
CREATE INDEX users_erasing ON users (erasing_at) WHERE erasing_at IS NOT NULL;
CREATE INDEX users_name_held ON users (erased_at) WHERE name_held = 1;
`,
}

// migrate brings the schema up to date, one transaction per migration, so that a failed
// migration leaves the database at the previous version.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx,
		`CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL) STRICT`); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	for {
		done := false
		err := s.write(ctx, "migrate", func(tx *sql.Tx) error {
			var v int
			err := tx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
					return fmt.Errorf("sqlite: migrate: %w", err)
				}
			case err != nil:
				return fmt.Errorf("sqlite: migrate: read version: %w", err)
			}
			if v > len(migrations) {
				return fmt.Errorf("sqlite: migrate: database is at schema version %d, newer than this program's %d", v, len(migrations))
			}
			if v == len(migrations) {
				done = true
				return nil
			}
			if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
				return fmt.Errorf("sqlite: migrate to version %d: %w", v+1, err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = ?`, v+1); err != nil {
				return fmt.Errorf("sqlite: migrate to version %d: %w", v+1, err)
			}
			s.logger.Info("sqlite schema migrated", "version", v+1)
			return nil
		})
		if err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}
