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
	}
	return rr, nil
}

// setUnreadOne sets one message's unread count with one count query: listing the members
// of a large room on every send would cost more than the send itself.
func (s *Service) setUnreadOne(ctx context.Context, m *Message) error {
	n, err := s.cursors.UnreadCount(ctx, m.RoomID, m.SenderID, m.Seq)
	if err != nil {
		return err
	}
	m.UnreadCount = n
	return nil
}

// setUnread sets each message's unread count: the members other than its sender whose
// cursor is below its seq.
func setUnread(members []Member, msgs []Message) {
	cursors := make([]int64, len(members))
	for i, m := range members {
		cursors[i] = m.LastReadSeq
	}
	slices.Sort(cursors)
	for i := range msgs {
		m := &msgs[i]
		below, _ := slices.BinarySearch(cursors, m.Seq) // members with cursor < seq
		for _, mb := range members {
			if mb.UserID == m.SenderID && mb.LastReadSeq < m.Seq {
				below--
				break
			}
		}
		m.UnreadCount = max(below, 0)
	}
}
