package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/chatchat/chatchat/chat"
)

// RoomPatch is the body of UpdateRoom: the fields to change, nil where unchanged.
type RoomPatch struct {
	Name        *string `json:"name,omitempty"`
	Description *string `json:"description,omitempty"`
}

// UpdateRoom renames a group or changes its description (PATCH /rooms/{id}); its owner
// or an admin. It returns the room as the caller sees it.
func (c *Client) UpdateRoom(ctx context.Context, roomID string, p RoomPatch) (chat.Room, error) {
	var r chat.Room
	_, err := c.callJSON(ctx, http.MethodPatch, roomPath(roomID, ""), p, &r)
	return r, err
}

// SetMemberRole makes a member of a group chat.RoleAdmin or chat.RoleMember
// (PATCH /rooms/{id}/members/{userId}); the owner only.
func (c *Client) SetMemberRole(ctx context.Context, roomID, userID, role string) (chat.Room, error) {
	var r chat.Room
	_, err := c.callJSON(ctx, http.MethodPatch, roomPath(roomID, "/members/"+url.PathEscape(userID)),
		map[string]string{"role": role}, &r)
	return r, err
}

// RemoveMember removes another member from a group (DELETE /rooms/{id}/members/{userId});
// its owner or an admin. To leave, use LeaveRoom.
func (c *Client) RemoveMember(ctx context.Context, roomID, userID string) error {
	_, err := c.callJSON(ctx, http.MethodDelete, roomPath(roomID, "/members/"+url.PathEscape(userID)), nil, nil)
	return err
}

// Ban removes a user from a group and keeps them from being added again
// (POST /rooms/{id}/bans). It returns the room with BannedIDs.
func (c *Client) Ban(ctx context.Context, roomID, userID string) (chat.Room, error) {
	var r chat.Room
	_, err := c.callJSON(ctx, http.MethodPost, roomPath(roomID, "/bans"), map[string]string{"userId": userID}, &r)
	return r, err
}

// Unban lifts a ban (DELETE /rooms/{id}/bans/{userId}).
func (c *Client) Unban(ctx context.Context, roomID, userID string) error {
	_, err := c.callJSON(ctx, http.MethodDelete, roomPath(roomID, "/bans/"+url.PathEscape(userID)), nil, nil)
	return err
}
