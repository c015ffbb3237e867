package api_test

import (
	"github.com/chatchat/chatchat/api"
	"github.com/chatchat/chatchat/auth"
	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/media"
)

// The API server's dependencies are interfaces it declares; these are the types that
// cmd/chatchat passes for them.
var (
	_ api.Chat          = (*chat.Service)(nil)
	_ api.Authenticator = (*auth.Service)(nil)
	_ api.Media         = (*media.Service)(nil)
	_ api.Devices       = chat.DeviceStore(nil)
	_ api.Notifications = chat.NotificationLog(nil)
)
