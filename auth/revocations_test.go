package auth

import (
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
)

func TestRevocationSetForgetsExpired(t *testing.T) {
	var r revocationSet
	r.init()
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	r.add(now, []string{"a", "b"}, now.Add(time.Minute))
	r.merge(now, []chat.Revocation{{SessionID: "c", ExpiresAt: now.Add(time.Hour)}})
	r.add(now, []string{"old"}, now) // expired already: never held
	if !r.has("a") || !r.has("b") || !r.has("c") || r.has("old") || r.has("d") {
		t.Fatalf("has a, b, c, old, d = %v %v %v %v %v; want true true true false false",
			r.has("a"), r.has("b"), r.has("c"), r.has("old"), r.has("d"))
	}
	// The next write after a and b expire drops them; c stays.
	later := now.Add(2 * time.Minute)
	r.add(later, []string{"d"}, later.Add(time.Minute))
	if r.has("a") || r.has("b") || !r.has("c") || !r.has("d") || r.size() != 2 {
		t.Errorf("after expiry: a %v, b %v, c %v, d %v, size %d; want false false true true 2",
			r.has("a"), r.has("b"), r.has("c"), r.has("d"), r.size())
	}
	// A record read again with an earlier expiry keeps the later one.
	r.merge(later, []chat.Revocation{{SessionID: "c", ExpiresAt: later.Add(time.Minute)}})
	after := later.Add(5 * time.Minute)
	r.add(after, []string{"e"}, after.Add(time.Minute))
	if !r.has("c") {
		t.Error("a reload with an earlier expiry shortened c's")
	}
}

func TestSealOpensOnlyItsOwnRow(t *testing.T) {
	s := New(Config{Secret: []byte("0123456789abcdef0123456789abcdef")}, nil, nil, nil)
	want := Tokens{AccessToken: "a.b.c", RefreshToken: "r", ExpiresIn: 900}
	sealed, err := s.seal("hash-1", want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.open("hash-1", sealed)
	if err != nil || got != want {
		t.Fatalf("open = %+v, %v; want %+v", got, err, want)
	}
	tampered := append([]byte(nil), sealed...)
	tampered[len(tampered)-1] ^= 1
	other := New(Config{Secret: []byte("another secret of 32 bytes......")}, nil, nil, nil)
	for name, try := range map[string]func() (Tokens, error){
		"another row":    func() (Tokens, error) { return s.open("hash-2", sealed) },
		"tampered":       func() (Tokens, error) { return s.open("hash-1", tampered) },
		"another secret": func() (Tokens, error) { return other.open("hash-1", sealed) },
		"truncated":      func() (Tokens, error) { return s.open("hash-1", sealed[:5]) },
	} {
		if _, err := try(); err == nil {
			t.Errorf("open with %s succeeded", name)
		}
	}
}
