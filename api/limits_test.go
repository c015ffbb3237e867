package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chatchat/chatchat/api"
	"github.com/chatchat/chatchat/chat"
)

// roomMaker creates every room it is asked for.
type roomMaker struct{ api.Chat }

func (roomMaker) CreateRoom(_ context.Context, callerID string, in chat.NewRoom) (chat.Room, bool, error) {
	return chat.Room{ID: chat.NewID(), Type: in.Type, MemberIDs: append([]string{callerID}, in.MemberIDs...)}, true, nil
}

func (roomMaker) AddMembers(_ context.Context, _, roomID string, ids []string) (chat.Room, error) {
	return chat.Room{ID: roomID, Type: chat.RoomGroup, MemberIDs: ids}, nil
}

// allowN lets n calls through per key, then refuses.
type allowN struct {
	n    int
	seen map[string]int
}

func (a *allowN) Allow(key string) (bool, time.Duration) {
	if a.seen == nil {
		a.seen = map[string]int{}
	}
	a.seen[key]++
	return a.seen[key] <= a.n, time.Minute
}

// TestRoomsPerUserLimit: creating rooms and adding members draw on one per-user limit;
// over it the answer is 429 rate_limited with Retry-After, and another user is not held.
func TestRoomsPerUserLimit(t *testing.T) {
	h := handler(t, api.Config{RoomsPerUser: &allowN{n: 2}}, roomMaker{}, "u1", "u2")
	create := func(user string) *http.Response {
		return serve(t, h, "POST", "/api/v1/rooms", user, strings.NewReader(`{"type":"group","name":"g","memberIds":["victim"]}`))
	}
	if resp := create("u1"); resp.StatusCode != http.StatusCreated {
		t.Fatalf("first create: %d", resp.StatusCode)
	}
	if resp := serve(t, h, "POST", "/api/v1/rooms/r1/members", "u1", strings.NewReader(`{"userIds":["victim"]}`)); resp.StatusCode != http.StatusOK {
		t.Fatalf("add members: %d", resp.StatusCode)
	}
	resp := create("u1")
	if resp.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	wantError(t, resp, http.StatusTooManyRequests, "rate_limited")
	wantError(t, serve(t, h, "POST", "/api/v1/rooms/r1/members", "u1", strings.NewReader(`{"userIds":["victim"]}`)), http.StatusTooManyRequests, "rate_limited")
	if resp := create("u2"); resp.StatusCode != http.StatusCreated {
		t.Fatalf("another user: %d", resp.StatusCode)
	}
}
