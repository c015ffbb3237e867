package chat

import (
	"context"
	"slices"
)

// MarkRead moves the caller's read cursor forward and tells the room.
func (s *Service) MarkRead(ctx context.Context, callerID, roomID string, seq int64) (ReadReceipt, error) {
	if seq < 0 {
		return ReadReceipt{}, Errorf(Invalid, "bad_request", "seq is not negative")
	}
	before, err := s.allowed(ctx, roomID, callerID, mayView)
	if err != nil {
		return ReadReceipt{}, err
	}
	after, err := s.cursors.AdvanceReadCursor(ctx, roomID, callerID, seq)
	if IsNotFound(err) {
		return ReadReceipt{}, roomNotFound()
	}
	if err != nil {
		return ReadReceipt{}, err
	}
	rr := ReadReceipt{RoomID: roomID, UserID: callerID, LastReadSeq: after}
	if after > before.LastReadSeq {
		s.publish(ctx, Event{Type: EventReadReceiptUpdated, RoomID: roomID}, rr)
		s.pushRead(ctx, rr)
	}
	return rr, nil
}

// pushRead queues the data-only push that clears the room's notifications on the user's
// other devices (read on the web, the phone stops showing it). Like a message's push job it
// is queued on a context the client's hang-up cannot cancel, and a failure is logged, not
// returned: the cursor is stored.
func (s *Service) pushRead(ctx context.Context, rr ReadReceipt) {
	if s.push == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.PublishTimeout)
	defer cancel()
	job := PushJob{Read: &ReadPush{RoomID: rr.RoomID, UserID: rr.UserID, LastReadSeq: rr.LastReadSeq}, EnqueuedAt: s.cfg.Now().UnixMilli()}
	if err := s.push.Enqueue(ctx, job); err != nil {
		s.log.Warn("read push enqueue failed", "room", rr.RoomID, "user", rr.UserID, "err", err)
		s.reportFailure("PUSH_JOB", err)
	}
}

// setUnreadOne sets one message's unread and undelivered counts with one count query
// each: listing the members of a large room on every send would cost more than the send
// itself.
func (s *Service) setUnreadOne(ctx context.Context, m *Message) error {
	n, err := s.cursors.UnreadCount(ctx, m.RoomID, m.SenderID, m.Seq)
	if err != nil {
		return err
	}
	m.UnreadCount = n
	if n == 0 { // a member who read it has received it
		m.UndeliveredCount = 0
		return nil
	}
	if m.UndeliveredCount, err = s.deliveries.UndeliveredCount(ctx, m.RoomID, m.SenderID, m.Seq); err != nil {
		return err
	}
	return nil
}

// setUnread sets each message's unread and undelivered counts: the members other than
// its sender whose read (delivery) cursor is below its seq.
func setUnread(members []Member, msgs []Message) {
	read := func(mb Member) int64 { return mb.LastReadSeq }
	delivered := func(mb Member) int64 { return mb.LastDeliveredSeq }
	countBelow(members, msgs, read, func(m *Message, n int) { m.UnreadCount = n })
	countBelow(members, msgs, delivered, func(m *Message, n int) { m.UndeliveredCount = n })
}

// countBelow calls set with, for each message, the members other than its sender whose
// cursor is below its seq.
func countBelow(members []Member, msgs []Message, cursor func(Member) int64, set func(*Message, int)) {
	cursors := make([]int64, len(members))
	for i, mb := range members {
		cursors[i] = cursor(mb)
	}
	slices.Sort(cursors)
	for i := range msgs {
		m := &msgs[i]
		below, _ := slices.BinarySearch(cursors, m.Seq) // members with cursor < seq
		for _, mb := range members {
			if mb.UserID == m.SenderID && cursor(mb) < m.Seq {
				below--
				break
			}
		}
		set(m, max(below, 0))
	}
}
