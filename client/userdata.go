package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// Export writes everything the server stores about the caller, as one JSON document, to w
// (GET /users/me/export).
func (c *Client) Export(ctx context.Context, w io.Writer) error {
	resp, err := c.do(ctx, request{method: http.MethodGet, path: APIPrefix + "/users/me/export"})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("client: GET /users/me/export: %w", err)
	}
	return nil
}

// EraseMe erases the caller's account, confirmed with their password (DELETE /users/me):
// every message of theirs is deleted, their profile anonymised, their sessions ended.
func (c *Client) EraseMe(ctx context.Context, password string) error {
	_, err := c.callJSON(ctx, http.MethodDelete, APIPrefix+"/users/me", map[string]string{"password": password}, nil)
	return err
}

// EraseUser erases a user as a server administrator (DELETE /admin/users/{userId}).
func (c *Client) EraseUser(ctx context.Context, userID string) error {
	_, err := c.callJSON(ctx, http.MethodDelete, APIPrefix+"/admin/users/"+url.PathEscape(userID), nil, nil)
	return err
}
