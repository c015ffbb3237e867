package chat

import "testing"

func TestNewIDIncreases(t *testing.T) {
	prev := NewID()
	for i := 0; i < 10000; i++ {
		id := NewID()
		if id <= prev {
			t.Fatalf("id %s after %s: not increasing", id, prev)
		}
		prev = id
	}
}
