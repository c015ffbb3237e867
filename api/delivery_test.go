package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/chatchat/chatchat/chat"
)

// signup makes a user on the real API and returns their id and access token.
func signup(t *testing.T, base, name string) (id, token string) {
	t.Helper()
	resp, b := call(t, "POST", base+"/api/v1/auth/signup", "", "", map[string]string{
		"username": name, "password": "correct horse battery", "displayName": name,
	})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("signup %s: %d %s", name, resp.StatusCode, b)
	}
	var who struct {
		User        chat.User
		AccessToken string
	}
	if err := json.Unmarshal(b, &who); err != nil {
		t.Fatal(err)
	}
	return who.User.ID, who.AccessToken
}

// TestMarkDelivered: POST /rooms/{roomId}/delivered moves the caller's delivery cursor
// (clamped to the room's last seq, never back), the room and its messages show it, and
// bad input and strangers get the protocol's errors.
func TestMarkDelivered(t *testing.T) {
	base := apiServer(t, nil)
	annID, ann := signup(t, base, "ann")
	bobID, bob := signup(t, base, "bob")
	_, eve := signup(t, base, "eve")
	resp, b := call(t, "POST", base+"/api/v1/rooms", ann, "", map[string]any{"type": "group", "name": "g", "memberIds": []string{bobID}})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create room: %d %s", resp.StatusCode, b)
	}
	var room chat.Room
	if err := json.Unmarshal(b, &room); err != nil {
		t.Fatal(err)
	}
	var sent chat.Message
	for _, text := range []string{"one", "two"} {
		resp, b = call(t, "POST", base+"/api/v1/rooms/"+room.ID+"/messages", ann, "", map[string]any{"text": text})
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("send: %d %s", resp.StatusCode, b)
		}
		if err := json.Unmarshal(b, &sent); err != nil {
			t.Fatal(err)
		}
		if sent.UndeliveredCount != 1 || !strings.Contains(string(b), `"undeliveredCount":1`) {
			t.Fatalf("sent message %s: want undeliveredCount 1", b)
		}
	}
	url := base + "/api/v1/rooms/" + room.ID + "/delivered"
	for _, c := range []struct {
		name, token, url string
		body             any
		status           int
		want             string // the body, or the error code
	}{
		{"forward", bob, url, map[string]any{"seq": 1}, 200, `{"roomId":"` + room.ID + `","userId":"` + bobID + `","lastDeliveredSeq":1}`},
		{"back: stays", bob, url, map[string]any{"seq": 0}, 200, `{"roomId":"` + room.ID + `","userId":"` + bobID + `","lastDeliveredSeq":1}`},
		{"past the last seq: clamped", bob, url, map[string]any{"seq": 1000}, 200, `{"roomId":"` + room.ID + `","userId":"` + bobID + `","lastDeliveredSeq":2}`},
		{"no seq", bob, url, map[string]any{}, 400, "bad_request"},
		{"negative seq", bob, url, map[string]any{"seq": -1}, 400, "bad_request"},
		{"seq not a number", bob, url, map[string]any{"seq": "x"}, 400, "bad_request"},
		{"stranger", eve, url, map[string]any{"seq": 1}, 404, "room_not_found"},
		{"unknown room", bob, base + "/api/v1/rooms/" + chat.NewID() + "/delivered", map[string]any{"seq": 1}, 404, "room_not_found"},
		{"no token", "", url, map[string]any{"seq": 1}, 401, ""},
	} {
		resp, b := call(t, "POST", c.url, c.token, "", c.body)
		if resp.StatusCode != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, resp.StatusCode, b, c.status)
			continue
		}
		if c.status == 200 {
			if strings.TrimSpace(string(b)) != c.want {
				t.Errorf("%s: %s, want %s", c.name, b, c.want)
			}
			continue
		}
		var e struct{ Error struct{ Code string } }
		if err := json.Unmarshal(b, &e); err != nil || (c.want != "" && e.Error.Code != c.want) {
			t.Errorf("%s: %s, want error code %q", c.name, b, c.want)
		}
	}
	resp, b = call(t, "GET", base+"/api/v1/rooms/"+room.ID, ann, "", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"userId":"`+bobID+`","lastReadSeq":0,"lastDeliveredSeq":2`) ||
		!strings.Contains(string(b), `"userId":"`+annID+`","lastReadSeq":2,"lastDeliveredSeq":2`) {
		t.Fatalf("room: %d %s; want each member's lastDeliveredSeq", resp.StatusCode, b)
	}
	resp, b = call(t, "GET", base+"/api/v1/rooms/"+room.ID+"/messages", ann, "", nil)
	if resp.StatusCode != 200 || strings.Count(string(b), `"undeliveredCount":0`) != 2 || strings.Count(string(b), `"unreadCount":1`) != 2 {
		t.Fatalf("history: %d %s; want both messages delivered to bob and unread by him", resp.StatusCode, b)
	}
}
