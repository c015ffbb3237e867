package sqlite_test

import (
	"testing"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/chattest"
)

func TestDeviceStore(t *testing.T) {
	chattest.TestDeviceStore(t, func(t *testing.T) (chat.Store, chat.DeviceStore) {
		s := open(t)
		return s, s
	})
}
