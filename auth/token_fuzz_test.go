package auth_test

import (
	"strings"
	"testing"

	"github.com/chatchat/chatchat/chat"
)

// FuzzAuthenticate: whatever a client presents as an access token, Authenticate returns
// the identity of a token signed with its secret or an Unauthorized error; it never
// panics, and a passing token with a character of its signature changed fails.
func FuzzAuthenticate(f *testing.F) {
	svc, _, _ := newService(f)
	_, tokens := signup(f, svc, "fuzzer")
	good := tokens.AccessToken
	for _, seed := range []string{
		good, good + "x", strings.Replace(good, ".", "..", 1), "", "a.b.c",
		"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", strings.Repeat("a", 5000),
		"Bearer " + good, "\x00",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		id, err := svc.Authenticate(token)
		if err != nil {
			if chat.ErrorKind(err) != chat.Unauthorized {
				t.Fatalf("token %q: %v is not Unauthorized", token, err)
			}
			return
		}
		// The fuzzer's workers are processes of their own, each with its own signed
		// token; so what passes must be signed: with its signature's last byte changed
		// it must fail.
		if id.UserID == "" || id.SessionID == "" {
			t.Fatalf("token %q passed with an empty identity %+v", token, id)
		}
		i := len(token) - 2 // not the last: its lowest bits carry nothing
		c := byte('A')
		if token[i] == 'A' {
			c = 'B'
		}
		flipped := token[:i] + string(c) + token[i+1:]
		if _, err := svc.Authenticate(flipped); err == nil {
			t.Fatalf("token %q passed with its signature changed", flipped)
		}
	})
}
