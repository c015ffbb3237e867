package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/chattest"
	"github.com/chatchat/chatchat/sqlite"
)

// BenchmarkSearch measures GET /search/messages' store query on a database of
// CHATCHAT_SEARCH_BENCH_N messages (default 1,000,000) of chattest.Corpus text in 1,000
// rooms, for a user in 50 of them: each op is one query of chattest.CorpusQueries (a page
// of 20), and p50/p95/p99 are reported over all ops. The database is built once and kept
// in CHATCHAT_SEARCH_BENCH_DIR (default the system's temp dir), since building it takes
// minutes; its build rate is logged as the cost of writing messages with the index.
func BenchmarkSearch(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("CHATCHAT_SEARCH_BENCH_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	dir := os.Getenv("CHATCHAT_SEARCH_BENCH_DIR")
	if dir == "" {
		dir = os.TempDir()
	}
	path := filepath.Join(dir, fmt.Sprintf("chatchat-search-bench-%d.db", n))
	if _, err := os.Stat(path); err != nil {
		buildSearchFixture(b, path, n)
	}
	s := openAt(b, path)
	rooms, err := s.UserRoomIDs(context.Background(), searchBenchUser)
	if err != nil || len(rooms) != 50 {
		b.Fatalf("user's rooms = %d, %v; want 50", len(rooms), err)
	}
	chattest.BenchSearch(b, s, rooms)
}

const searchBenchUser = "01searchbenchuser000000000"

// buildSearchFixture writes n messages in 1,000 rooms through the schema's own triggers
// (so the FTS index is built as sends build it), in transactions of 10,000 rows.
func buildSearchFixture(b *testing.B, path string, n int) {
	b.Helper()
	ctx := context.Background()
	tmp := path + ".building"
	_ = os.Remove(tmp)
	s, err := sqlite.Open(ctx, tmp)
	if err != nil {
		b.Fatal(err)
	}
	users := []string{searchBenchUser}
	for i := 1; i < 20; i++ {
		users = append(users, fmt.Sprintf("01searchbenchuser%09d", i))
	}
	for i, id := range users {
		if err := s.CreateUser(ctx, chat.User{ID: id, Username: fmt.Sprint("bench", i), DisplayName: "B", CreatedAt: chat.At(time.Now())}, "x"); err != nil {
			b.Fatal(err)
		}
	}
	var rooms []string
	for i := range 1000 {
		members := []string{users[1+i%19], users[1+(i+1)%19]}
		if i%20 == 0 { // 50 rooms hold the searching user
			members = append(members, searchBenchUser)
		}
		r := chat.Room{ID: fmt.Sprintf("01searchbenchroom%09d", i), Type: chat.RoomGroup, Name: "r", MemberIDs: members, CreatedAt: chat.At(time.Now())}
		if err := s.CreateRoom(ctx, r, ""); err != nil {
			b.Fatal(err)
		}
		rooms = append(rooms, r.ID)
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	db, err := sql.Open("sqlite", tmp)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	corpus := chattest.NewCorpus(1)
	seqs := make([]int64, len(rooms))
	start := time.Now()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for done := 0; done < n; {
		tx, err := db.Begin()
		if err != nil {
			b.Fatal(err)
		}
		st, err := tx.Prepare(`INSERT INTO messages (id, room_id, seq, sender_id, client_msg_id, type, text, created_at)
			VALUES (?, ?, ?, ?, '', 'text', ?, ?)`)
		if err != nil {
			b.Fatal(err)
		}
		for j := 0; j < 10000 && done < n; j++ {
			ri := (done * 7919) % len(rooms)
			seqs[ri]++
			at := base.Add(time.Duration(done) * time.Second)
			if _, err := st.Exec(chat.NewID(), rooms[ri], seqs[ri], users[1+ri%19], corpus.Text(), at.UnixMilli()); err != nil {
				b.Fatal(err)
			}
			done++
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("stored %d messages in %v: %.1f µs a message", n, time.Since(start).Round(time.Second),
		float64(time.Since(start).Microseconds())/float64(n))
	if _, err := db.Exec(`UPDATE rooms SET last_seq = (SELECT coalesce(max(seq), 0) FROM messages WHERE room_id = rooms.id)`); err != nil {
		b.Fatal(err)
	}
	db.Close()
	s, err = sqlite.Open(ctx, tmp)
	if err != nil {
		b.Fatal(err)
	}
	sqlite.StopIndexer(s)
	start = time.Now()
	if err := sqlite.IndexAll(ctx, s); err != nil {
		b.Fatal(err)
	}
	b.Logf("indexed them for search in %v: %.1f µs a message", time.Since(start).Round(time.Second),
		float64(time.Since(start).Microseconds())/float64(n))
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkCreateMessageIndexed is a send's store write with the search index; compare it
// with BenchmarkCreateMessageUnindexed (the index's triggers dropped) for what indexing
// costs a send.
func BenchmarkCreateMessageIndexed(b *testing.B)   { benchCreateMessage(b, true) }
func BenchmarkCreateMessageUnindexed(b *testing.B) { benchCreateMessage(b, false) }

func benchCreateMessage(b *testing.B, indexed bool) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "chat.db")
	s := openAt(b, path)
	if !indexed {
		db, err := sql.Open("sqlite", path)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.Exec(`DROP TRIGGER messages_search_insert`); err != nil {
			b.Fatal(err)
		}
		db.Close()
	}
	u := chat.User{ID: chat.NewID(), Username: "u", DisplayName: "U", CreatedAt: chat.At(time.Now())}
	if err := s.CreateUser(ctx, u, "x"); err != nil {
		b.Fatal(err)
	}
	r := chat.Room{ID: chat.NewID(), Type: chat.RoomGroup, Name: "r", MemberIDs: []string{u.ID}, CreatedAt: chat.At(time.Now())}
	if err := s.CreateRoom(ctx, r, ""); err != nil {
		b.Fatal(err)
	}
	corpus := chattest.NewCorpus(2)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.CreateMessage(ctx, chat.Message{ID: chat.NewID(), RoomID: r.ID, SenderID: u.ID,
			Type: chat.MessageText, Text: corpus.Text(), CreatedAt: chat.At(time.Now())}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSearchIndexing is the indexer's cost per message: each op queues 1,000 sends
// (not timed) and times applying the queue in batches, as the background indexer does.
func BenchmarkSearchIndexing(b *testing.B) {
	ctx := context.Background()
	s := open(b)
	sqlite.StopIndexer(s)
	u := chat.User{ID: chat.NewID(), Username: "u", DisplayName: "U", CreatedAt: chat.At(time.Now())}
	if err := s.CreateUser(ctx, u, "x"); err != nil {
		b.Fatal(err)
	}
	r := chat.Room{ID: chat.NewID(), Type: chat.RoomGroup, Name: "r", MemberIDs: []string{u.ID}, CreatedAt: chat.At(time.Now())}
	if err := s.CreateRoom(ctx, r, ""); err != nil {
		b.Fatal(err)
	}
	corpus := chattest.NewCorpus(3)
	for b.Loop() {
		b.StopTimer()
		for range 1000 {
			if _, _, err := s.CreateMessage(ctx, chat.Message{ID: chat.NewID(), RoomID: r.ID, SenderID: u.ID,
				Type: chat.MessageText, Text: corpus.Text(), CreatedAt: chat.At(time.Now())}, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		if err := sqlite.IndexAll(ctx, s); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*1000), "µs/message")
}

// BenchmarkCreateMessageConcurrent is sends from 16 goroutines at once (rooms of their own),
// the case that group commit is for: each op is one send.
func BenchmarkCreateMessageConcurrent(b *testing.B) {
	ctx := context.Background()
	s := open(b)
	u := chat.User{ID: chat.NewID(), Username: "u", DisplayName: "U", CreatedAt: chat.At(time.Now())}
	if err := s.CreateUser(ctx, u, "x"); err != nil {
		b.Fatal(err)
	}
	rooms := make(chan string, 64)
	for range 64 {
		r := chat.Room{ID: chat.NewID(), Type: chat.RoomGroup, Name: "r", MemberIDs: []string{u.ID}, CreatedAt: chat.At(time.Now())}
		if err := s.CreateRoom(ctx, r, ""); err != nil {
			b.Fatal(err)
		}
		rooms <- r.ID
	}
	b.SetParallelism(8) // 16 goroutines on 2 cores
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		room := <-rooms
		for pb.Next() {
			if _, _, err := s.CreateMessage(ctx, chat.Message{ID: chat.NewID(), RoomID: room, SenderID: u.ID, ClientMsgID: chat.NewID(),
				Type: chat.MessageText, Text: "hello there", CreatedAt: chat.At(time.Now())}, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
