package media_test

import (
	"context"
	"errors"
	"testing"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/media"
	"github.com/chatchat/chatchat/memory"
	"github.com/chatchat/chatchat/sqlite"
)

// failingSends is the SQLite store with CreateMessage failing, as a store that is down.
type failingSends struct{ *sqlite.Store }

func (failingSends) CreateMessage(context.Context, chat.Message, []string) (chat.Message, bool, error) {
	return chat.Message{}, false, errors.New("store down")
}

// TestFailedSendDetachesMedia: a send that fails before its message is stored gives the
// upload back to its uploader alone (and to collection), where it once stayed attached
// and open to the room's members with no message showing it.
func TestFailedSendDetachesMedia(t *testing.T) {
	e := newEnv(t, nil, media.Config{})
	ctx := t.Context()
	bus := memory.NewBus()
	t.Cleanup(func() { bus.Close() })
	svc := chat.NewService(chat.ServiceConfig{}, failingSends{e.store}, bus, memory.NewPresence(memory.PresenceConfig{}))
	svc.SetMediaResolver(e.svc)

	m, err := e.upload(t, "notes.txt", []byte("not sent"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.SendMessage(ctx, e.user, e.room, chat.NewMessage{Type: chat.MessageFile, MediaID: m.ID}); err == nil {
		t.Fatal("send on a failing store succeeded")
	}
	if got, err := e.store.Media(ctx, m.ID); err != nil || got.Attached {
		t.Errorf("after a failed send: attached %v, %v; want unattached", got.Attached, err)
	}
	// A failed image send of a file that is not an image gives it back too.
	if _, _, err := svc.SendMessage(ctx, e.user, e.room, chat.NewMessage{Type: chat.MessageImage, MediaID: m.ID}); chat.ErrorCode(err) != "not_an_image" {
		t.Fatalf("image send of a text file: %v, want not_an_image", err)
	}
	if got, _ := e.store.Media(ctx, m.ID); got.Attached {
		t.Error("after a refused image send: attached")
	}
}
