package mongo_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/chattest"
	"github.com/chatchat/chatchat/internal/testenv"
	"github.com/chatchat/chatchat/mongo"
)

// TestSearchTokensBackfill: messages stored before search existed (no tokens) are found
// after the store starts again, once the background backfill has run.
func TestSearchTokensBackfill(t *testing.T) {
	srv := testenv.Mongo(t)
	ctx := context.Background()
	db := srv.Database(t)
	s, err := mongo.Open(ctx, srv.URI, db)
	if err != nil {
		t.Fatal(err)
	}
	u := chat.User{ID: chat.NewID(), Username: "ann", DisplayName: "Ann", CreatedAt: chat.At(time.Now())}
	if err := s.CreateUser(ctx, u, "x"); err != nil {
		t.Fatal(err)
	}
	r := chat.Room{ID: chat.NewID(), Type: chat.RoomGroup, Name: "r", MemberIDs: []string{u.ID}, CreatedAt: chat.At(time.Now())}
	if err := s.CreateRoom(ctx, r, ""); err != nil {
		t.Fatal(err)
	}
	m, _, err := s.CreateMessage(ctx, chat.Message{ID: chat.NewID(), RoomID: r.ID, SenderID: u.ID, Type: chat.MessageText,
		Text: "서울에서 만나요", CreatedAt: chat.At(time.Now())}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := mongo.ForgetTokens(ctx, s, m.ID); err != nil {
		t.Fatal(err)
	}
	q := chat.SearchQuery{Words: []string{"서울"}, RoomIDs: []string{r.ID}, Limit: 5}
	if found, _, err := s.SearchMessages(ctx, q); err != nil || len(found) != 0 {
		t.Fatalf("search of a message without tokens = %d, %v; want none", len(found), err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := mongo.Open(ctx, srv.URI, db)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		found, _, err := s2.SearchMessages(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(found) == 1 && found[0].ID == m.ID {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a restart the old message is not found: %d found", len(found))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// BenchmarkSearch is sqlite's BenchmarkSearch on the MongoDB-wire server:
// CHATCHAT_SEARCH_BENCH_N messages (default 20,000) of chattest.Corpus text in 1,000
// rooms, a user in 50 of them, each op one query of chattest.CorpusQueries.
func BenchmarkSearch(b *testing.B) {
	n := 20_000
	if v := os.Getenv("CHATCHAT_SEARCH_BENCH_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	srv := testenv.Mongo(b)
	s := open(b, srv)
	ctx := context.Background()
	user := chat.User{ID: chat.NewID(), Username: "searcher", DisplayName: "S", CreatedAt: chat.At(time.Now())}
	if err := s.CreateUser(ctx, user, "x"); err != nil {
		b.Fatal(err)
	}
	var rooms, mine []string
	for i := range 1000 {
		members := []string{}
		if i%20 == 0 {
			members = append(members, user.ID)
		}
		r := chat.Room{ID: chat.NewID(), Type: chat.RoomGroup, Name: "r", MemberIDs: members, CreatedAt: chat.At(time.Now())}
		if err := s.CreateRoom(ctx, r, ""); err != nil {
			b.Fatal(err)
		}
		rooms = append(rooms, r.ID)
		if i%20 == 0 {
			mine = append(mine, r.ID)
		}
	}
	corpus := chattest.NewCorpus(1)
	seqs := make([]int64, len(rooms))
	start := time.Now()
	for done := 0; done < n; {
		batch := make([]chat.Message, 0, 1000)
		for ; len(batch) < 1000 && done < n; done++ {
			ri := (done * 7919) % len(rooms)
			seqs[ri]++
			batch = append(batch, chat.Message{ID: chat.NewID(), RoomID: rooms[ri], Seq: seqs[ri], SenderID: user.ID,
				ClientMsgID: fmt.Sprint("c", done), Type: chat.MessageText, Text: corpus.Text(), CreatedAt: chat.At(time.Now())})
		}
		if err := mongo.InsertMessages(ctx, s, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("inserted %d messages with their tokens in %v", n, time.Since(start).Round(time.Millisecond))
	chattest.BenchSearch(b, s, mine)
}
