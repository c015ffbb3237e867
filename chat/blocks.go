package chat

import (
	"context"
	"slices"
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

// Block makes the caller block userID. Blocking oneself is bad input; blocking someone
// blocked already changes nothing.
func (s *Service) Block(ctx context.Context, callerID, userID string) error {
	if userID == callerID {
		return Errorf(Invalid, "bad_request", "you cannot block yourself")
	}
	if _, err := s.User(ctx, userID); err != nil {
		return err
	}
	blocked, err := s.blocks.BlockedBy(ctx, callerID)
	if err != nil {
		return err
	}
	if slices.Contains(blocked, userID) {
		return nil
	}
	if len(blocked) >= MaxBlocks {
		return Errorf(Conflict, "too_many_blocks", "you block %d users already, the most there may be", MaxBlocks)
	}
	return s.blocks.Block(ctx, callerID, userID, s.cfg.Now())
}

// Unblock lifts the caller's block of userID; none is no error.
func (s *Service) Unblock(ctx context.Context, callerID, userID string) error {
	return s.blocks.Unblock(ctx, callerID, userID)
}

// Blocks returns the users the caller blocks, most recently blocked first.
func (s *Service) Blocks(ctx context.Context, callerID string) ([]User, error) {
	ids, err := s.blocks.BlockedBy(ctx, callerID)
	if err != nil || len(ids) == 0 {
		return []User{}, err
	}
	users, err := s.users.UsersByIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]User, len(users))
	for _, u := range users {
		byID[u.ID] = u
	}
	out := make([]User, 0, len(ids))
	for _, id := range ids {
		if u, ok := byID[id]; ok {
			out = append(out, u)
		}
	}
	return out, nil
}
