package chat

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Text hygiene: what names and message texts may hold. A name is shown beside other
// people's words, so characters that reorder or hide text (bidi controls, zero-width
// characters) would let one user pass for another ("admin" and "adm\u200bin") or make a
// line read backwards; a message text is free-form but never carries terminal controls.

// isBidiControl reports the characters that change the direction of the text around
// them (the embedding, override and isolate controls and the implicit marks).
func isBidiControl(r rune) bool {
	switch {
	case r >= '\u202A' && r <= '\u202E', r >= '\u2066' && r <= '\u2069':
		return true
	case r == '\u200E', r == '\u200F', r == '\u061C':
		return true
	}
	return false
}

// isZeroWidth reports the characters that take no room: a name holding one looks like
// another name.
func isZeroWidth(r rune) bool {
	switch r {
	case '\u200B', '\u200C', '\u200D', '\u2060', '\uFEFF', '\u180E', '\u00AD':
		return true
	}
	return false
}

// isInvisible reports runes that show nothing: spaces, controls, format characters
// (which include the bidi controls and zero-width characters) and the Hangul fillers.
func isInvisible(r rune) bool {
	switch r {
	case '\u115F', '\u1160', '\u3164', '\uFFA0':
		return true
	}
	return unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || isZeroWidth(r)
}

// CleanName returns name trimmed and in Unicode NFC (so that one name has one form: "é"
// composed or not is the same name), or an error message when it holds control, bidi or
// zero-width characters. It does not check the length.
func CleanName(name string) (string, string) {
	name = norm.NFC.String(strings.TrimSpace(name))
	for _, r := range name {
		switch {
		case unicode.IsControl(r):
			return "", "must not contain control characters"
		case isBidiControl(r):
			return "", "must not contain text-direction controls"
		case isZeroWidth(r):
			return "", "must not contain zero-width characters"
		}
	}
	return name, ""
}

// checkText refuses message texts with NUL or other C0 controls but newline and tab
// (after CRLF line ends become LF), and texts that show nothing at all. It returns the
// text with CRLF made LF.
func checkText(text string) (string, error) {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	visible := false
	for _, r := range text {
		if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7F {
			return "", Errorf(Invalid, "bad_text", "text must not contain control characters other than newline and tab")
		}
		if !visible && !isInvisible(r) {
			visible = true
		}
	}
	if text != "" && !visible {
		return "", Errorf(Invalid, "empty_text", "text shows nothing: it is only invisible characters")
	}
	return text, nil
}
