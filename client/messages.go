package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/chatchat/chatchat/chat"
)

// Changes to sent messages (PROTOCOL.md 1.1 "Messages"): each answers with the message as
// it now is, its Rev the room's change counter at this change; a repeated reaction, pin or
// unpin changes nothing and answers the message as it is.

func messagePath(roomID, messageID string) string {
	return roomPath(roomID, "/messages/"+url.PathEscape(messageID))
}

// MessageEdit is the body of EditMessage. Mentions nil keeps the message's mentions; a
// list (empty included) replaces them.
type MessageEdit struct {
	Text     string    `json:"text"`
	Mentions *[]string `json:"mentions,omitempty"`
}

// EditMessage replaces the text of one of the caller's text messages
// (PATCH /rooms/{roomId}/messages/{messageId}).
func (c *Client) EditMessage(ctx context.Context, roomID, messageID string, e MessageEdit) (chat.Message, error) {
	var m chat.Message
	_, err := c.callJSON(ctx, http.MethodPatch, messagePath(roomID, messageID), e, &m)
	return m, err
}

// DeleteMessage deletes a message, leaving a tombstone
// (DELETE /rooms/{roomId}/messages/{messageId}); deleting twice is no error.
func (c *Client) DeleteMessage(ctx context.Context, roomID, messageID string) error {
	_, err := c.callJSON(ctx, http.MethodDelete, messagePath(roomID, messageID), nil, nil)
	return err
}

// React adds the caller's reaction with emoji
// (PUT /rooms/{roomId}/messages/{messageId}/reactions/{emoji}).
func (c *Client) React(ctx context.Context, roomID, messageID, emoji string) (chat.Message, error) {
	var m chat.Message
	_, err := c.callJSON(ctx, http.MethodPut, messagePath(roomID, messageID)+"/reactions/"+url.PathEscape(emoji), nil, &m)
	return m, err
}

// Unreact removes the caller's reaction with emoji
// (DELETE /rooms/{roomId}/messages/{messageId}/reactions/{emoji}).
func (c *Client) Unreact(ctx context.Context, roomID, messageID, emoji string) (chat.Message, error) {
	var m chat.Message
	_, err := c.callJSON(ctx, http.MethodDelete, messagePath(roomID, messageID)+"/reactions/"+url.PathEscape(emoji), nil, &m)
	return m, err
}

// Pin pins a message (PUT /rooms/{roomId}/pins/{messageId}).
func (c *Client) Pin(ctx context.Context, roomID, messageID string) (chat.Message, error) {
	var m chat.Message
	_, err := c.callJSON(ctx, http.MethodPut, roomPath(roomID, "/pins/"+url.PathEscape(messageID)), nil, &m)
	return m, err
}

// Unpin unpins a message (DELETE /rooms/{roomId}/pins/{messageId}).
func (c *Client) Unpin(ctx context.Context, roomID, messageID string) (chat.Message, error) {
	var m chat.Message
	_, err := c.callJSON(ctx, http.MethodDelete, roomPath(roomID, "/pins/"+url.PathEscape(messageID)), nil, &m)
	return m, err
}

// Pins returns a room's pinned messages, most recently pinned first
// (GET /rooms/{roomId}/pins).
func (c *Client) Pins(ctx context.Context, roomID string) ([]chat.Message, error) {
	var out struct {
		Messages []chat.Message `json:"messages"`
	}
	_, err := c.callJSON(ctx, http.MethodGet, roomPath(roomID, "/pins"), nil, &out)
	return out.Messages, err
}

// Changes returns the current state of a room's messages whose rev is above afterRev,
// ascending by rev, at most limit (0: the server's default of 100; at most 500)
// (GET /rooms/{roomId}/changes).
func (c *Client) Changes(ctx context.Context, roomID string, afterRev int64, limit int) (chat.ChangesPage, error) {
	v := url.Values{"afterRev": {strconv.FormatInt(afterRev, 10)}}
	if limit > 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
	var page chat.ChangesPage
	_, err := c.call(ctx, request{method: http.MethodGet, path: roomPath(roomID, "/changes"), query: v}, &page)
	return page, err
}

// SearchQuery is a search of messages (GET /search/messages): Q's words each start a word
// of a message; RoomID, when set, searches that room alone; BeforeID pages on from the
// last message of a previous page; Limit 0 is the server's default of 20 (at most 50).
type SearchQuery struct {
	Q        string
	RoomID   string
	BeforeID string
	Limit    int
}

// SearchMessages returns the messages of the caller's rooms that match q, newest first,
// and whether more are older than the last.
func (c *Client) SearchMessages(ctx context.Context, q SearchQuery) ([]chat.Message, bool, error) {
	v := url.Values{"q": {q.Q}}
	if q.RoomID != "" {
		v.Set("roomId", q.RoomID)
	}
	if q.BeforeID != "" {
		v.Set("beforeId", q.BeforeID)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var page struct {
		Messages []chat.Message `json:"messages"`
		HasMore  bool           `json:"hasMore"`
	}
	_, err := c.call(ctx, request{method: http.MethodGet, path: APIPrefix + "/search/messages", query: v}, &page)
	return page.Messages, page.HasMore, err
}
