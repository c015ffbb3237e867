package chat

import (
	"context"
	"time"
)

// Blocking between users: a user blocks another so that the other cannot open or use a
// direct room with them, nor put them into a group; in groups, clients hide a blocked
// user's messages behind a line the reader may expand.

// MaxBlocks is the most users one user may block.
const MaxBlocks = 1000

// BlockStore keeps who blocks whom.
type BlockStore interface {
	// Block records that blockerID blocks blockedID (again is no error).
	Block(ctx context.Context, blockerID, blockedID string, at time.Time) error
	// Unblock removes the block (none is no error).
	Unblock(ctx context.Context, blockerID, blockedID string) error
	// BlockedBy returns the users blockerID blocks, most recently blocked first.
	BlockedBy(ctx context.Context, blockerID string) ([]string, error)
	// Blockers returns those of candidates who block userID, in no particular order.
	Blockers(ctx context.Context, userID string, candidates []string) ([]string, error)
}
