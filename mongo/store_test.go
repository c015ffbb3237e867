package mongo_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/chattest"
	"github.com/chatchat/chatchat/internal/testenv"
	"github.com/chatchat/chatchat/mongo"
)

// open opens a store on its own database of srv, closed when the test ends.
func open(tb testing.TB, srv *testenv.MongoServer, opts ...mongo.Option) *mongo.Store {
	tb.Helper()
	s, err := mongo.Open(context.Background(), srv.URI, srv.Database(tb), opts...)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestStore(t *testing.T) {
	srv := testenv.Mongo(t)
	chattest.TestStore(t, func(t *testing.T) chat.Store { return open(t, srv) })
}

func TestPing(t *testing.T) {
	if err := open(t, testenv.Mongo(t)).Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

// TestReopen checks that opening a database whose indexes exist is harmless and loses
// nothing.
func TestReopen(t *testing.T) {
	ctx := t.Context()
	srv := testenv.Mongo(t)
	db := srv.Database(t)
	s, err := mongo.Open(ctx, srv.URI, db)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	u := chat.User{ID: chat.NewID(), Username: "kept", DisplayName: "Kept", CreatedAt: chat.At(time.Now())}
	if err := s.CreateUser(ctx, u, "h"); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s, err = mongo.Open(ctx, srv.URI, db)
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	defer s.Close()
	if _, err := s.User(ctx, u.ID); err != nil {
		t.Fatalf("User after reopen: %v", err)
	}
}

// TestDatabaseDown stops the server under an open store: every kind of operation then fails
// with a chat.Unavailable error (which the API turns into 503) instead of hanging, and
// opening a store fails the same way.
func TestDatabaseDown(t *testing.T) {
	srv := testenv.StartMongo(t) // private: this test stops it
	s := open(t, srv, mongo.WithServerSelectionTimeout(500*time.Millisecond))
	ctx := t.Context()
	u := chat.User{ID: chat.NewID(), Username: "before", DisplayName: "B", CreatedAt: chat.At(time.Now())}
	if err := s.CreateUser(ctx, u, "h"); err != nil {
		t.Fatalf("CreateUser while up: %v", err)
	}
	room := chat.Room{ID: chat.NewID(), Type: chat.RoomGroup, Name: "r", MemberIDs: []string{u.ID}, CreatedAt: chat.At(time.Now())}
	if err := s.CreateRoom(ctx, room, ""); err != nil {
		t.Fatalf("CreateRoom while up: %v", err)
	}

	srv.Stop()

	for _, c := range []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Ping", s.Ping},
		{"User", func(ctx context.Context) error { _, err := s.User(ctx, u.ID); return err }},
		{"CreateUser", func(ctx context.Context) error {
			return s.CreateUser(ctx, chat.User{ID: chat.NewID(), Username: "after", CreatedAt: chat.At(time.Now())}, "h")
		}},
		{"CreateMessage", func(ctx context.Context) error {
			_, _, err := s.CreateMessage(ctx, chat.Message{ID: chat.NewID(), RoomID: room.ID, SenderID: u.ID,
				ClientMsgID: "c1", Type: chat.MessageText, Text: "lost?", CreatedAt: chat.At(time.Now())}, []string{u.ID})
			return err
		}},
		{"Messages", func(ctx context.Context) error {
			_, _, err := s.Messages(ctx, room.ID, chat.HistoryQuery{})
			return err
		}},
		{"UserRooms", func(ctx context.Context) error {
			_, _, err := s.UserRooms(ctx, u.ID, chat.RoomPage{Limit: 10})
			return err
		}},
		{"AdvanceReadCursor", func(ctx context.Context) error { _, err := s.AdvanceReadCursor(ctx, room.ID, u.ID, 1); return err }},
	} {
		t.Run(c.name, func(t *testing.T) {
			// The caller's own deadline is far away: failing is the store's doing.
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			err := c.call(ctx)
			if chat.ErrorKind(err) != chat.Unavailable || chat.ErrorCode(err) != "store_unavailable" {
				t.Fatalf("%s with the database down = %v (kind %v), want a store_unavailable error", c.name, err, chat.ErrorKind(err))
			}
			if ctx.Err() != nil {
				t.Fatalf("%s returned only when the caller's deadline passed", c.name)
			}
		})
	}

	_, err := mongo.Open(ctx, srv.URI, "other", mongo.WithServerSelectionTimeout(500*time.Millisecond))
	if chat.ErrorKind(err) != chat.Unavailable {
		t.Errorf("Open with the database down = %v, want an Unavailable error", err)
	}
}

// TestStalledSendIsStoredByRetry plays a sender that fails between claiming its client id
// and storing the message: a retry with the same client id stores the message once the
// pending grace has passed, instead of waiting forever, and later retries get that one
// message back.
func TestStalledSendIsStoredByRetry(t *testing.T) {
	ctx := t.Context()
	srv := testenv.Mongo(t)
	s, err := mongo.Open(ctx, srv.URI, srv.Database(t), mongo.WithPendingGrace(time.Nanosecond))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	u := chat.User{ID: chat.NewID(), Username: "staller", DisplayName: "S", CreatedAt: chat.At(time.Now())}
	if err := s.CreateUser(ctx, u, "h"); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	room := chat.Room{ID: chat.NewID(), Type: chat.RoomGroup, Name: "r", MemberIDs: []string{u.ID}, CreatedAt: chat.At(time.Now())}
	if err := s.CreateRoom(ctx, room, ""); err != nil {
		t.Fatalf("CreateRoom: %v", err)
	}
	stalled := chat.Message{ID: chat.NewID(), RoomID: room.ID, SenderID: u.ID, ClientMsgID: "once",
		Type: chat.MessageText, Text: "hello", CreatedAt: chat.At(time.Now())}
	if err := mongo.ClaimOnly(ctx, s, stalled); err != nil {
		t.Fatalf("claim: %v", err)
	}

	retry := stalled
	retry.ID = chat.NewID()
	got, created, err := s.CreateMessage(ctx, retry, []string{u.ID})
	if err != nil || !created {
		t.Fatalf("retry = created %v, %v; want it to store the stalled message", created, err)
	}
	if got.ID != retry.ID || got.Seq != 1 {
		t.Errorf("retry returned %+v, want its message with seq 1", got)
	}
	again := retry
	again.ID = chat.NewID()
	if m, created, err := s.CreateMessage(ctx, again, nil); err != nil || created || m.ID != retry.ID {
		t.Errorf("second retry = %+v created %v, %v; want the stored message, not created", m, created, err)
	}
	msgs, _, err := s.Messages(ctx, room.ID, chat.HistoryQuery{})
	if err != nil || len(msgs) != 1 || msgs[0].ID != retry.ID {
		t.Errorf("history = %v, %v; want the one message", msgs, err)
	}
	rooms, _, err := s.UserRooms(ctx, u.ID, chat.RoomPage{Limit: 10})
	if err != nil || len(rooms) != 1 || rooms[0].LastMessage == nil || rooms[0].LastMessage.ID != retry.ID {
		t.Errorf("UserRooms = %+v, %v; want the room with the message as its last", rooms, err)
	}
	if c, err := s.Member(ctx, room.ID, u.ID); err != nil || c.LastReadSeq != 1 {
		t.Errorf("sender's cursor = %d, %v; want 1", c.LastReadSeq, err)
	}
}

// BenchmarkCreateMessage measures the storage write path of a send against the test server.
func BenchmarkCreateMessage(b *testing.B) {
	ctx := context.Background()
	s := open(b, testenv.Mongo(b))
	var ids []string
	for i := range 2 {
		u := chat.User{ID: chat.NewID(), Username: fmt.Sprint("u", i), DisplayName: "U", CreatedAt: chat.At(time.Now())}
		if err := s.CreateUser(ctx, u, "h"); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	room := chat.Room{ID: chat.NewID(), Type: chat.RoomGroup, Name: "r", MemberIDs: ids, CreatedAt: chat.At(time.Now())}
	if err := s.CreateRoom(ctx, room, ""); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		m := chat.Message{ID: chat.NewID(), RoomID: room.ID, SenderID: ids[0], ClientMsgID: chat.NewID(),
			Type: chat.MessageText, Text: "hello, world", CreatedAt: chat.At(time.Now())}
		if _, _, err := s.CreateMessage(ctx, m, ids[:1]); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBackfillOwners: groups stored before roles get their earliest member (by joinedAt,
// ties by user id) as owner when a store opens; direct rooms and groups that have an
// owner are left alone.
func TestBackfillOwners(t *testing.T) {
	ctx := t.Context()
	srv := testenv.Mongo(t)
	db := srv.Database(t)
	s, err := mongo.Open(ctx, srv.URI, db)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	var u []string
	for i := range 3 {
		user := chat.User{ID: fmt.Sprintf("u%d", i+1), Username: fmt.Sprintf("u%d", i+1), DisplayName: "U", CreatedAt: chat.At(time.Now())}
		if err := s.CreateUser(ctx, user, "h"); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		u = append(u, user.ID)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	// g1: founded by u2 and u1 together, u3 later; g2: its founders left, u3 joined before u1.
	for _, r := range []struct {
		id, typ string
		members []string
		joined  []time.Time
	}{
		{"g1", chat.RoomGroup, []string{u[1], u[0], u[2]}, []time.Time{at(0), at(0), at(5)}},
		{"g2", chat.RoomGroup, []string{u[0], u[2]}, []time.Time{at(9), at(7)}},
		{"d1", chat.RoomDirect, []string{u[0], u[1]}, []time.Time{at(0), at(0)}},
	} {
		if err := mongo.StoreLegacyRoom(ctx, s, r.id, r.typ, r.members, r.joined); err != nil {
			t.Fatalf("StoreLegacyRoom: %v", err)
		}
	}
	owned := chat.Room{ID: "g3", Type: chat.RoomGroup, MemberIDs: []string{u[0], u[2]}, CreatedAt: chat.At(at(0)), CreatedBy: u[2]}
	if err := s.CreateRoom(ctx, owned, ""); err != nil {
		t.Fatalf("CreateRoom: %v", err)
	}
	// Before the backfill, memberships without a role read as members.
	if m, err := s.Member(ctx, "g1", u[0]); err != nil || m.Role != chat.RoleMember {
		t.Fatalf("legacy member = %+v, %v", m, err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s2, err := mongo.Open(ctx, srv.URI, db)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s2.Close()
	for room, want := range map[string]map[string]string{
		"g1": {u[0]: chat.RoleOwner, u[1]: chat.RoleMember, u[2]: chat.RoleMember},
		"g2": {u[2]: chat.RoleOwner, u[0]: chat.RoleMember},
		"d1": {u[0]: chat.RoleMember, u[1]: chat.RoleMember},
		"g3": {u[2]: chat.RoleOwner, u[0]: chat.RoleMember},
	} {
		ms, err := s2.Members(ctx, room)
		if err != nil || len(ms) != len(want) {
			t.Fatalf("%s: members %+v, %v", room, ms, err)
		}
		for _, m := range ms {
			if m.Role != want[m.UserID] {
				t.Errorf("%s: %s is %q, want %q", room, m.UserID, m.Role, want[m.UserID])
			}
		}
	}
}

func TestMessageSearch(t *testing.T) {
	srv := testenv.Mongo(t)
	chattest.TestMessageSearch(t, func(t *testing.T) chat.Store { return open(t, srv) })
}
