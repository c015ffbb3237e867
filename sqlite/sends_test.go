package sqlite_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// TestSendsShareTransactionsApart: many sends at once (which the store writes in shared
// transactions) each get their own answer: those to an unknown room are refused, the others
// stored with the room's seqs 1..n, none lost to a neighbour's failure.
func TestSendsShareTransactionsApart(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	u := chat.User{ID: chat.NewID(), Username: "u", DisplayName: "U", CreatedAt: chat.At(time.Now())}
	if err := s.CreateUser(ctx, u, "x"); err != nil {
		t.Fatal(err)
	}
	r := chat.Room{ID: chat.NewID(), Type: chat.RoomGroup, Name: "r", MemberIDs: []string{u.ID}, CreatedAt: chat.At(time.Now())}
	if err := s.CreateRoom(ctx, r, ""); err != nil {
		t.Fatal(err)
	}
	const n = 200
	var wg sync.WaitGroup
	errs := make([]error, n)
	seqs := make([]int64, n)
	for i := range n {
		wg.Go(func() {
			room := r.ID
			if i%5 == 0 {
				room = chat.NewID() // no such room
			}
			m, created, err := s.CreateMessage(ctx, chat.Message{ID: chat.NewID(), RoomID: room, SenderID: u.ID, ClientMsgID: chat.NewID(),
				Type: chat.MessageText, Text: "x", CreatedAt: chat.At(time.Now())}, nil)
			if err == nil && !created {
				t.Errorf("send %d: not created", i)
			}
			errs[i], seqs[i] = err, m.Seq
		})
	}
	wg.Wait()
	seen := map[int64]bool{}
	for i := range n {
		if i%5 == 0 {
			if !chat.IsNotFound(errs[i]) {
				t.Errorf("send %d to an unknown room: %v, want not found", i, errs[i])
			}
			continue
		}
		if errs[i] != nil {
			t.Fatalf("send %d: %v", i, errs[i])
		}
		if seqs[i] < 1 || seqs[i] > n*4/5 || seen[seqs[i]] {
			t.Fatalf("send %d got seq %d (duplicate or out of 1..%d)", i, seqs[i], n*4/5)
		}
		seen[seqs[i]] = true
	}
	page, _, err := s.Messages(ctx, r.ID, chat.HistoryQuery{Limit: 100, AfterSeq: 0, Forward: true})
	if err != nil {
		t.Fatal(err)
	}
	room, err := s.Room(ctx, r.ID)
	if err != nil || room.LastSeq != n*4/5 {
		t.Fatalf("room's last seq = %d (%v), want %d", room.LastSeq, err, n*4/5)
	}
	if len(page) != 100 {
		t.Fatalf("history page = %d messages, want 100", len(page))
	}
}

// TestSendAfterClose: a send to a closed store is refused, not left waiting.
func TestSendAfterClose(t *testing.T) {
	ctx := context.Background()
	s := openAt(t, t.TempDir()+"/chat.db") // its cleanup closes it again, which is no error
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := s.CreateMessage(ctx, chat.Message{ID: chat.NewID(), RoomID: "r", SenderID: "u", Type: chat.MessageText, Text: "x"}, nil)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a send to a closed store succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a send to a closed store hangs")
	}
}
