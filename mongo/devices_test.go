package mongo_test

import (
	"testing"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/chattest"
	"github.com/chatchat/chatchat/internal/testenv"
)

func TestDeviceStore(t *testing.T) {
	srv := testenv.Mongo(t)
	chattest.TestDeviceStore(t, func(t *testing.T) (chat.Store, chat.DeviceStore) {
		s := open(t, srv)
		return s, s
	})
}
