package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the argon2id cost parameters used for new password hashes. Existing
// hashes are verified with the parameters stored in them, so these can change at any time.
type Argon2Params struct {
	// Memory is the memory cost in KiB.
	Memory uint32
	// Time is the number of passes over the memory.
	Time uint32
	// Threads is the degree of parallelism.
	Threads uint8
	// SaltLen and KeyLen are the lengths in bytes of the random salt and the derived key.
	SaltLen uint32
	KeyLen  uint32
}

// DefaultArgon2Params returns OWASP's recommended minimum for argon2id: 19 MiB, 2 passes,
// 1 lane, with a 16-byte salt and a 32-byte key.
func DefaultArgon2Params() Argon2Params {
	return Argon2Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// withDefaults fills the zero fields of p from DefaultArgon2Params.
func (p Argon2Params) withDefaults() Argon2Params {
	d := DefaultArgon2Params()
	if p.Memory == 0 {
		p.Memory = d.Memory
	}
	if p.Time == 0 {
		p.Time = d.Time
	}
	if p.Threads == 0 {
		p.Threads = d.Threads
	}
	if p.SaltLen == 0 {
		p.SaltLen = d.SaltLen
	}
	if p.KeyLen == 0 {
		p.KeyLen = d.KeyLen
	}
	// Below these, parsePHC would refuse the hashes we write.
	p.SaltLen = max(p.SaltLen, minSaltLen)
	p.KeyLen = min(max(p.KeyLen, minKeyLen), maxKeyLen)
	p.Memory = min(max(p.Memory, 8*uint32(p.Threads)), maxMemoryKiB)
	p.Time = min(p.Time, maxTime)
	return p
}

// Bounds on parameters read back from a stored hash. The store is trusted, but a corrupt
// row must not make one login allocate gigabytes or spin for minutes.
const (
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTime      = 64
	maxKeyLen    = 1024
	minSaltLen   = 8
	minKeyLen    = 16
)

// b64 is the PHC string format's base64: standard alphabet, no padding.
var b64 = base64.RawStdEncoding

// hasher hashes and verifies passwords. Its semaphore bounds how many argon2 computations
// run at once, because each one allocates Memory KiB: a burst of thousands of sign-ups
// would otherwise allocate gigabytes at the same moment.
type hasher struct {
	params Argon2Params
	sem    chan struct{}
}

func newHasher(p Argon2Params, concurrency int) *hasher {
	return &hasher{params: p, sem: make(chan struct{}, concurrency)}
}

// acquire waits for a hashing slot or for ctx to end.
func (h *hasher) acquire(ctx context.Context) error {
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("auth: wait to hash: %w", ctx.Err())
	}
}

func (h *hasher) release() { <-h.sem }

// hash returns the PHC string of password under h.params:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>.
func (h *hasher) hash(ctx context.Context, password string) (string, error) {
	p := h.params
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: read salt: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	h.release()
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// verify reports whether password matches the PHC string encoded, computed with the
// parameters stored in encoded. A malformed hash is an error, not a mismatch, so that a
// broken row is noticed rather than read as a wrong password.
func (h *hasher) verify(ctx context.Context, password, encoded string) (bool, error) {
	ph, err := parsePHC(encoded)
	if err != nil {
		return false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	key := argon2.IDKey([]byte(password), ph.salt, ph.time, ph.memory, ph.threads, uint32(len(ph.key)))
	h.release()
	return subtle.ConstantTimeCompare(key, ph.key) == 1, nil
}

// phc is a decoded argon2id PHC string.
type phc struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

var errBadHash = errors.New("auth: malformed password hash")

// parsePHC decodes $argon2id$v=19$m=M,t=T,p=P$salt$hash.
func parsePHC(s string) (phc, error) {
	var ph phc
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return ph, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return ph, fmt.Errorf("%w: version %q", errBadHash, parts[2])
	}
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &ph.memory, &ph.time, &threads); err != nil {
		return ph, fmt.Errorf("%w: params %q: %v", errBadHash, parts[3], err)
	}
	if ph.memory == 0 || ph.memory > maxMemoryKiB || ph.time == 0 || ph.time > maxTime ||
		threads == 0 || threads > 255 || ph.memory < 8*threads {
		return ph, fmt.Errorf("%w: params %q out of range", errBadHash, parts[3])
	}
	ph.threads = uint8(threads)
	var err error
	if ph.salt, err = b64.DecodeString(parts[4]); err != nil || len(ph.salt) < minSaltLen {
		return ph, fmt.Errorf("%w: salt", errBadHash)
	}
	if ph.key, err = b64.DecodeString(parts[5]); err != nil || len(ph.key) < minKeyLen || len(ph.key) > maxKeyLen {
		return ph, fmt.Errorf("%w: key", errBadHash)
	}
	return ph, nil
}
