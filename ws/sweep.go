package ws

import "time"

// sweep is the one timer of all the sessions: it pings those silent for PingInterval (a
// live client answers with a pong, which counts as a frame), drops those silent past
// IdleTimeout, whose peers vanished without a close, and closes with 4001 those whose
// access token has expired (no AUTH renewed it) or whose session was revoked. Per-connection
// timers would cost memory and wake-ups on every connection; a walk every SweepInterval
// costs neither.
func (s *Server) sweep(now time.Time) {
	t := now.UnixNano()
	idle := s.cfg.IdleTimeout.Nanoseconds()
	ping := s.cfg.PingInterval.Nanoseconds()
	s.users.each(func(ss *session) {
		silent := t - ss.lastSeen.Load()
		g := ss.grant.Load()
		switch {
		case silent > idle:
			ss.logger().Debug("dropping silent session", "silent", time.Duration(silent))
			ss.abort()
		case t > g.expires:
			ss.logger().Debug("closing session: its access token expired")
			ss.closeWith(CloseUnauthorized)
		case s.auth.Revoked(g.sessionID):
			ss.logger().Debug("closing session: it was revoked")
			ss.closeWith(CloseUnauthorized)
		case silent > ping && t-ss.pingedAt.Load() > ping:
			ss.pingedAt.Store(t)
			ss.enqueue(outFrame{b: s.frames.ping})
		}
	})
}
