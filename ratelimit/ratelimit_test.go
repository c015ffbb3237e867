package ratelimit_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/chatchat/chatchat/ratelimit"
)

var t0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

// allow calls AllowAt and fails the test unless the answer is want.
func allow(tb testing.TB, k *ratelimit.Keyed, key string, at time.Time, want bool) time.Duration {
	tb.Helper()
	ok, retry := k.AllowAt(key, at)
	if ok != want {
		tb.Fatalf("AllowAt(%q, t0+%v) = %v, want %v", key, at.Sub(t0), ok, want)
	}
	if ok && retry != 0 {
		tb.Fatalf("AllowAt(%q) allowed with retryAfter %v", key, retry)
	}
	if !ok && retry <= 0 {
		tb.Fatalf("AllowAt(%q) refused with retryAfter %v", key, retry)
	}
	return retry
}

func TestBurstThenRate(t *testing.T) {
	// 3 at once, then one per 10 seconds.
	k := ratelimit.New(rate.Every(10*time.Second), 3, 100)
	for range 3 {
		allow(t, k, "a", t0, true)
	}
	if retry := allow(t, k, "a", t0, false); retry != 10*time.Second {
		t.Fatalf("retryAfter = %v, want 10s", retry)
	}
	if retry := allow(t, k, "a", t0.Add(4*time.Second), false); retry != 6*time.Second {
		t.Fatalf("retryAfter = %v, want 6s", retry)
	}
	allow(t, k, "a", t0.Add(10*time.Second), true)
	allow(t, k, "a", t0.Add(10*time.Second), false)

	// Keys are independent.
	allow(t, k, "b", t0, true)

	// After a long quiet spell the bucket is full again, never fuller.
	later := t0.Add(time.Hour)
	for range 3 {
		allow(t, k, "a", later, true)
	}
	allow(t, k, "a", later, false)
}

// Waiting retryAfter is enough, and waiting noticeably less is not, whatever the rate.
// (rate.Limiter's float arithmetic may allow a few nanoseconds early; that is not worth
// a Retry-After that is ever too short.)
func TestRetryAfterIsExact(t *testing.T) {
	for _, r := range []rate.Limit{
		rate.Every(time.Minute / 5), rate.Every(time.Hour / 7), 3, 1000, rate.Every(333 * time.Millisecond),
	} {
		t.Run(fmt.Sprint(float64(r)), func(t *testing.T) {
			k := ratelimit.New(r, 2, 10)
			now := t0
			for i := range 50 {
				ok, retry := k.AllowAt("k", now)
				if ok {
					continue
				}
				if i < 2 {
					t.Fatalf("refused within the burst")
				}
				allow(t, k, "k", now.Add(retry*999/1000), false)
				now = now.Add(retry)
				allow(t, k, "k", now, true)
			}
		})
	}
}

func TestZeroRate(t *testing.T) {
	k := ratelimit.New(0, 1, 10)
	allow(t, k, "a", t0, true)
	if retry := allow(t, k, "a", t0.Add(time.Hour), false); retry != rate.InfDuration {
		t.Fatalf("retryAfter = %v, want InfDuration", retry)
	}
}

func TestInfiniteRate(t *testing.T) {
	k := ratelimit.New(rate.Inf, 0, 10)
	for i := range 100 {
		allow(t, k, fmt.Sprint(i), t0, true)
	}
	if k.Len() != 0 {
		t.Fatalf("Len = %d, want 0: an unlimited Keyed need remember nothing", k.Len())
	}
}

func TestMaxKeysEvictsLeastRecentlyUsed(t *testing.T) {
	k := ratelimit.New(rate.Every(time.Hour), 1, 3)
	for _, key := range []string{"a", "b", "c"} {
		allow(t, k, key, t0, true)
	}
	allow(t, k, "a", t0, false) // a is now the most recently used
	allow(t, k, "d", t0, true)  // evicts b, the least recently used
	if k.Len() != 3 {
		t.Fatalf("Len = %d, want 3", k.Len())
	}
	allow(t, k, "a", t0, false) // still remembered, still empty
	allow(t, k, "c", t0, false)
	allow(t, k, "b", t0, true) // forgotten, so full again (and evicts d)
	allow(t, k, "d", t0, true)
}

func TestFullBucketsArePruned(t *testing.T) {
	k := ratelimit.New(rate.Every(time.Second), 1, 1000)
	for i := range 100 {
		allow(t, k, fmt.Sprint(i), t0, true)
	}
	if k.Len() != 100 {
		t.Fatalf("Len = %d, want 100", k.Len())
	}
	// A minute later every bucket has refilled; new keys sweep out the old ones.
	later := t0.Add(time.Minute)
	for i := range 100 {
		allow(t, k, fmt.Sprint("new", i), later, true)
	}
	if k.Len() > 100 {
		t.Fatalf("Len = %d after the old keys refilled, want at most 100", k.Len())
	}
	if k.Len() != 100 {
		// Two old buckets leave per new key, so all 100 are gone by now.
		t.Fatalf("Len = %d, want 100 (only the new keys)", k.Len())
	}
}

func TestMemoryBounded(t *testing.T) {
	k := ratelimit.New(rate.Every(time.Hour), 1, 50)
	for i := range 10_000 {
		allow(t, k, fmt.Sprint(i), t0, true)
		if k.Len() > 50 {
			t.Fatalf("Len = %d, want at most 50", k.Len())
		}
	}
}

func TestConcurrent(t *testing.T) {
	const (
		workers = 8
		calls   = 2000
		burst   = 100
	)
	// A rate so slow that no token comes back during the test: across all workers each
	// key allows exactly burst calls.
	k := ratelimit.New(rate.Every(24*time.Hour), burst, 1000)
	keys := []string{"10.0.0.1", "10.0.0.2", "alice", "bob"}
	var allowed [4]atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range calls {
				j := (w + i) % len(keys)
				if ok, _ := k.Allow(keys[j]); ok {
					allowed[j].Add(1)
				}
			}
		})
	}
	wg.Wait()
	for j, key := range keys {
		if got := allowed[j].Load(); got != burst {
			t.Errorf("key %s: %d calls allowed, want %d", key, got, burst)
		}
	}
}

func TestConcurrentEviction(t *testing.T) {
	k := ratelimit.New(rate.Every(time.Millisecond), 2, 16)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 5000 {
				k.Allow(fmt.Sprint(w, "-", i%64))
			}
		})
	}
	wg.Wait()
	if k.Len() > 16 {
		t.Fatalf("Len = %d, want at most 16", k.Len())
	}
}

func BenchmarkAllow(b *testing.B) {
	k := ratelimit.New(rate.Every(time.Millisecond), 10, 10_000)
	keys := make([]string, 20_000)
	for i := range keys {
		keys[i] = fmt.Sprint("10.0.", i/256, ".", i%256)
	}
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			k.Allow(keys[i%len(keys)])
			i++
		}
	})
}
