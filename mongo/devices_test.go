package mongo_test

import (
	"testing"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/chattest"
	"github.com/chatchat/chatchat/internal/testenv"
)

func TestPushStore(t *testing.T) {
	srv := testenv.Mongo(t)
	chattest.TestPushStore(t, func(t *testing.T) (chat.Store, chat.PushStore) {
		s := open(t, srv)
		return s, s
	})
}
