package chat

import (
	"context"
)

// Delivery receipts: a member's devices say how far a room's messages reached them
// (DELIVERED over the WebSocket, POST /rooms/{roomId}/delivered from a push handler), the
// store keeps the highest such seq per member (DeliveryStore), and the room hears of it as
// DELIVERY_RECEIPT_UPDATED. A client acknowledges every message it receives, so a burst of
// messages is a burst of receipts; the cursor is written at once (the HTTP answer reports
// it), but the events are coalesced per member: at most one per member per window, the
// latest value winning.

// MarkDelivered moves the caller's delivery cursor forward to seq (clamped to the room's
// last seq, like a read cursor) and, when it moved, tells the room.
func (s *Service) MarkDelivered(ctx context.Context, callerID, roomID string, seq int64) (DeliveryReceipt, error) {
	if seq < 0 {
		return DeliveryReceipt{}, Errorf(Invalid, "bad_request", "seq is not negative")
	}
	if err := s.may(ctx, roomID, callerID, mayAcknowledgeDelivery); err != nil {
		return DeliveryReceipt{}, err
	}
	after, moved, err := s.deliveries.AdvanceDeliveredCursor(ctx, roomID, callerID, seq)
	if IsNotFound(err) { // left the room after the cached check
		return DeliveryReceipt{}, roomNotFound()
	}
	if err != nil {
		return DeliveryReceipt{}, err
	}
	dr := DeliveryReceipt{RoomID: roomID, UserID: callerID, LastDeliveredSeq: after}
	if moved && !s.receipts.offer(receiptKey{roomID, callerID}, dr) {
		s.publishReceipts(ctx, []DeliveryReceipt{dr})
	}
	return dr, nil
}

// RunDeliveryReceipts publishes the coalesced DELIVERY_RECEIPT_UPDATED events every
// DeliveryReceiptWindow until ctx ends, then publishes what is still pending and returns.
// Until it runs, and after it returns, every receipt is published at once, uncoalesced, so
// that none is ever held with no one to send it. One process runs it once: a second call
// while one runs returns at once.
func (s *Service) RunDeliveryReceipts(ctx context.Context) {
	if !s.receipts.run(ctx, s.cfg.DeliveryReceiptWindow, func(rs []DeliveryReceipt) { s.publishReceipts(ctx, rs) }) {
		s.log.Warn("delivery receipts: RunDeliveryReceipts is already running")
	}
}

// receiptKey is one member of one room.
type receiptKey struct{ roomID, userID string }

// newReceiptCoalescer holds the latest delivery cursor of each member whose receipt waits
// for the next flush.
func newReceiptCoalescer(limit int) *coalescer[receiptKey, DeliveryReceipt] {
	return newCoalescer[receiptKey](limit, func(held, offered DeliveryReceipt) DeliveryReceipt {
		held.LastDeliveredSeq = max(held.LastDeliveredSeq, offered.LastDeliveredSeq)
		return held
	})
}

// receiptBatch bounds the events of one round trip to the bus.
const receiptBatch = 500

// publishReceipts publishes DELIVERY_RECEIPT_UPDATED for each receipt, in pipelined
// batches where the bus can (BatchPublisher). It runs on a context detached from ctx (the
// flusher's is ending when it flushes the last ones; a request's may be hung up) and
// bounded by PublishTimeout per batch. A failure is logged and reported: the cursors are
// stored, and a client that missed the event reads them from the room's members.
func (s *Service) publishReceipts(ctx context.Context, rs []DeliveryReceipt) {
	if len(rs) == 0 {
		return
	}
	ctx = context.WithoutCancel(ctx)
	evs := make([]Event, 0, len(rs))
	for _, dr := range rs {
		data, err := MarshalJSON(dr)
		if err != nil {
			s.log.Error("encode delivery receipt", "room", dr.RoomID, "err", err)
			continue
		}
		ev := Event{Type: EventDeliveryReceiptUpdated, RoomID: dr.RoomID, Data: data}
		s.stamp(&ev)
		evs = append(evs, ev)
	}
	for len(evs) > 0 {
		n := min(len(evs), receiptBatch)
		s.publishEvents(ctx, evs[:n])
		evs = evs[n:]
	}
}

// publishEvents publishes stamped events: in one round trip where the bus can, else one
// by one.
func (s *Service) publishEvents(ctx context.Context, evs []Event) {
	if len(evs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.PublishTimeout)
	defer cancel()
	if bp, ok := s.bus.(BatchPublisher); ok {
		if sent, err := bp.PublishBatch(ctx, evs, nil, nil); sent {
			if err != nil {
				s.log.Warn("publish failed", "type", evs[0].Type, "events", len(evs), "err", err)
				s.reportFailure(evs[0].Type, err)
			}
			return
		}
	}
	for _, ev := range evs {
		if err := s.bus.Publish(ctx, ev); err != nil {
			s.log.Warn("publish failed", "type", ev.Type, "room", ev.RoomID, "err", err)
			s.reportFailure(ev.Type, err)
			return // the bus is down: the rest would wait out the same timeout
		}
	}
}
