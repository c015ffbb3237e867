package chat

import (
	"strings"
	"unicode/utf8"
)

// FoldKey is the form in which usernames are unique and names are searched: stores keep it
// beside the name, so that "Émile" and "émile" are one username without collations (which
// DocumentDB lacks).
func FoldKey(s string) string { return strings.ToLower(s) }

// PrefixEnd returns the least string greater than every string that starts with p, so that
// a prefix search is the range [p, end) over an index; ok is false when there is none (p
// is empty or all maximal runes). UTF-8 byte order is code point order, as SQLite's BINARY
// collation and BSON compare strings, so incrementing the last rune is enough.
func PrefixEnd(p string) (end string, ok bool) {
	for p != "" {
		r, size := utf8.DecodeLastRuneInString(p)
		p = p[:len(p)-size]
		switch {
		case r == utf8.MaxRune || r == utf8.RuneError && size == 1:
			continue // cannot increment: carry into the rune before
		case r == 0xD7FF:
			r = 0xE000 // skip the surrogates, which UTF-8 cannot encode
		default:
			r++
		}
		return p + string(r), true
	}
	return "", false
}

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
