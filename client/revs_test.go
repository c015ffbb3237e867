package client

import "testing"

// TestRevCursor: a room's rev cursor moves over contiguous revs, keeps those above a hole,
// closes up when the hole fills, and jumps when a RESUME_OK says everything up to a rev came.
func TestRevCursor(t *testing.T) {
	c := &cursor{last: 4}
	for _, step := range []struct {
		see, reach int64
		want       int64
	}{
		{see: 5, want: 5},
		{see: 5, want: 5}, // again: nothing
		{see: 3, want: 5}, // old
		{see: 7, want: 5}, // above a hole (6)
		{see: 8, want: 5},
		{see: 6, want: 8}, // the hole fills: 6, 7, 8
		{see: 10, want: 8},
		{reach: 9, want: 10}, // everything to 9 came, and 10 was seen already
		{reach: 4, want: 10}, // never back
	} {
		if step.see > 0 {
			c.see(step.see)
		} else {
			c.reach(step.reach)
		}
		if c.last != step.want {
			t.Fatalf("after %+v: last %d, want %d", step, c.last, step.want)
		}
	}
	if len(c.ahead) != 0 {
		t.Fatalf("ahead = %v, want empty", c.ahead)
	}
}

// TestRevsAheadBounded: revs seen above a hole that never fills (coalesced reactions) are
// kept up to a bound, not forever.
func TestRevsAheadBounded(t *testing.T) {
	var c cursor
	for n := int64(3); n < 3+10*maxRevsAhead; n += 2 {
		c.see(n)
	}
	if len(c.ahead) > maxRevsAhead || c.last != 0 {
		t.Fatalf("after many revs above a hole: %d kept ahead, last %d; want at most %d and 0", len(c.ahead), c.last, maxRevsAhead)
	}
	c.reach(100_000)
	if c.last != 100_000 {
		t.Fatalf("reach moved last to %d", c.last)
	}
}
