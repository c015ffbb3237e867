package chattest

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/chatchat/chatchat/chat"
)

// TestDeliveryStore runs the contract of chat.DeliveryStore.
func TestDeliveryStore(t *testing.T, newStore func(t *testing.T) chat.Store) {
	runStoreCases(t, newStore, []storeCase{
		{"AdvanceDeliveredCursor", testAdvanceDeliveredCursor},
		{"NeverBehindRead", testDeliveredNeverBehindRead},
		{"JoinAtLastSeq", testDeliveredOnJoin},
		{"UndeliveredCount", testUndeliveredCount},
		{"Concurrent", testConcurrentAdvanceDelivered},
	})
}

func storeDelivered(tb testing.TB, s chat.Store, roomID, userID string) int64 {
	tb.Helper()
	m, err := s.Member(tb.Context(), roomID, userID)
	if err != nil {
		tb.Fatalf("Member(%s): %v", userID, err)
	}
	if m.LastDeliveredSeq < m.LastReadSeq {
		tb.Errorf("member %s: lastDeliveredSeq %d behind lastReadSeq %d", userID, m.LastDeliveredSeq, m.LastReadSeq)
	}
	return m.LastDeliveredSeq
}

func testAdvanceDeliveredCursor(t *testing.T, s chat.Store) {
	ctx := t.Context()
	users := storeUsers(t, s, 3)
	a, b := users[0], users[1]
	r := storeRoom(t, s, storeEpoch, a, b)
	for i := range 3 {
		storeSend(t, s, r.ID, a, fmt.Sprint("m", i), storeAt(i), a.ID)
	}
	if got := storeDelivered(t, s, r.ID, b.ID); got != 0 {
		t.Errorf("new member's delivery cursor = %d, want 0", got)
	}
	for _, c := range []struct {
		name  string
		seq   int64
		want  int64
		moved bool
	}{
		{"forward", 2, 2, true},
		{"again: no move", 2, 2, false},
		{"back: stays", 1, 2, false},
		{"zero: stays", 0, 2, false},
		{"past the last seq: clamped", 99, 3, true},
		{"past again: no move", 100, 3, false},
	} {
		got, moved, err := s.AdvanceDeliveredCursor(ctx, r.ID, b.ID, c.seq)
		if err != nil || got != c.want || moved != c.moved {
			t.Errorf("%s: AdvanceDeliveredCursor(%d) = %d, moved %v, %v; want %d, moved %v", c.name, c.seq, got, moved, err, c.want, c.moved)
		}
		if stored := storeDelivered(t, s, r.ID, b.ID); stored != c.want {
			t.Errorf("%s: stored cursor = %d, want %d", c.name, stored, c.want)
		}
	}
	if got := storeCursor(t, s, r.ID, b.ID); got != 0 {
		t.Errorf("read cursor = %d after deliveries, want 0: delivery is not reading", got)
	}
	_, _, err := s.AdvanceDeliveredCursor(ctx, r.ID, users[2].ID, 1)
	wantNotFound(t, "AdvanceDeliveredCursor(not a member)", err)
	_, _, err = s.AdvanceDeliveredCursor(ctx, chat.NewID(), a.ID, 1)
	wantNotFound(t, "AdvanceDeliveredCursor(unknown room)", err)
}

// testDeliveredNeverBehindRead: every way a read cursor moves moves the delivery cursor,
// and a delivery cursor ahead stays ahead.
func testDeliveredNeverBehindRead(t *testing.T, s chat.Store) {
	ctx := t.Context()
	users := storeUsers(t, s, 3)
	a, b, c := users[0], users[1], users[2]
	r := storeRoom(t, s, storeEpoch, a, b, c)
	storeSend(t, s, r.ID, a, "m1", storeAt(1), a.ID)
	storeSend(t, s, r.ID, a, "m2", storeAt(2), a.ID)
	if got := storeDelivered(t, s, r.ID, a.ID); got != 2 {
		t.Errorf("sender's delivery cursor = %d, want 2 (advanced with the message)", got)
	}
	storeSend(t, s, r.ID, a, "m3", storeAt(3), a.ID, c.ID) // c views the room
	if got := storeDelivered(t, s, r.ID, c.ID); got != 3 {
		t.Errorf("viewer's delivery cursor = %d, want 3", got)
	}
	if _, err := s.AdvanceReadCursor(ctx, r.ID, b.ID, 2); err != nil {
		t.Fatal(err)
	}
	if got := storeDelivered(t, s, r.ID, b.ID); got != 2 {
		t.Errorf("delivery cursor after reading 2 = %d, want 2", got)
	}
	if _, _, err := s.AdvanceDeliveredCursor(ctx, r.ID, b.ID, 3); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AdvanceReadCursor(ctx, r.ID, b.ID, 1); err != nil { // no move
		t.Fatal(err)
	}
	if got := storeDelivered(t, s, r.ID, b.ID); got != 3 {
		t.Errorf("delivery cursor ahead of the read cursor = %d, want 3", got)
	}
	if _, err := s.AdvanceReadCursor(ctx, r.ID, b.ID, 99); err != nil { // clamped to 3
		t.Fatal(err)
	}
	if got := storeDelivered(t, s, r.ID, b.ID); got != 3 {
		t.Errorf("delivery cursor after reading all = %d, want 3", got)
	}
	ms, err := s.Members(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{a.ID: 3, b.ID: 3, c.ID: 3}
	for _, m := range ms {
		if m.LastDeliveredSeq != want[m.UserID] {
			t.Errorf("Members: %s lastDeliveredSeq = %d, want %d", m.UserID, m.LastDeliveredSeq, want[m.UserID])
		}
	}
}

// testDeliveredOnJoin: history before joining counts as read, so as delivered too.
func testDeliveredOnJoin(t *testing.T, s chat.Store) {
	users := storeUsers(t, s, 3)
	a, b, c := users[0], users[1], users[2]
	r := storeRoom(t, s, storeEpoch, a, b)
	storeSend(t, s, r.ID, a, "m1", storeAt(1), a.ID)
	storeSend(t, s, r.ID, a, "m2", storeAt(2), a.ID)
	if _, err := s.AddMembers(t.Context(), r.ID, []string{c.ID}, storeAt(3)); err != nil {
		t.Fatal(err)
	}
	if got := storeDelivered(t, s, r.ID, c.ID); got != 2 {
		t.Errorf("joined member's delivery cursor = %d, want 2", got)
	}
	if n, err := s.UndeliveredCount(t.Context(), r.ID, a.ID, 2); err != nil || n != 1 {
		t.Errorf("UndeliveredCount(m2) = %d, %v; want 1 (b)", n, err)
	}
}

// testUndeliveredCount checks UndeliveredCount against the member list.
func testUndeliveredCount(t *testing.T, s chat.Store) {
	ctx := t.Context()
	users := storeUsers(t, s, 5)
	a, b, c, d := users[0], users[1], users[2], users[3]
	r := storeRoom(t, s, storeEpoch, a, b, c, d)
	m1 := storeSend(t, s, r.ID, a, "m1", storeAt(1), a.ID)
	m2 := storeSend(t, s, r.ID, a, "m2", storeAt(2), a.ID, b.ID) // b views the room
	if _, _, err := s.AdvanceDeliveredCursor(ctx, r.ID, c.ID, m1.Seq); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		sender string
		seq    int64
		want   int
	}{
		{"first message: b read on, c received it, d did not", a.ID, m1.Seq, 1},
		{"second message: c and d have not received it", a.ID, m2.Seq, 2},
		{"a later seq: b, c and d behind", a.ID, m2.Seq + 1, 3},
		{"sender excluded", d.ID, m2.Seq, 1},
		{"seq 0: nobody is below", a.ID, 0, 0},
		{"not a member sends: everyone below counts", users[4].ID, m2.Seq + 1, 4},
	} {
		got, err := s.UndeliveredCount(ctx, r.ID, tc.sender, tc.seq)
		if err != nil || got != tc.want {
			t.Errorf("%s: UndeliveredCount = %d, %v; want %d", tc.name, got, err, tc.want)
		}
		// The same count from the member list, as a history page computes it.
		ms, err := s.Members(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		listed := 0
		for _, m := range ms {
			if m.UserID != tc.sender && m.LastDeliveredSeq < tc.seq {
				listed++
			}
		}
		if listed != tc.want {
			t.Errorf("%s: members below seq = %d, want %d", tc.name, listed, tc.want)
		}
	}
	if got, err := s.UndeliveredCount(ctx, chat.NewID(), a.ID, 1); err != nil || got != 0 {
		t.Errorf("unknown room: UndeliveredCount = %d, %v; want 0", got, err)
	}
}

// testConcurrentAdvanceDelivered: delivery and read cursors moved from many goroutines at
// once end at the highest seq asked, never go back, and the delivery cursor is never seen
// behind the read cursor; exactly the calls that moved the cursor say so.
func testConcurrentAdvanceDelivered(t *testing.T, s chat.Store) {
	ctx := t.Context()
	users := storeUsers(t, s, 2)
	a, b := users[0], users[1]
	r := storeRoom(t, s, storeEpoch, a, b)
	const n = 40
	for i := range n {
		storeSend(t, s, r.ID, a, fmt.Sprint("m", i), storeAt(i))
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		moves []int64 // the cursors calls that moved it reported
	)
	for _, target := range rand.Perm(n) {
		seq := int64(target + 1)
		wg.Go(func() {
			got, moved, err := s.AdvanceDeliveredCursor(ctx, r.ID, b.ID, seq)
			if err != nil {
				t.Errorf("AdvanceDeliveredCursor(%d): %v", seq, err)
				return
			}
			if got < seq {
				t.Errorf("AdvanceDeliveredCursor(%d) = %d: the cursor moved back", seq, got)
			}
			if moved {
				mu.Lock()
				moves = append(moves, got)
				mu.Unlock()
			}
		})
		if target%3 == 0 {
			wg.Go(func() {
				if _, err := s.AdvanceReadCursor(ctx, r.ID, b.ID, seq/2); err != nil {
					t.Errorf("AdvanceReadCursor(%d): %v", seq/2, err)
				}
			})
		}
	}
	wg.Go(func() {
		prev := int64(0)
		for range 2 * n {
			m, err := s.Member(ctx, r.ID, b.ID)
			if err != nil {
				t.Errorf("Member: %v", err)
				return
			}
			if m.LastDeliveredSeq < prev || m.LastDeliveredSeq < m.LastReadSeq {
				t.Errorf("delivery cursor %d after %d, read cursor %d", m.LastDeliveredSeq, prev, m.LastReadSeq)
			}
			prev = m.LastDeliveredSeq
		}
	})
	wg.Wait()
	if got := storeDelivered(t, s, r.ID, b.ID); got != n {
		t.Errorf("final delivery cursor = %d, want %d", got, n)
	}
	// Each move went to a distinct, higher value: no two calls both moved it to one seq.
	seen := map[int64]bool{}
	for _, m := range moves {
		if seen[m] {
			t.Errorf("two calls both reported moving the cursor to %d", m)
		}
		seen[m] = true
	}
	if !seen[n] {
		t.Errorf("no call reported moving the cursor to %d; moves %v", n, moves)
	}
}
