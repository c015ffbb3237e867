package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/chatchat/chatchat/chat"
)

// Device platforms of RegisterDevice, and notification statuses: the domain's.
const (
	PlatformAndroid = chat.PlatformAndroid
	PlatformIOS     = chat.PlatformIOS
	PlatformWeb     = chat.PlatformWeb

	NotificationSent   = chat.NotificationSent
	NotificationFailed = chat.NotificationFailed
	NotificationLogged = chat.NotificationLogged
)

// Notification is one push attempt to one of the caller's devices (docs/openapi.yaml's
// Notification).
type Notification = chat.Notification

// RegisterDevice registers a push token of the caller (POST /devices). created is false
// when the token was already the caller's (200 instead of 201).
func (c *Client) RegisterDevice(ctx context.Context, platform, token string) (created bool, err error) {
	status, err := c.callJSON(ctx, http.MethodPost, APIPrefix+"/devices",
		map[string]string{"platform": platform, "token": token}, nil)
	return status == http.StatusCreated, err
}

// DeleteDevice removes a push token of the caller (DELETE /devices/{token}).
func (c *Client) DeleteDevice(ctx context.Context, token string) error {
	_, err := c.callJSON(ctx, http.MethodDelete, APIPrefix+"/devices/"+url.PathEscape(token), nil, nil)
	return err
}

// Notifications returns a page of the caller's push history, newest first
// (GET /notifications?beforeId=&limit=). An empty beforeID starts at the newest; a limit
// of 0 leaves the server's default.
func (c *Client) Notifications(ctx context.Context, beforeID string, limit int) (ns []Notification, hasMore bool, err error) {
	q := url.Values{}
	if beforeID != "" {
		q.Set("beforeId", beforeID)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out struct {
		Notifications []Notification `json:"notifications"`
		HasMore       bool           `json:"hasMore"`
	}
	_, err = c.call(ctx, request{method: http.MethodGet, path: APIPrefix + "/notifications", query: q}, &out)
	return out.Notifications, out.HasMore, err
}
