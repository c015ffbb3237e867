package notify

import (
	"context"
	"log/slog"
	"strconv"

	"github.com/chatchat/chatchat/chat"
)

// processRead sends the data-only push of a read cursor that moved to every device of the
// reader: {type: "read", roomId, lastReadSeq, badge}, so that a phone clears the room's
// notifications read on another device and sets its badge. Online or not, every device
// gets it (the reader is usually online: on the device they read with). The provider
// collapses a room's read pushes (chat.Push.Thread), so a device that was away gets the
// latest one. Nothing is recorded in the notification history, whose entries are
// messages; a redelivered job sends its pushes again, which is harmless: they say the same.
func (w *Worker) processRead(ctx context.Context, rp chat.ReadPush) error {
	devices, err := w.devices.Devices(ctx, []string{rp.UserID})
	if err != nil || len(devices) == 0 {
		return err
	}
	n, err := w.devices.UnreadTotal(ctx, rp.UserID)
	if err != nil {
		return err
	}
	badge := int(min(n, 1<<31-1))
	data := map[string]string{
		"type": "read", "roomId": rp.RoomID,
		"lastReadSeq": strconv.FormatInt(rp.LastReadSeq, 10), "badge": strconv.Itoa(badge),
	}
	for _, dev := range devices {
		p := chat.Push{Token: dev.Token, Platform: dev.Platform, Data: data, Thread: rp.RoomID, DataOnly: true}
		if w.pusher == nil {
			w.log.Debug("read push (no push provider configured)", "user", dev.UserID, "platform", dev.Platform, "room", rp.RoomID)
			w.m.reads.WithLabelValues(chat.NotificationLogged).Inc()
			continue
		}
		select {
		case w.sends <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		interrupted, err := w.send(ctx, p)
		<-w.sends
		if interrupted {
			return context.Cause(ctx)
		}
		if err == nil {
			w.m.reads.WithLabelValues(chat.NotificationSent).Inc()
			continue
		}
		reason := reasonOf(err)
		w.m.reads.WithLabelValues(chat.NotificationFailed).Inc()
		level := slog.LevelWarn
		if reason == chat.PushUnregistered {
			level = slog.LevelInfo
			if err := w.devices.DeleteToken(context.WithoutCancel(ctx), dev.Token); err != nil {
				w.log.Warn("delete unregistered token failed", "user", dev.UserID, "err", err)
			} else {
				w.m.tokensDeleted.Inc()
			}
		}
		w.log.Log(ctx, level, "read push failed", "user", dev.UserID, "platform", dev.Platform, "room", rp.RoomID, "reason", reason, "err", err)
	}
	return nil
}
