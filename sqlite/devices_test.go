package sqlite_test

import (
	"testing"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/chattest"
)

func TestPushStore(t *testing.T) {
	chattest.TestPushStore(t, func(t *testing.T) (chat.Store, chat.PushStore) {
		s := open(t)
		return s, s
	})
}
