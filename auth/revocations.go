package auth

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// revocationSet is a process's copy of the live revocations: session id → when the entry
// may be forgotten (unix ms). Readers, one per authenticated request, load an immutable
// map through an atomic pointer and look the id up, with no lock; writers (a logout, an
// event, a reload: a few a second at most) copy the map, dropping expired entries on the
// way, and swap it in.
type revocationSet struct {
	mu sync.Mutex // serialises writers
	m  atomic.Pointer[map[string]int64]
}

func (r *revocationSet) init() {
	m := map[string]int64{}
	r.m.Store(&m)
}

// has reports whether the session is revoked. An entry past its expiry may still answer
// true until the next write drops it; it covers only expired tokens by then.
func (r *revocationSet) has(sessionID string) bool {
	_, ok := (*r.m.Load())[sessionID]
	return ok
}

// add revokes the sessions until expires.
func (r *revocationSet) add(now time.Time, sessionIDs []string, expires time.Time) {
	if len(sessionIDs) == 0 {
		return
	}
	exp := expires.UnixMilli()
	if exp <= now.UnixMilli() {
		return
	}
	r.update(now, func(m map[string]int64) {
		for _, id := range sessionIDs {
			m[id] = max(m[id], exp)
		}
	})
}

// merge adds the records read from the store.
func (r *revocationSet) merge(now time.Time, rs []chat.Revocation) {
	r.update(now, func(m map[string]int64) {
		for _, rv := range rs {
			if exp := rv.ExpiresAt.UnixMilli(); exp > now.UnixMilli() {
				m[rv.SessionID] = max(m[rv.SessionID], exp)
			}
		}
	})
}

// update copies the live entries, lets fn add to the copy, and publishes it.
func (r *revocationSet) update(now time.Time, fn func(map[string]int64)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := *r.m.Load()
	next := make(map[string]int64, len(cur))
	cutoff := now.UnixMilli()
	for id, exp := range cur {
		if exp > cutoff {
			next[id] = exp
		}
	}
	fn(next)
	r.m.Store(&next)
}

// size is the number of entries held, for tests.
func (r *revocationSet) size() int { return len(*r.m.Load()) }
