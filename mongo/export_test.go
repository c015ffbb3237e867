package mongo

import (
	"context"
	"time"

	"github.com/chatchat/chatchat/chat"
)

// ClaimOnly takes only the first step of CreateMessage, as a sender that fails right after
// it would: the client id of m is claimed and no message is stored.
func ClaimOnly(ctx context.Context, s *Store, m chat.Message) error {
	_, err := s.claims().InsertOne(ctx, claimDoc{
		MessageID: m.ID, SenderID: m.SenderID, ClientMsgID: m.ClientMsgID, ClaimedAt: date(time.Now()),
	})
	return err
}
