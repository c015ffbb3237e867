package sqlite_test

import (
	"testing"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/chattest"
)

func TestMediaStore(t *testing.T) {
	chattest.TestMediaStore(t, func(t *testing.T) chat.MediaStore { return open(t) })
}

func TestMediaUsageStore(t *testing.T) {
	chattest.TestMediaUsageStore(t, func(t *testing.T) chattest.MediaUsageStore { return open(t) })
}
