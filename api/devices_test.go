package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatchat/chatchat/api"
	"github.com/chatchat/chatchat/chat"
)

// fakeDevices keeps tokens as a store does: one user per token, a token of another user
// moves. Its notification history is a page the test sets.
type fakeDevices struct {
	owner   map[string]chat.Device // token → device
	page    []chat.Notification
	more    bool
	queries []string // "user beforeId limit"
}

func (f *fakeDevices) RegisterDevice(_ context.Context, d chat.Device) (bool, error) {
	if f.owner == nil {
		f.owner = map[string]chat.Device{}
	}
	old, ok := f.owner[d.Token]
	f.owner[d.Token] = d
	return !ok || old.UserID != d.UserID, nil
}

func (f *fakeDevices) DeleteDevice(_ context.Context, userID, token string) error {
	if d, ok := f.owner[token]; !ok || d.UserID != userID {
		return fmt.Errorf("fake: delete device: %w", chat.ErrNotFound)
	}
	delete(f.owner, token)
	return nil
}

func (f *fakeDevices) Devices(_ context.Context, userIDs []string) ([]chat.Device, error) {
	var out []chat.Device
	for _, d := range f.owner {
		for _, id := range userIDs {
			if d.UserID == id {
				out = append(out, d)
			}
		}
	}
	return out, nil
}

func (f *fakeDevices) Notifications(_ context.Context, userID, beforeID string, limit int) ([]chat.Notification, bool, error) {
	f.queries = append(f.queries, fmt.Sprintf("%s %s %d", userID, beforeID, limit))
	return f.page, f.more, nil
}

var deviceClock = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func deviceHandler(tb testing.TB, f *fakeDevices) http.Handler {
	tb.Helper()
	return handler(tb, api.Config{Devices: f, Notifications: f, Now: func() time.Time { return deviceClock }}, nil, "bob", "cat")
}

func TestRegisterDevice(t *testing.T) {
	f := &fakeDevices{}
	h := deviceHandler(t, f)
	const tok = "fcm:abc/def_ghi-jkl"
	register := func(user string) *http.Response {
		return serve(t, h, "POST", "/api/v1/devices", user, strings.NewReader(`{"platform":"web","token":"`+tok+`"}`))
	}
	var d struct {
		Token, Platform string
		CreatedAt       time.Time
	}
	decode(t, register("bob"), http.StatusCreated, &d)
	if d.Token != tok || d.Platform != "web" || !d.CreatedAt.Equal(deviceClock) {
		t.Errorf("answer %+v", d)
	}
	if got := f.owner[tok]; got.UserID != "bob" || !got.CreatedAt.Equal(deviceClock) {
		t.Errorf("stored %+v", got)
	}
	decode(t, register("bob"), http.StatusOK, &d) // already bob's
	decode(t, register("cat"), http.StatusCreated, &d)
	if f.owner[tok].UserID != "cat" {
		t.Errorf("the token did not move to cat: %+v", f.owner[tok])
	}
	wantError(t, register(""), http.StatusUnauthorized, "unauthorized")
}

func TestRegisterDeviceRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		status     int
		code       string
	}{
		{"space in token", `{"platform":"android","token":"a b"}`, 400, "bad_request"},
		{"control character in token", `{"platform":"android","token":"a\u0001b"}`, 400, "bad_request"},
		{"non-ASCII token", `{"platform":"android","token":"añb"}`, 400, "bad_request"},
		{"unknown platform", `{"platform":"blackberry","token":"t"}`, 400, "bad_request"},
		{"no token", `{"platform":"web"}`, 400, "bad_request"},
		{"unknown field", `{"platform":"web","token":"t","extra":1}`, 400, "bad_request"},
		{"long token", `{"platform":"web","token":"` + strings.Repeat("x", 2000) + `"}`, 400, "bad_request"},
		{"not JSON", `not json`, 400, "bad_json"},
		{"wrong field type", `{"platform":"web","token":5}`, 400, "bad_request"},
		{"empty body", ``, 400, "bad_json"},
		{"trailing data", `{"platform":"web","token":"t"} {}`, 400, "bad_json"},
		{"body too large", `{"platform":"web","token":"` + strings.Repeat("x", 9000) + `"}`, 413, "body_too_large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeDevices{}
			h := deviceHandler(t, f)
			wantError(t, serve(t, h, "POST", "/api/v1/devices", "bob", strings.NewReader(tc.body)), tc.status, tc.code)
			if len(f.owner) != 0 {
				t.Errorf("stored %v", f.owner)
			}
		})
	}
}

func TestDeleteDevice(t *testing.T) {
	f := &fakeDevices{owner: map[string]chat.Device{"fcm:abc/def": {Token: "fcm:abc/def", UserID: "cat"}}}
	h := deviceHandler(t, f)
	target := "/api/v1/devices/" + url.PathEscape("fcm:abc/def")
	wantError(t, serve(t, h, "DELETE", target, "bob", nil), http.StatusNotFound, "device_not_found")
	if resp := serve(t, h, "DELETE", target, "cat", nil); resp.StatusCode != http.StatusNoContent {
		t.Errorf("cat deletes her token: %d, want 204", resp.StatusCode)
	}
	if len(f.owner) != 0 {
		t.Errorf("left %v", f.owner)
	}
	wantError(t, serve(t, h, "DELETE", target, "cat", nil), http.StatusNotFound, "device_not_found")
	wantError(t, serve(t, h, "DELETE", target, "", nil), http.StatusUnauthorized, "unauthorized")
}

func TestNotificationHistory(t *testing.T) {
	f := &fakeDevices{
		page: []chat.Notification{{ID: "n2", UserID: "bob", Token: "t", MessageID: "m", RoomID: "r", Seq: 2,
			Platform: "web", Status: chat.NotificationSent, Title: "ann", Body: "hi", CreatedAt: chat.At(deviceClock)}},
		more: true,
	}
	h := deviceHandler(t, f)
	var page struct {
		Notifications []map[string]any
		HasMore       bool
	}
	decode(t, serve(t, h, "GET", "/api/v1/notifications?beforeId=n3&limit=1", "bob", nil), http.StatusOK, &page)
	if len(page.Notifications) != 1 || page.Notifications[0]["id"] != "n2" || !page.HasMore {
		t.Errorf("page %+v", page)
	}
	if _, ok := page.Notifications[0]["token"]; ok {
		t.Errorf("an entry shows its device token: %v", page.Notifications[0])
	}
	if resp := serve(t, h, "GET", "/api/v1/notifications", "bob", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("no parameters: %d", resp.StatusCode)
	}
	if want := []string{"bob n3 1", "bob  50"}; fmt.Sprint(f.queries) != fmt.Sprint(want) {
		t.Errorf("queries %q, want %q", f.queries, want)
	}
	for _, limit := range []string{"0", "101", "500", "x", "-1"} {
		wantError(t, serve(t, h, "GET", "/api/v1/notifications?limit="+limit, "bob", nil), http.StatusBadRequest, "bad_request")
	}
	wantError(t, serve(t, h, "GET", "/api/v1/notifications", "", nil), http.StatusUnauthorized, "unauthorized")
}

// TestPushOff checks that without a device store its routes answer as any unknown
// endpoint: 404 in the API's error shape.
func TestPushOff(t *testing.T) {
	h := handler(t, api.Config{}, nil, "bob")
	wantError(t, serve(t, h, "POST", "/api/v1/devices", "bob", strings.NewReader(`{"platform":"web","token":"t"}`)), http.StatusNotFound, "not_found")
	wantError(t, serve(t, h, "DELETE", "/api/v1/devices/t", "bob", nil), http.StatusNotFound, "not_found")
	wantError(t, serve(t, h, "GET", "/api/v1/notifications", "bob", nil), http.StatusNotFound, "not_found")
}

// TestDevicesPerUserAreBounded: registering more than MaxDevices tokens keeps the newest
// and drops the oldest; another user's tokens are not touched.
func TestDevicesPerUserAreBounded(t *testing.T) {
	f := &fakeDevices{}
	now := deviceClock
	h := handler(t, api.Config{Devices: f, Notifications: f, MaxDevices: 3,
		Now: func() time.Time { now = now.Add(time.Second); return now }}, nil, "bob", "cat")
	register := func(user, tok string) {
		resp := serve(t, h, "POST", "/api/v1/devices", user, strings.NewReader(`{"platform":"web","token":"`+tok+`"}`))
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("register %s: %d", tok, resp.StatusCode)
		}
	}
	register("cat", "cat-1")
	for i := 1; i <= 5; i++ {
		register("bob", fmt.Sprint("bob-", i))
	}
	var bobs []string
	for tok, d := range f.owner {
		if d.UserID == "bob" {
			bobs = append(bobs, tok)
		}
	}
	slices.Sort(bobs)
	if want := []string{"bob-3", "bob-4", "bob-5"}; !slices.Equal(bobs, want) {
		t.Fatalf("bob's tokens %v, want the newest %v", bobs, want)
	}
	if _, ok := f.owner["cat-1"]; !ok {
		t.Fatal("cat's token went with bob's")
	}
}
