package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/chatchat/chatchat/chat"
)

// NewRoom is the body of CreateRoom. Type is chat.RoomDirect (MemberIDs names the other
// user) or chat.RoomGroup.
type NewRoom struct {
	Type      string   `json:"type"`
	Name      string   `json:"name,omitempty"`
	MemberIDs []string `json:"memberIds"`
}

// CreateRoom creates a room (POST /rooms). created is false when the server returned the
// direct room that already existed between the same two users (200 instead of 201).
func (c *Client) CreateRoom(ctx context.Context, nr NewRoom) (room chat.Room, created bool, err error) {
	if nr.MemberIDs == nil {
		nr.MemberIDs = []string{}
	}
	status, err := c.callJSON(ctx, http.MethodPost, APIPrefix+"/rooms", nr, &room)
	return room, status == http.StatusCreated, err
}

// Rooms returns all the caller's rooms, most recently active first, each with its unread
// count and last message: it walks every page of GET /rooms.
func (c *Client) Rooms(ctx context.Context) ([]chat.Room, error) {
	var all []chat.Room
	cursor := ""
	for {
		page, err := c.RoomsPage(ctx, 0, cursor)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Rooms...)
		if page.NextCursor == nil || *page.NextCursor == "" {
			return all, nil
		}
		cursor = *page.NextCursor
	}
}

// RoomsPage returns one page of the caller's rooms (GET /rooms?limit=&cursor=): limit 0
// takes the server's page size, cursor "" the first page, else a previous page's
// NextCursor.
func (c *Client) RoomsPage(ctx context.Context, limit int, cursor string) (chat.RoomList, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	path := APIPrefix + "/rooms"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out chat.RoomList
	_, err := c.callJSON(ctx, http.MethodGet, path, nil, &out)
	return out, err
}

// Room returns a room with its members' read cursors (GET /rooms/{roomId}).
func (c *Client) Room(ctx context.Context, roomID string) (chat.Room, error) {
	var r chat.Room
	_, err := c.callJSON(ctx, http.MethodGet, roomPath(roomID, ""), nil, &r)
	return r, err
}

// AddMembers adds users to a group room (POST /rooms/{roomId}/members).
func (c *Client) AddMembers(ctx context.Context, roomID string, userIDs ...string) (chat.Room, error) {
	if userIDs == nil {
		userIDs = []string{}
	}
	var r chat.Room
	_, err := c.callJSON(ctx, http.MethodPost, roomPath(roomID, "/members"),
		map[string][]string{"userIds": userIDs}, &r)
	return r, err
}

// LeaveRoom removes the caller from a room (DELETE /rooms/{roomId}/members/me).
func (c *Client) LeaveRoom(ctx context.Context, roomID string) error {
	_, err := c.callJSON(ctx, http.MethodDelete, roomPath(roomID, "/members/me"), nil, nil)
	return err
}

// SetMuted turns push notifications of a room off or on for the caller
// (PATCH /rooms/{roomId}/settings).
func (c *Client) SetMuted(ctx context.Context, roomID string, muted bool) (chat.Room, error) {
	var r chat.Room
	_, err := c.callJSON(ctx, http.MethodPatch, roomPath(roomID, "/settings"),
		map[string]bool{"muted": muted}, &r)
	return r, err
}

// NewMessage is the body of SendMessage. Type is chat.MessageText, chat.MessageImage or
// chat.MessageFile; MediaID names an upload of the same room.
type NewMessage struct {
	// ClientMsgID makes the send idempotent: the server stores one message per sender and
	// ClientMsgID. SendMessage fills an empty one with a new id, so that its own retry
	// after a token refresh cannot store the message twice; a caller that retries
	// SendMessage itself sets it and keeps it across attempts.
	ClientMsgID string `json:"clientMsgId"`
	Type        string `json:"type"`
	Text        string `json:"text,omitempty"`
	MediaID     string `json:"mediaId,omitempty"`
	// ReplyToID names a message of the same room this one replies to.
	ReplyToID string `json:"replyToId,omitempty"`
	// Mentions are members of the room the message mentions.
	Mentions []string `json:"mentions,omitempty"`
}

// SendMessage posts a message to a room (POST /rooms/{roomId}/messages). created is false
// when the server already had a message with the same ClientMsgID from the caller and
// returned it (200 instead of 201).
func (c *Client) SendMessage(ctx context.Context, roomID string, nm NewMessage) (msg chat.Message, created bool, err error) {
	if nm.ClientMsgID == "" {
		nm.ClientMsgID = chat.NewID()
	}
	if nm.Type == "" {
		nm.Type = chat.MessageText
	}
	status, err := c.callJSON(ctx, http.MethodPost, roomPath(roomID, "/messages"), nm, &msg)
	return msg, status == http.StatusCreated, err
}

// History returns a page of a room's messages, ascending by seq
// (GET /rooms/{roomId}/messages); see chat.HistoryQuery for what the page holds and what
// hasMore means. Zero fields are left out of the query, except AfterSeq with Forward.
func (c *Client) History(ctx context.Context, roomID string, q chat.HistoryQuery) (msgs []chat.Message, hasMore bool, err error) {
	v := url.Values{}
	if q.AfterSeq > 0 || q.Forward {
		v.Set("afterSeq", strconv.FormatInt(q.AfterSeq, 10))
	}
	if q.BeforeSeq > 0 {
		v.Set("beforeSeq", strconv.FormatInt(q.BeforeSeq, 10))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out struct {
		Messages []chat.Message `json:"messages"`
		HasMore  bool           `json:"hasMore"`
	}
	_, err = c.call(ctx, request{method: http.MethodGet, path: roomPath(roomID, "/messages"), query: v}, &out)
	return out.Messages, out.HasMore, err
}

// MarkRead moves the caller's read cursor of a room to seq (POST /rooms/{roomId}/read) and
// returns the cursor after the call; a cursor never moves back.
func (c *Client) MarkRead(ctx context.Context, roomID string, seq int64) (chat.ReadReceipt, error) {
	var rr chat.ReadReceipt
	_, err := c.callJSON(ctx, http.MethodPost, roomPath(roomID, "/read"), map[string]int64{"seq": seq}, &rr)
	return rr, err
}

// Delivered records that the caller's device received a room's messages up to seq (POST
// /rooms/{roomId}/delivered), e.g. from a push handler, and returns the delivery cursor
// after the call; it never moves back. Over a WebSocket, Session sends DELIVERED instead.
func (c *Client) Delivered(ctx context.Context, roomID string, seq int64) (chat.DeliveryReceipt, error) {
	var dr chat.DeliveryReceipt
	_, err := c.callJSON(ctx, http.MethodPost, roomPath(roomID, "/delivered"), map[string]int64{"seq": seq}, &dr)
	return dr, err
}

func roomPath(roomID, rest string) string {
	return APIPrefix + "/rooms/" + url.PathEscape(roomID) + rest
}
