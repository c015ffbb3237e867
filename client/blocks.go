package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/chatchat/chatchat/chat"
)

// Block blocks a user (POST /users/me/blocks): they can no longer open or use a direct
// room with the caller, nor put the caller into a group.
func (c *Client) Block(ctx context.Context, userID string) error {
	_, err := c.callJSON(ctx, http.MethodPost, APIPrefix+"/users/me/blocks", map[string]string{"userId": userID}, nil)
	return err
}

// Unblock lifts a block (DELETE /users/me/blocks/{userId}).
func (c *Client) Unblock(ctx context.Context, userID string) error {
	_, err := c.callJSON(ctx, http.MethodDelete, APIPrefix+"/users/me/blocks/"+url.PathEscape(userID), nil, nil)
	return err
}

// Blocks returns the users the caller blocks, most recently blocked first
// (GET /users/me/blocks).
func (c *Client) Blocks(ctx context.Context) ([]chat.User, error) {
	var out struct {
		Users []chat.User `json:"users"`
	}
	_, err := c.callJSON(ctx, http.MethodGet, APIPrefix+"/users/me/blocks", nil, &out)
	return out.Users, err
}
