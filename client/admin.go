package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/chatchat/chatchat/chat"
)

// The administration API; each call needs a server administrator (403 not_admin).

// AdminUsers returns a page of users whose username or display name starts with q (""
// all), with their suspension (GET /admin/users). limit 0 takes the server's page size;
// cursor is a previous page's NextCursor, or "".
func (c *Client) AdminUsers(ctx context.Context, q string, limit int, cursor string) (chat.AdminUserList, error) {
	var out chat.AdminUserList
	_, err := c.callJSON(ctx, http.MethodGet, APIPrefix+"/admin/users?"+pageQuery(q, limit, cursor), nil, &out)
	return out, err
}

// Suspend suspends a user (POST /admin/users/{userId}/suspend): their tokens are refused,
// their sockets closed with 4003, their login refused.
func (c *Client) Suspend(ctx context.Context, userID string) (chat.AdminUser, error) {
	var out chat.AdminUser
	_, err := c.callJSON(ctx, http.MethodPost, APIPrefix+"/admin/users/"+url.PathEscape(userID)+"/suspend", nil, &out)
	return out, err
}

// Unsuspend lifts a suspension (POST /admin/users/{userId}/unsuspend).
func (c *Client) Unsuspend(ctx context.Context, userID string) (chat.AdminUser, error) {
	var out chat.AdminUser
	_, err := c.callJSON(ctx, http.MethodPost, APIPrefix+"/admin/users/"+url.PathEscape(userID)+"/unsuspend", nil, &out)
	return out, err
}

// AuditLog returns a page of the administrators' audit log, newest first (GET /admin/audit).
func (c *Client) AuditLog(ctx context.Context, limit int, cursor string) (chat.AuditList, error) {
	var out chat.AuditList
	_, err := c.callJSON(ctx, http.MethodGet, APIPrefix+"/admin/audit?"+pageQuery("", limit, cursor), nil, &out)
	return out, err
}

func pageQuery(q string, limit int, cursor string) string {
	v := url.Values{}
	if q != "" {
		v.Set("q", q)
	}
	if limit > 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
	if cursor != "" {
		v.Set("cursor", cursor)
	}
	return v.Encode()
}

// ReportMessage reports a message to the server's administrators
// (POST /rooms/{roomId}/messages/{messageId}/reports) and returns the report's id.
func (c *Client) ReportMessage(ctx context.Context, roomID, messageID, reason string) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	_, err := c.callJSON(ctx, http.MethodPost, roomPath(roomID, "/messages/"+url.PathEscape(messageID)+"/reports"),
		map[string]string{"reason": reason}, &out)
	return out.ID, err
}

// Reports returns a page of reports, newest first (GET /admin/reports); status "open",
// "resolved" or "" for all.
func (c *Client) Reports(ctx context.Context, status string, limit int, cursor string) (chat.ReportList, error) {
	q := pageQuery("", limit, cursor)
	if status != "" {
		q = "status=" + url.QueryEscape(status) + "&" + q
	}
	var out chat.ReportList
	_, err := c.callJSON(ctx, http.MethodGet, APIPrefix+"/admin/reports?"+q, nil, &out)
	return out, err
}

// ResolveReport resolves a report with an action: "dismiss", "delete_message" or
// "suspend_sender" (POST /admin/reports/{reportId}/resolve).
func (c *Client) ResolveReport(ctx context.Context, reportID, action string) (chat.Report, error) {
	var out chat.Report
	_, err := c.callJSON(ctx, http.MethodPost, APIPrefix+"/admin/reports/"+url.PathEscape(reportID)+"/resolve",
		map[string]string{"action": action}, &out)
	return out, err
}

// SetRoomRetention sets how many days a room keeps messages; 0 gives it the server's default
// again (PATCH /admin/rooms/{roomId}).
func (c *Client) SetRoomRetention(ctx context.Context, roomID string, days int) (chat.Room, error) {
	var out chat.Room
	_, err := c.callJSON(ctx, http.MethodPatch, APIPrefix+"/admin/rooms/"+url.PathEscape(roomID),
		map[string]int{"retentionDays": days}, &out)
	return out, err
}
