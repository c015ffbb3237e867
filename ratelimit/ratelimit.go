// Package ratelimit limits how often each of many clients may act: one token bucket per
// key (a client address, a username, a user id), with memory bounded however many keys
// appear.
package ratelimit

import (
	"container/list"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Keyed is a set of token buckets, one per key, each filling at the same rate up to the
// same burst. It holds at most maxKeys buckets: a key seen for the first time when the
// set is full takes the place of the least recently used one. Forgetting a key can only
// give that key a full bucket again, and the key least recently seen is the one whose
// bucket has most likely refilled anyway. Keyed is safe for concurrent use and runs no
// goroutine: buckets that have refilled are dropped lazily, as calls come.
type Keyed struct {
	limit   rate.Limit
	burst   int
	maxKeys int

	mu sync.Mutex
	// lru orders the buckets, most recently used at the front; keys finds them.
	lru  *list.List
	keys map[string]*list.Element
}

// bucket is one key's limiter, as held in Keyed.lru.
type bucket struct {
	key string
	lim *rate.Limiter
}

// New returns a Keyed that lets each key act burst times at once and then r times a
// second (rate.Every(window/n) gives "n per window"), keeping at most maxKeys keys
// (at least 1).
func New(r rate.Limit, burst int, maxKeys int) *Keyed {
	return &Keyed{
		limit:   r,
		burst:   burst,
		maxKeys: max(maxKeys, 1),
		lru:     list.New(),
		keys:    make(map[string]*list.Element),
	}
}

// Allow reports whether key may act now, and takes a token if so. When it may not,
// retryAfter is how long until it may; rate.InfDuration if never (a zero rate).
func (k *Keyed) Allow(key string) (ok bool, retryAfter time.Duration) {
	return k.AllowAt(key, time.Now())
}

// AllowAt is Allow at the time now; tests pass their own clock.
func (k *Keyed) AllowAt(key string, now time.Time) (ok bool, retryAfter time.Duration) {
	if k.limit == rate.Inf {
		return true, 0 // no limit: nothing to remember
	}
	k.mu.Lock()
	defer k.mu.Unlock()

	lim := k.bucket(key, now)
	if lim.AllowN(now, 1) {
		return true, 0
	}
	return false, k.wait(lim.TokensAt(now))
}

// bucket returns key's limiter, made if needed, and marks it most recently used.
// Called with k.mu held.
func (k *Keyed) bucket(key string, now time.Time) *rate.Limiter {
	if e, ok := k.keys[key]; ok {
		k.lru.MoveToFront(e)
		return e.Value.(*bucket).lim
	}
	k.prune(now)
	if k.lru.Len() >= k.maxKeys {
		k.remove(k.lru.Back())
	}
	b := &bucket{key: key, lim: rate.NewLimiter(k.limit, k.burst)}
	k.keys[key] = k.lru.PushFront(b)
	return b.lim
}

// pruneBatch is how many of the oldest buckets one new key may inspect: enough that idle
// keys leave faster than new ones come, few enough that a call stays O(1).
const pruneBatch = 2

// prune drops up to pruneBatch of the least recently used buckets that are full again:
// remembering them changes no answer, since a new bucket starts full too.
// Called with k.mu held.
func (k *Keyed) prune(now time.Time) {
	for range pruneBatch {
		e := k.lru.Back()
		if e == nil || e.Value.(*bucket).lim.TokensAt(now) < float64(k.burst) {
			return
		}
		k.remove(e)
	}
}

// remove drops a bucket. Called with k.mu held.
func (k *Keyed) remove(e *list.Element) {
	k.lru.Remove(e)
	delete(k.keys, e.Value.(*bucket).key)
}

// wait is the time until a bucket holding tokens has one whole token.
func (k *Keyed) wait(tokens float64) time.Duration {
	if k.limit <= 0 || k.burst < 1 {
		return rate.InfDuration
	}
	secs := (1 - tokens) / float64(k.limit)
	// Round up: a Retry-After of a moment too early would be refused again.
	d := time.Duration(math.Ceil(secs * float64(time.Second)))
	return max(d, time.Nanosecond)
}

// Len returns the number of keys held.
func (k *Keyed) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.lru.Len()
}
