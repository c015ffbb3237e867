package ws

import "time"

// sweep is the one timer of all the sessions: it pings those silent for PingInterval (a
// live client answers with a pong, which counts as a frame) and drops those silent past
// IdleTimeout, whose peers vanished without a close. Per-connection timers would cost
// memory and wake-ups on every connection; a walk every SweepInterval costs neither.
func (s *Server) sweep(now time.Time) {
	t := now.UnixNano()
	idle := s.cfg.IdleTimeout.Nanoseconds()
	ping := s.cfg.PingInterval.Nanoseconds()
	s.users.each(func(ss *session) {
		silent := t - ss.lastSeen.Load()
		switch {
		case silent > idle:
			ss.logger().Debug("dropping silent session", "silent", time.Duration(silent))
			ss.abort()
		case silent > ping && t-ss.pingedAt.Load() > ping:
			ss.pingedAt.Store(t)
			ss.enqueue(outFrame{b: s.frames.ping})
		}
	})
}
