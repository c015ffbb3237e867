package mongo_test

import (
	"testing"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/chattest"
	"github.com/chatchat/chatchat/internal/testenv"
)

func TestMediaStore(t *testing.T) {
	srv := testenv.Mongo(t)
	chattest.TestMediaStore(t, func(t *testing.T) chat.MediaStore { return open(t, srv) })
}

func TestMediaUsageStore(t *testing.T) {
	srv := testenv.Mongo(t)
	chattest.TestMediaUsageStore(t, func(t *testing.T) chattest.MediaUsageStore { return open(t, srv) })
}
