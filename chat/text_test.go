package chat

import "testing"

func TestCleanName(t *testing.T) {
	for _, c := range []struct {
		in, want string
		bad      bool
	}{
		{"  Alice ", "Alice", false},
		{"e\u0301mile", "\u00e9mile", false}, // decomposed é becomes one code point (NFC)
		{"서울 팀", "서울 팀", false},
		{"adm\u200bin", "", true},          // zero-width space
		{"a\u200db", "", true},             // zero-width joiner
		{"abc\u202Eexe.txt", "", true},     // right-to-left override
		{"\u2066isolated\u2069", "", true}, // isolates
		{"tab\there", "", true},
		{"nul\x00", "", true},
		{"\uFEFFbom", "", true},
	} {
		got, why := CleanName(c.in)
		if (why != "") != c.bad || (!c.bad && got != c.want) {
			t.Errorf("CleanName(%q) = %q, %q; want %q, refused %t", c.in, got, why, c.want, c.bad)
		}
	}
}

func TestCheckText(t *testing.T) {
	for _, c := range []struct {
		in, want, code string
	}{
		{"hello\nworld\ttab", "hello\nworld\ttab", ""},
		{"windows\r\nline", "windows\nline", ""},
		{"안녕하세요 👋", "안녕하세요 👋", ""},
		{"a\x00b", "", "bad_text"},
		{"bell\x07", "", "bad_text"},
		{"lone\rcr", "", "bad_text"},
		{"esc\x1b[31mred", "", "bad_text"},
		{"del\x7f", "", "bad_text"},
		{"\u200b\u200b\u200b", "", "empty_text"},
		{"\u3164\u3164", "", "empty_text"}, // Hangul fillers
		{"\u202e \u200d\n", "", "empty_text"},
		{"x\u200b", "x\u200b", ""}, // visible text may carry a zero-width joiner (emoji sequences do)
	} {
		got, err := checkText(c.in)
		if c.code == "" && (err != nil || got != c.want) || c.code != "" && ErrorCode(err) != c.code {
			t.Errorf("checkText(%q) = %q, %v; want %q, code %q", c.in, got, err, c.want, c.code)
		}
	}
}
