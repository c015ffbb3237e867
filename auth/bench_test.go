package auth

import (
	"context"
	"fmt"
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

// BenchmarkAuthenticate is the cost of verifying an access token on every request: the
// JWT's signature and claims, and the look-up in the revocation set, held with as many
// ended sessions as the sub-benchmark names (a busy deployment ends a few thousand in an
// access token's lifetime).
func BenchmarkAuthenticate(b *testing.B) {
	for _, revoked := range []int{0, 1000, 100_000} {
		b.Run(fmt.Sprintf("revoked=%d", revoked), func(b *testing.B) {
			s := New(Config{Secret: []byte("0123456789abcdef0123456789abcdef")}, nil, nil, nil)
			ids := make([]string, revoked)
			for i := range ids {
				ids[i] = fmt.Sprintf("session-%d", i)
			}
			s.revoked.add(time.Now(), ids, time.Now().Add(time.Hour))
			tok, err := s.signAccess("01jdxq3v8k7n2m4p6r8t0w2y4z", "01jdxq3v8k7n2m4p6r8t0w2y50", time.Now())
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Authenticate(tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRevocationCheck is the revocation look-up alone, with 1,000 ended sessions.
func BenchmarkRevocationCheck(b *testing.B) {
	s := New(Config{Secret: []byte("0123456789abcdef0123456789abcdef")}, nil, nil, nil)
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = fmt.Sprintf("session-%d", i)
	}
	s.revoked.add(time.Now(), ids, time.Now().Add(time.Hour))
	b.ReportAllocs()
	for b.Loop() {
		if s.Revoked("01jdxq3v8k7n2m4p6r8t0w2y50") {
			b.Fatal("revoked")
		}
	}
}
