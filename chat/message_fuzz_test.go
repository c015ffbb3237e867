package chat

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzCheckNewMessage: a message the validation accepts is valid UTF-8 within the length
// limit, carries no control characters but newline and tab, and shows something; whatever
// it refuses, it refuses with a client error.
func FuzzCheckNewMessage(f *testing.F) {
	for _, s := range []string{"hi", "a\r\nb", "\x00", "\u200b", "서울에서 만나요", "<script>", "\xff", " \t\n ", strings.Repeat("x", 41)} {
		f.Add("c1", "text", s, "")
	}
	f.Add("", "image", "", "m1")
	f.Add(strings.Repeat("c", 65), "file", "x", "")
	f.Fuzz(func(t *testing.T, clientMsgID, typ, text, mediaID string) {
		out, err := checkNewMessage(NewMessage{ClientMsgID: clientMsgID, Type: typ, Text: text, MediaID: mediaID}, 40, true)
		if err != nil {
			if k := ErrorKind(err); k != Invalid && k != TooLarge {
				t.Fatalf("%q: %v is not a client error", text, err)
			}
			return
		}
		if !utf8.ValidString(out.Text) || utf8.RuneCountInString(out.Text) > 40 || len(out.ClientMsgID) > 64 || out.ClientMsgID == "" {
			t.Fatalf("accepted %+v", out)
		}
		for _, r := range out.Text {
			if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
				t.Fatalf("accepted a control character in %q", out.Text)
			}
		}
		if out.Type == MessageText && strings.IndexFunc(out.Text, func(r rune) bool { return !isInvisible(r) }) < 0 {
			t.Fatalf("accepted a text that shows nothing: %q", out.Text)
		}
	})
}

// FuzzCheckEmoji: an emoji accepted for a reaction is 1 to 32 bytes of valid UTF-8 with no
// space or control character; a refused one is a client error (bad_emoji).
func FuzzCheckEmoji(f *testing.F) {
	for _, s := range []string{"👍", "❤️", "🇰🇷", "👨‍👩‍👧", "a/b", "%2F", "", " ", "a b", "\t", "\x00", "\xff", "\u00a0", "\u2028", strings.Repeat("x", 33)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, e string) {
		if err := CheckEmoji(e); err != nil {
			if ErrorCode(err) != "bad_emoji" || ErrorKind(err) != Invalid {
				t.Fatalf("%q: %v", e, err)
			}
			return
		}
		if len(e) == 0 || len(e) > 32 || !utf8.ValidString(e) {
			t.Fatalf("accepted %q", e)
		}
		for _, r := range e {
			if unicode.IsSpace(r) || unicode.IsControl(r) {
				t.Fatalf("accepted %q with %U", e, r)
			}
		}
	})
}
