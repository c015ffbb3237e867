package chattest

import (
	"slices"
	"sync"
	"testing"

	"github.com/chatchat/chatchat/chat"
)

// TestBlockStore runs the contract of chat.BlockStore.
func TestBlockStore(t *testing.T, newStore func(t *testing.T) chat.Store) {
	runStoreCases(t, newStore, []storeCase{
		{"BlockAndList", testBlockAndList},
		{"Blockers", testBlockers},
		{"ConcurrentSameBlock", testConcurrentBlock},
	})
}

func testBlockAndList(t *testing.T, s chat.Store) {
	ctx := t.Context()
	a, b, c := chat.NewID(), chat.NewID(), chat.NewID()
	for i, id := range []string{b, c, b} { // b again: no error, no second entry
		if err := s.Block(ctx, a, id, storeAt(i)); err != nil {
			t.Fatalf("Block: %v", err)
		}
	}
	got, err := s.BlockedBy(ctx, a)
	if err != nil || !slices.Equal(got, []string{c, b}) {
		t.Fatalf("BlockedBy = %v, %v; want [c b] (newest first, b once)", got, err)
	}
	if got, _ := s.BlockedBy(ctx, b); len(got) != 0 {
		t.Errorf("BlockedBy(blocked user) = %v, want none: blocking is one way", got)
	}
	if err := s.Unblock(ctx, a, b); err != nil {
		t.Fatalf("Unblock: %v", err)
	}
	if err := s.Unblock(ctx, a, b); err != nil {
		t.Fatalf("Unblock again: %v", err)
	}
	if got, _ := s.BlockedBy(ctx, a); !slices.Equal(got, []string{c}) {
		t.Errorf("BlockedBy after unblock = %v, want [c]", got)
	}
}

func testBlockers(t *testing.T, s chat.Store) {
	ctx := t.Context()
	me, x, y, z := chat.NewID(), chat.NewID(), chat.NewID(), chat.NewID()
	for _, blocker := range []string{x, z} {
		if err := s.Block(ctx, blocker, me, storeAt(0)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Block(ctx, me, y, storeAt(0)); err != nil { // the other way: not a blocker of me
		t.Fatal(err)
	}
	got, err := s.Blockers(ctx, me, []string{x, y, z, x, chat.NewID()})
	slices.Sort(got)
	want := []string{x, z}
	slices.Sort(want)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("Blockers = %v, %v; want %v", got, err, want)
	}
	if got, err := s.Blockers(ctx, me, nil); err != nil || len(got) != 0 {
		t.Errorf("Blockers(none) = %v, %v", got, err)
	}
}

func testConcurrentBlock(t *testing.T, s chat.Store) {
	ctx := t.Context()
	a, b := chat.NewID(), chat.NewID()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() { errs <- s.Block(ctx, a, b, storeAt(0)) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent Block: %v", err)
		}
	}
	if got, _ := s.BlockedBy(ctx, a); !slices.Equal(got, []string{b}) {
		t.Errorf("BlockedBy = %v, want [b] once", got)
	}
}
