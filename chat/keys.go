package chat

import (
	"strings"
)

// FoldKey is the form in which usernames are unique and names are searched: stores keep it
// beside the name, so that "Émile" and "émile" are one username without collations (which
// DocumentDB lacks).
func FoldKey(s string) string { return strings.ToLower(s) }

// UniqueIDs returns ids without duplicates or empty strings, in their first order.
func UniqueIDs(ids []string) []string {
	seen := make(map[string]struct{}, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if _, dup := seen[id]; id != "" && !dup {
			seen[id] = struct{}{}
			out = append(out, id)
		}
	}
	return out
}
