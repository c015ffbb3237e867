package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// callTimeout bounds each store call the background loop makes.
const callTimeout = 10 * time.Second

// dropInterval is how often the sealed pairs of spent refresh tokens whose grace is over
// are removed (at most; PruneInterval when shorter): a pair outlives its use by a minute.
const dropInterval = time.Minute

// Logout ends the session of refreshToken, which must be userID's: the token's family is
// revoked, its access tokens are refused from now on, in every process, and chat servers
// close the WebSockets opened with them. A spent or revoked token of the user ends its
// session all the same (logging out twice is no error); an unknown token or another
// user's gives NotFound "session_not_found".
func (s *Service) Logout(ctx context.Context, userID, refreshToken string) error {
	if len(refreshToken) != refreshTokenLen {
		return errNoSession()
	}
	rt, err := s.tokens.RefreshToken(ctx, hashRefreshToken(refreshToken))
	if chat.IsNotFound(err) || err == nil && rt.UserID != userID {
		return errNoSession()
	}
	if err != nil {
		return fmt.Errorf("auth: logout: %w", err)
	}
	if err := s.endSessions(ctx, userID, []string{rt.FamilyID}, false, 0); err != nil {
		return fmt.Errorf("auth: logout: %w", err)
	}
	return nil
}

// LogoutAll ends every session of userID, as Logout does one.
func (s *Service) LogoutAll(ctx context.Context, userID string) error {
	return s.EndUserSessions(ctx, userID, 0)
}

// EndUserSessions implements chat.SessionEnder: it ends every session of userID as
// LogoutAll does, and chat servers close the user's sockets with closeCode (0: 4001, as
// for a logout; 4003 for a suspension).
func (s *Service) EndUserSessions(ctx context.Context, userID string, closeCode int) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	// Revoke first, list after: a refresh that slips in between has recorded its new
	// token by the time it learns (SetSuccessor) whether the revocation reached it, so
	// either it fails or the listing below sees its family.
	if err := s.tokens.RevokeUserTokens(ctx, userID); err != nil {
		return fmt.Errorf("auth: logout-all: %w", err)
	}
	families, err := s.tokens.TokenFamilies(ctx, userID, s.cfg.Now().Add(-s.liveFor()))
	if err != nil {
		return fmt.Errorf("auth: logout-all: %w", err)
	}
	if err := s.endSessions(ctx, userID, families, true, closeCode); err != nil {
		return fmt.Errorf("auth: logout-all: %w", err)
	}
	return nil
}

func errNoSession() error {
	return chat.Errorf(chat.NotFound, "session_not_found", "no session of yours has this refresh token")
}

// liveFor is how long an access token may be accepted after it was issued: its lifetime
// and the clock skew tolerated, twice, for the skew between the nodes that issue and check.
func (s *Service) liveFor() time.Duration { return s.cfg.AccessTTL + 2*s.cfg.Leeway }

// endSessions revokes the families of userID (all: every token of the user was revoked
// already), records them as revoked until the last access token issued from them has
// expired, and tells every process. It runs detached from the caller: a half-ended session
// is worse than a slow answer.
func (s *Service) endSessions(ctx context.Context, userID string, families []string, all bool, closeCode int) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	now := s.cfg.Now()
	expires := now.Add(s.liveFor())
	// The record first: from here on every process refuses the access tokens (at its
	// next reload at worst), whatever happens to the rest.
	if s.revocations != nil && len(families) > 0 {
		rs := make([]chat.Revocation, len(families))
		for i, f := range families {
			rs[i] = chat.Revocation{SessionID: f, UserID: userID, ExpiresAt: expires}
		}
		if err := s.revocations.AddRevocations(ctx, rs); err != nil {
			return err
		}
	}
	s.revoked.add(now, families, expires)
	if !all {
		for _, f := range families {
			if err := s.tokens.RevokeTokenFamily(ctx, f); err != nil {
				return fmt.Errorf("revoke family %s: %w", f, err)
			}
		}
	}
	s.publish(ctx, chat.SessionsRevoked{UserID: userID, SessionIDs: families, All: all,
		ExpiresAt: expires.UnixMilli(), CloseCode: closeCode})
	return nil
}

// publish sends SESSIONS_REVOKED. A failure is logged, not returned: the revocation is in
// the store, where every process finds it at its next reload, and chat servers close the
// sockets of revoked sessions in their sweep.
func (s *Service) publish(ctx context.Context, d chat.SessionsRevoked) {
	if s.cfg.Bus == nil {
		return
	}
	data, err := json.Marshal(d)
	if err == nil {
		err = s.cfg.Bus.Publish(ctx, chat.Event{
			Type: chat.EventSessionsRevoked, UserIDs: []string{d.UserID}, Data: data,
			Origin: s.cfg.NodeID, At: s.cfg.Now().UnixMilli(),
		})
	}
	if err != nil {
		s.log.Warn("publish SESSIONS_REVOKED failed; other processes learn of it on reload",
			"user", d.UserID, "err", err)
	}
}

// Revoked reports whether the session has been ended. Chat servers ask it for their open
// sockets, which covers a SESSIONS_REVOKED event lost on the bus.
func (s *Service) Revoked(sessionID string) bool { return s.revoked.has(sessionID) }

// HandleEvent adds the sessions of a SESSIONS_REVOKED, from this process or any other, to
// the revocation set. Subscribe the Service to chat.TopicSessions in every process that
// verifies tokens.
func (s *Service) HandleEvent(ev chat.Event) {
	if ev.Type != chat.EventSessionsRevoked {
		return
	}
	var d chat.SessionsRevoked
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		s.log.Warn("SESSIONS_REVOKED with undecodable data", "err", err)
		return
	}
	s.revoked.add(s.cfg.Now(), d.SessionIDs, time.UnixMilli(d.ExpiresAt))
}

// HandleGap has Run reload the revocations at once: the bus may have lost some.
func (s *Service) HandleGap() {
	select {
	case s.gap <- struct{}{}:
	default: // a reload is due already
	}
}

var _ chat.EventHandler = (*Service)(nil)

// Run keeps the revocation set current (reloading it every ReloadInterval, and at once
// after a bus gap), prunes expired refresh tokens and revocations every PruneInterval, and
// removes the sealed pairs whose grace is over every minute, until ctx ends; it returns
// ctx.Err(). Call Reload once before serving: Run's first reload comes an interval later.
func (s *Service) Run(ctx context.Context) error {
	reload := time.NewTicker(s.cfg.ReloadInterval)
	defer reload.Stop()
	var prune, drop <-chan time.Time
	if s.cfg.PruneInterval > 0 {
		p := time.NewTicker(s.cfg.PruneInterval)
		defer p.Stop()
		d := time.NewTicker(min(s.cfg.PruneInterval, dropInterval))
		defer d.Stop()
		prune, drop = p.C, d.C
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-reload.C:
		case <-s.gap:
		case <-prune:
			s.prune(ctx)
			continue
		case <-drop:
			s.dropSuccessors(ctx)
			continue
		}
		if err := s.Reload(ctx); err != nil {
			s.log.Warn("reload revocations failed; keeping the set held", "err", err)
		}
	}
}

// Reload reads the live revocations from the store into this process's set. Entries are
// only ever added (a revocation is never undone) and dropped once expired, so a reload
// racing an event loses nothing.
func (s *Service) Reload(ctx context.Context) error {
	if s.revocations == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	now := s.cfg.Now()
	rs, err := s.revocations.Revocations(ctx, now)
	if err != nil {
		return fmt.Errorf("auth: reload revocations: %w", err)
	}
	s.revoked.merge(now, rs)
	return nil
}

// dropSuccessors removes the sealed pairs that can no longer be claimed.
func (s *Service) dropSuccessors(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if _, err := s.tokens.DropSuccessors(ctx, s.cfg.Now().Add(-s.cfg.RefreshGrace)); err != nil {
		s.log.Warn("drop sealed refresh pairs failed", "err", err)
	}
}

// prune deletes the refresh tokens and revocations that have expired. Used tokens are kept
// until then: a replay of one is what reveals a stolen copy.
func (s *Service) prune(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	now := s.cfg.Now()
	n, err := s.tokens.PruneRefreshTokens(ctx, now)
	if err != nil {
		s.log.Warn("prune refresh tokens failed", "err", err)
	}
	var m int64
	if s.revocations != nil {
		if m, err = s.revocations.PruneRevocations(ctx, now); err != nil {
			s.log.Warn("prune revocations failed", "err", err)
		}
	}
	s.log.Debug("pruned expired tokens", "refreshTokens", n, "revocations", m)
}
