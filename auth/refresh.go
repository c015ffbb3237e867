package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// finishTimeout bounds the work a refresh or a logout does after its first write, which
// runs detached from the request: a client that hangs up half-way must not leave a used
// token without its successor, or a session half-ended.
const finishTimeout = 10 * time.Second

// successorWait is how long a repeat waits for the first use of its token to record the
// successor (they arrived together: a client that retried at once, or two tabs), polling
// every successorPoll.
const (
	successorWait = 2 * time.Second
	successorPoll = 50 * time.Millisecond
)

// Refresh trades a refresh token for a new access token and a new refresh token of the
// same family; the old one is spent. An unknown, expired or revoked token gives
// Unauthorized "invalid_refresh_token".
//
// A spent token presented again within RefreshGrace of its first use, once, gets the same
// new pair: the answer to the first use may have been lost. Presented later, or a second
// time, it means that someone else holds a copy: the whole family (the session) is ended,
// so that neither the thief nor the owner can refresh again, and the owner must log in.
func (s *Service) Refresh(ctx context.Context, token string) (Tokens, error) {
	if len(token) != refreshTokenLen {
		return Tokens{}, errInvalidRefresh("refresh token is not valid")
	}
	hash := hashRefreshToken(token)
	now := s.cfg.Now()
	rt, firstUse, err := s.tokens.ConsumeRefreshToken(ctx, hash, now)
	if chat.IsNotFound(err) {
		return Tokens{}, errInvalidRefresh("refresh token is not valid")
	}
	if err != nil {
		return Tokens{}, fmt.Errorf("auth: refresh: %w", err)
	}
	if rt.Revoked {
		return Tokens{}, errInvalidRefresh("refresh token was revoked")
	}
	if !firstUse {
		return s.repeat(ctx, hash, rt, now)
	}
	if !now.Before(rt.ExpiresAt) {
		return Tokens{}, errInvalidRefresh("refresh token has expired")
	}
	// The token is spent: what follows must finish, or a retry finds no successor.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	t, err := s.issue(ctx, rt.UserID, rt.FamilyID)
	if err != nil {
		return Tokens{}, fmt.Errorf("auth: refresh: %w", err)
	}
	sealed, err := s.seal(hash, t)
	if err != nil {
		return Tokens{}, fmt.Errorf("auth: refresh: %w", err)
	}
	revoked, err := s.tokens.SetSuccessor(ctx, hash, sealed)
	if err != nil {
		return Tokens{}, fmt.Errorf("auth: refresh: %w", err)
	}
	if revoked {
		// The session ended while this refresh ran, after the revocation marked the
		// tokens it found: the successor may have escaped it, so revoke again.
		if err := s.tokens.RevokeTokenFamily(ctx, rt.FamilyID); err != nil {
			return Tokens{}, fmt.Errorf("auth: refresh: revoke family %s: %w", rt.FamilyID, err)
		}
		return Tokens{}, errInvalidRefresh("refresh token was revoked")
	}
	return t, nil
}

// repeat answers a spent token presented again: within the grace period and for the first
// time, with the pair its first use got; otherwise as a replay.
func (s *Service) repeat(ctx context.Context, hash string, rt chat.RefreshToken, now time.Time) (Tokens, error) {
	if rt.UsedAt.IsZero() || now.Sub(rt.UsedAt) > s.cfg.RefreshGrace || rt.GraceUsed {
		return Tokens{}, s.replayed(ctx, rt)
	}
	wait := time.NewTimer(successorWait)
	defer wait.Stop()
	poll := time.NewTicker(successorPoll)
	defer poll.Stop()
	for {
		got, claimed, err := s.tokens.ClaimGrace(ctx, hash)
		if err != nil {
			return Tokens{}, fmt.Errorf("auth: refresh: %w", err)
		}
		switch {
		case got.Revoked:
			return Tokens{}, errInvalidRefresh("refresh token was revoked")
		case claimed:
			t, err := s.open(hash, got.Successor)
			if err != nil {
				return Tokens{}, fmt.Errorf("auth: refresh: %w", err)
			}
			return t, nil
		case got.GraceUsed:
			return Tokens{}, s.replayed(ctx, got)
		}
		// The first use has not recorded its pair yet: it is running now. Not a replay,
		// so nothing is revoked; wait for it a little.
		select {
		case <-ctx.Done():
			return Tokens{}, fmt.Errorf("auth: refresh: %w", ctx.Err())
		case <-wait.C:
			return Tokens{}, chat.Errorf(chat.Unavailable, "refresh_in_progress",
				"this refresh token is being exchanged by another request; try again in a moment")
		case <-poll.C:
		}
	}
}

// replayed ends the session of a token used once too often and says so.
func (s *Service) replayed(ctx context.Context, rt chat.RefreshToken) error {
	if err := s.endSessions(ctx, rt.UserID, []string{rt.FamilyID}, false, 0); err != nil {
		return fmt.Errorf("auth: refresh: end session %s of user %s after a replay: %w", rt.FamilyID, rt.UserID, err)
	}
	s.log.Warn("refresh token replayed: session ended", "user", rt.UserID, "session", rt.FamilyID)
	return errInvalidRefresh("refresh token was already used; sign in again")
}

func errInvalidRefresh(msg string) error {
	return chat.Errorf(chat.Unauthorized, "invalid_refresh_token", "%s", msg)
}
