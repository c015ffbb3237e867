package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/chattest"
	"github.com/chatchat/chatchat/sqlite"
)

// open opens a store in a fresh temporary directory, closed when the test ends.
func open(tb testing.TB) *sqlite.Store {
	tb.Helper()
	return openAt(tb, filepath.Join(tb.TempDir(), "chat.db"))
}

func openAt(tb testing.TB, path string) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(context.Background(), path)
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
	chattest.TestStore(t, func(t *testing.T) chat.Store { return open(t) })
}

func TestPing(t *testing.T) {
	if err := open(t).Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

// TestReopen checks that data outlives the process and that opening a database whose
// schema is current migrates nothing and loses nothing.
func TestReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "sub", "dir", "chat.db") // the directory is created
	s, err := sqlite.Open(ctx, path)
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

	s = openAt(t, path)
	if _, err := s.User(ctx, u.ID); err != nil {
		t.Fatalf("User after reopen: %v", err)
	}
}

func TestOpenRejectsURIs(t *testing.T) {
	for _, p := range []string{"", "file:chat.db", filepath.Join(t.TempDir(), "chat.db?mode=ro")} {
		if s, err := sqlite.Open(t.Context(), p); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", p)
		}
	}
}

// TestBackupWhileWriting takes backups while messages are being sent, and checks that
// each copy opens as a working store holding a consistent prefix of the room.
func TestBackupWhileWriting(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := open(t)
	u := chat.User{ID: chat.NewID(), Username: "writer", DisplayName: "W", CreatedAt: chat.At(time.Now())}
	if err := s.CreateUser(ctx, u, "h"); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	room := chat.Room{ID: chat.NewID(), Type: chat.RoomGroup, Name: "r", MemberIDs: []string{u.ID}, CreatedAt: chat.At(time.Now())}
	if err := s.CreateRoom(ctx, room, ""); err != nil {
		t.Fatalf("CreateRoom: %v", err)
	}

	var (
		sent atomic.Int64
		stop = make(chan struct{})
		wg   sync.WaitGroup
	)
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			m := chat.Message{ID: chat.NewID(), RoomID: room.ID, SenderID: u.ID, ClientMsgID: chat.NewID(),
				Type: chat.MessageText, Text: fmt.Sprint("m", i), CreatedAt: chat.At(time.Now())}
			if _, _, err := s.CreateMessage(ctx, m, []string{u.ID}); err != nil {
				t.Errorf("CreateMessage during backup: %v", err)
				return
			}
			sent.Add(1)
		}
	})
	// Let some writes land first, so that the copies are not all empty.
	for sent.Load() < 20 {
		time.Sleep(time.Millisecond)
	}

	var paths []string
	for i := range 3 {
		p := filepath.Join(dir, fmt.Sprintf("backup-%d.db", i))
		if err := s.Backup(ctx, p); err != nil {
			t.Fatalf("Backup: %v", err)
		}
		paths = append(paths, p)
	}
	// Backing up over an earlier copy replaces it.
	if err := s.Backup(ctx, paths[0]); err != nil {
		t.Fatalf("Backup over an existing file: %v", err)
	}
	close(stop)
	wg.Wait()

	for _, p := range paths {
		c := openAt(t, p)
		r, err := c.Room(ctx, room.ID)
		if err != nil {
			t.Fatalf("%s: Room: %v", filepath.Base(p), err)
		}
		if r.LastSeq < 20 {
			t.Errorf("%s: room's last seq = %d, want at least the 20 sent before the backup", filepath.Base(p), r.LastSeq)
		}
		// Consistent: the room's last seq and its messages agree, and the read cursor
		// advanced in the same transaction as each message.
		msgs, more, err := c.Messages(ctx, room.ID, chat.HistoryQuery{Limit: 1})
		if err != nil || more != (r.LastSeq > 1) || len(msgs) != 1 || msgs[0].Seq != r.LastSeq {
			t.Errorf("%s: newest message = %v, hasMore %v, %v; want seq %d", filepath.Base(p), msgs, more, err, r.LastSeq)
		}
		m, err := c.Member(ctx, room.ID, u.ID)
		if err != nil || m.LastReadSeq != r.LastSeq {
			t.Errorf("%s: cursor = %d, %v; want %d", filepath.Base(p), m.LastReadSeq, err, r.LastSeq)
		}
		// The copy is a live database: it takes writes.
		if _, _, err := c.CreateMessage(ctx, chat.Message{ID: chat.NewID(), RoomID: room.ID, SenderID: u.ID,
			Type: chat.MessageText, Text: "after restore", CreatedAt: chat.At(time.Now())}, nil); err != nil {
			t.Errorf("%s: CreateMessage: %v", filepath.Base(p), err)
		}
	}
}

// BenchmarkCreateMessage measures the storage write path of a send: seq allocation, the
// insert and the sender's cursor, one transaction each.
func BenchmarkCreateMessage(b *testing.B) {
	for _, members := range []int{2, 100} {
		b.Run(fmt.Sprintf("members=%d", members), func(b *testing.B) {
			ctx := context.Background()
			s := open(b)
			var ids []string
			for i := range members {
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
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					m := chat.Message{ID: chat.NewID(), RoomID: room.ID, SenderID: ids[0], ClientMsgID: chat.NewID(),
						Type: chat.MessageText, Text: "hello, world", CreatedAt: chat.At(time.Now())}
					if _, _, err := s.CreateMessage(ctx, m, ids[:1]); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

func TestMessageSearch(t *testing.T) {
	chattest.TestMessageSearch(t, func(t *testing.T) chat.Store { return open(t) })
}
