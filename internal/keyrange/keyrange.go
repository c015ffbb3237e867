// Package keyrange turns prefix searches into index ranges for the storage adapters: what
// SQLite and MongoDB/DocumentDB both need to search names by prefix without collations.
package keyrange

import "unicode/utf8"

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
