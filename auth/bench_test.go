package auth

import (
	"context"
	"testing"
	"time"
)

// The benchmarks run with the default parameters, since their cost is what the numbers
// are for: one hash is the price of every sign-up and login.

func BenchmarkHashPassword(b *testing.B) {
	h := newHasher(DefaultArgon2Params(), 1)
	ctx := context.Background()
	for b.Loop() {
		if _, err := h.hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyPassword(b *testing.B) {
	h := newHasher(DefaultArgon2Params(), 1)
	ctx := context.Background()
	enc, err := h.hash(ctx, "correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		ok, err := h.verify(ctx, "correct horse battery staple", enc)
		if err != nil || !ok {
			b.Fatalf("verify = %v, %v", ok, err)
		}
	}
}

func BenchmarkAuthenticate(b *testing.B) {
	s := New(Config{Secret: []byte("0123456789abcdef0123456789abcdef")}, nil, nil)
	tok, err := s.signAccess("01jdxq3v8k7n2m4p6r8t0w2y4z", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Authenticate(tok); err != nil {
			b.Fatal(err)
		}
	}
}
