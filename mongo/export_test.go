package mongo

import (
	"context"

	"github.com/chatchat/chatchat/chat"
)

// ClaimOnly takes only the first step of CreateMessage, as a sender that fails right after
// it would: m is stored pending, with no seq.
func ClaimOnly(ctx context.Context, s *Store, m chat.Message) error {
	_, err := s.messages.InsertOne(ctx, pendingDoc(m))
	return err
}
