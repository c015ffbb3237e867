package chat

import "context"

// Device platforms.
const (
	PlatformAndroid = "android"
	PlatformIOS     = "ios"
	PlatformWeb     = "web"
)

// Notification statuses.
const (
	NotificationSent   = "sent"
	NotificationFailed = "failed"
	NotificationLogged = "logged" // no push provider configured
)

// Device is a push token of one user. A token belongs to one user at a time.
type Device struct {
	Token     string `json:"token"`
	UserID    string `json:"-"`
	Platform  string `json:"platform"`
	CreatedAt Time   `json:"createdAt"`
}

// Notification is one push attempt to one device, PROTOCOL.md's `notification`.
type Notification struct {
	ID        string `json:"id"`
	UserID    string `json:"-"`
	Token     string `json:"-"`
	MessageID string `json:"messageId"`
	RoomID    string `json:"roomId"`
	Seq       int64  `json:"seq"`
	Platform  string `json:"platform"`
	Status    string `json:"status"`
	Error     string `json:"error,omitempty"`
	Title     string `json:"title"`
	Body      string `json:"body"`
	CreatedAt Time   `json:"createdAt"`
}

// DeviceStore keeps push tokens. Each storage adapter implements it and passes
// chattest.TestDeviceStore.
type DeviceStore interface {
	// RegisterDevice stores d. created is false when the token was already d.UserID's (its
	// platform is updated); a token of another user moves to d.UserID.
	RegisterDevice(ctx context.Context, d Device) (created bool, err error)
	// DeleteDevice removes userID's token; ErrNotFound when the token is not userID's.
	DeleteDevice(ctx context.Context, userID, token string) error
	// DeleteToken removes a token whoever holds it (the provider reported it invalid).
	// A token that is not stored is no error.
	DeleteToken(ctx context.Context, token string) error
	// Devices returns the devices of the users, in no particular order.
	Devices(ctx context.Context, userIDs []string) ([]Device, error)
	// MemberDevices returns the devices of the room's members, each with its owner's
	// membership, in no particular order: what a push needs, in one read, so that the
	// members without a device (in a large room, most) cost the push worker nothing.
	MemberDevices(ctx context.Context, roomID string) ([]MemberDevice, error)
}

// MemberDevice is a room member's push device with the membership.
type MemberDevice struct {
	Member Member
	Device Device
}

// NotificationLog keeps the push history. Each storage adapter implements it and passes
// chattest.TestNotificationLog.
type NotificationLog interface {
	// AddNotification stores n. A second entry for the same message and device token
	// gives ErrConflict: that is what de-duplicates pushes redelivered by the queue.
	AddNotification(ctx context.Context, n Notification) error
	// NotifiedTokens returns the device tokens that have an entry for the message.
	NotifiedTokens(ctx context.Context, messageID string) ([]string, error)
	// Notifications returns up to limit of userID's entries with an id below beforeID
	// (all when ""), newest (highest id) first, and whether more exist.
	Notifications(ctx context.Context, userID, beforeID string, limit int) ([]Notification, bool, error)
}

// PushStore is what the push side keeps: devices and their history. The storage adapters
// implement it; the notification worker and the device endpoints use parts of it.
type PushStore interface {
	DeviceStore
	NotificationLog
}
