package chat

import (
	"slices"
	"testing"
)

func TestUniqueIDs(t *testing.T) {
	if got := UniqueIDs([]string{"b", "", "a", "b", "a"}); !slices.Equal(got, []string{"b", "a"}) {
		t.Fatalf("UniqueIDs = %v", got)
	}
}
