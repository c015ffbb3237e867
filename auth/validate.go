package auth

import (
	"unicode/utf8"

	"github.com/chatchat/chatchat/chat"
)

// Input limits of sign-up. Passwords are limited in bytes because that is what the hash
// reads; display names in runes because that is what people see.
const (
	MinUsernameLen    = 3
	MaxUsernameLen    = 32
	MinPasswordLen    = 8
	MaxPasswordLen    = 128
	MaxDisplayNameLen = 64
)

// ValidateUsername checks that name is 3–32 characters of [a-zA-Z0-9_.-].
func ValidateUsername(name string) error {
	if len(name) < MinUsernameLen || len(name) > MaxUsernameLen {
		return chat.Errorf(chat.Invalid, "invalid_username",
			"username must be %d to %d characters long", MinUsernameLen, MaxUsernameLen)
	}
	for i := 0; i < len(name); i++ {
		if !usernameByte(name[i]) {
			return chat.Errorf(chat.Invalid, "invalid_username",
				"username may contain only letters, digits, '_', '.' and '-'")
		}
	}
	return nil
}

func usernameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '_' || c == '.' || c == '-'
}

// ValidatePassword checks that password is 8–128 bytes long.
func ValidatePassword(password string) error {
	if len(password) < MinPasswordLen || len(password) > MaxPasswordLen {
		return chat.Errorf(chat.Invalid, "invalid_password",
			"password must be %d to %d bytes long", MinPasswordLen, MaxPasswordLen)
	}
	return nil
}

// NormalizeDisplayName trims name, puts it in NFC, and checks that what remains is 1–64
// characters of valid UTF-8 with no control, text-direction or zero-width characters
// (chat.CleanName); it returns the cleaned name.
func NormalizeDisplayName(name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", chat.Errorf(chat.Invalid, "invalid_display_name", "display name is not valid UTF-8")
	}
	name, why := chat.CleanName(name)
	if why != "" {
		return "", chat.Errorf(chat.Invalid, "invalid_display_name", "display name %s", why)
	}
	if n := utf8.RuneCountInString(name); n < 1 || n > MaxDisplayNameLen {
		return "", chat.Errorf(chat.Invalid, "invalid_display_name",
			"display name must be 1 to %d characters long", MaxDisplayNameLen)
	}
	return name, nil
}
