package chattest

import (
	"slices"
	"testing"

	"github.com/chatchat/chatchat/chat"
)

// TestOutboxStore runs the contract of chat.OutboxStore.
func TestOutboxStore(t *testing.T, newStore func(t *testing.T) chat.Store) {
	runStoreCases(t, newStore, []storeCase{
		{"CreatedIsPending", testOutboxCreatedIsPending},
		{"MarkPublished", testOutboxMarkPublished},
		{"OldestFirstWithinBefore", testOutboxOrder},
		{"RetryAddsNothing", testOutboxRetry},
	})
}

func pendingIDs(tb testing.TB, s chat.Store, before int, limit int) []string {
	tb.Helper()
	msgs, err := s.PendingMessages(tb.Context(), storeAt(before), limit)
	if err != nil {
		tb.Fatalf("PendingMessages: %v", err)
	}
	ids := make([]string, 0, len(msgs))
	for _, m := range msgs {
		ids = append(ids, m.ID)
	}
	return ids
}

func testOutboxCreatedIsPending(t *testing.T, s chat.Store) {
	a, b := storeUser(t, s, "ann"), storeUser(t, s, "bob")
	r := storeRoom(t, s, storeEpoch, a, b)
	m := storeSend(t, s, r.ID, a, "hello", storeAt(1), a.ID)
	if ok, err := s.Pending(t.Context(), r.ID, m.ID); err != nil || !ok {
		t.Fatalf("Pending(new message) = %t, %v; want true", ok, err)
	}
	msgs, err := s.PendingMessages(t.Context(), storeAt(1), 10)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("PendingMessages = %d messages, %v; want 1", len(msgs), err)
	}
	got := msgs[0]
	if got.ID != m.ID || got.RoomID != r.ID || got.Seq != m.Seq || got.Text != "hello" || got.SenderID != a.ID {
		t.Fatalf("pending message %+v, want the stored %+v", got, m)
	}
	if ids := pendingIDs(t, s, 0, 10); len(ids) != 0 {
		t.Fatalf("PendingMessages before its creation = %v, want none", ids)
	}
}

func testOutboxMarkPublished(t *testing.T, s chat.Store) {
	ctx := t.Context()
	a, b := storeUser(t, s, "ann"), storeUser(t, s, "bob")
	r := storeRoom(t, s, storeEpoch, a, b)
	m1 := storeSend(t, s, r.ID, a, "one", storeAt(1), a.ID)
	m2 := storeSend(t, s, r.ID, b, "two", storeAt(2), b.ID)
	if err := s.MarkPublished(ctx, r.ID, m1.ID); err != nil {
		t.Fatalf("MarkPublished: %v", err)
	}
	if ok, err := s.Pending(ctx, r.ID, m1.ID); err != nil || ok {
		t.Fatalf("Pending(published) = %t, %v; want false", ok, err)
	}
	if ids := pendingIDs(t, s, 9, 10); !slices.Equal(ids, []string{m2.ID}) {
		t.Fatalf("pending = %v, want only %s", ids, m2.ID)
	}
	for _, id := range []string{m1.ID, "no-such-message"} {
		if err := s.MarkPublished(ctx, r.ID, id); err != nil {
			t.Fatalf("MarkPublished(%s) again or unknown: %v", id, err)
		}
	}
	if ok, err := s.Pending(ctx, r.ID, "no-such-message"); err != nil || ok {
		t.Fatalf("Pending(unknown) = %t, %v; want false", ok, err)
	}
}

func testOutboxOrder(t *testing.T, s chat.Store) {
	a, b := storeUser(t, s, "ann"), storeUser(t, s, "bob")
	r1 := storeRoom(t, s, storeEpoch, a, b)
	r2 := storeRoom(t, s, storeEpoch, a)
	var want []string
	for i, r := range []chat.Room{r1, r2, r1, r2} {
		want = append(want, storeSend(t, s, r.ID, a, "m", storeAt(i+1), a.ID).ID)
	}
	if ids := pendingIDs(t, s, 9, 10); !slices.Equal(ids, want) {
		t.Fatalf("pending = %v, want oldest first %v", ids, want)
	}
	if ids := pendingIDs(t, s, 9, 2); !slices.Equal(ids, want[:2]) {
		t.Fatalf("pending, limit 2 = %v, want %v", ids, want[:2])
	}
	if ids := pendingIDs(t, s, 2, 10); !slices.Equal(ids, want[:2]) {
		t.Fatalf("pending created by minute 2 = %v, want %v", ids, want[:2])
	}
}

func testOutboxRetry(t *testing.T, s chat.Store) {
	ctx := t.Context()
	a, b := storeUser(t, s, "ann"), storeUser(t, s, "bob")
	r := storeRoom(t, s, storeEpoch, a, b)
	m := storeMessage(r.ID, a, "once", storeAt(1))
	m.ClientMsgID = "c1"
	first, created, err := s.CreateMessage(ctx, m, []string{a.ID})
	if err != nil || !created {
		t.Fatalf("CreateMessage: %t, %v", created, err)
	}
	if err := s.MarkPublished(ctx, r.ID, first.ID); err != nil {
		t.Fatal(err)
	}
	retry := m
	retry.ID = chat.NewID()
	if _, created, err := s.CreateMessage(ctx, retry, []string{a.ID}); err != nil || created {
		t.Fatalf("retry: created %t, %v", created, err)
	}
	if ids := pendingIDs(t, s, 9, 10); len(ids) != 0 {
		t.Fatalf("a retry made %v pending again", ids)
	}
}
