package keyrange

import (
	"testing"
	"unicode/utf8"
)

func TestPrefixEnd(t *testing.T) {
	for _, tc := range []struct {
		p, end string
		ok     bool
	}{
		{"ab", "ac", true},
		{"é", "ê", true},
		{"a\uD7FF", "a\uE000", true},
		{"a" + string(utf8.MaxRune), "b", true},
		{string(utf8.MaxRune), "", false},
		{"", "", false},
	} {
		if end, ok := PrefixEnd(tc.p); end != tc.end || ok != tc.ok {
			t.Errorf("PrefixEnd(%q) = %q, %v; want %q, %v", tc.p, end, ok, tc.end, tc.ok)
		}
	}
}
