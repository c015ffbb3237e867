package fcm_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatchat/chatchat/chat"
	"github.com/chatchat/chatchat/fcm"
	"github.com/chatchat/chatchat/fcm/fcmtest"
)

func newSender(tb testing.TB, srv *fcmtest.Server) *fcm.Sender {
	tb.Helper()
	s, err := fcm.New(tb.Context(), fcm.Config{Endpoint: srv.Endpoint, ProjectID: "chatchat-test"})
	if err != nil {
		tb.Fatalf("fcm.New: %v", err)
	}
	return s
}

func push(platform string) chat.Push {
	return chat.Push{
		Token: "tok-" + platform, Platform: platform, Title: "Team", Body: "Ann: hello",
		Data:  map[string]string{"roomId": "01jroom", "messageId": "01jmsg", "seq": "7"},
		Badge: 3, Thread: "01jroom",
	}
}

// TestRequestBodies asserts the exact JSON each platform's push sends.
func TestRequestBodies(t *testing.T) {
	srv := fcmtest.NewServer(t)
	s := newSender(t, srv)
	want := map[string]string{
		chat.PlatformAndroid: `{"message":{"data":{"messageId":"01jmsg","roomId":"01jroom","seq":"7"},
			"notification":{"title":"Team","body":"Ann: hello"},
			"android":{"collapse_key":"01jroom","priority":"high","notification":{"tag":"01jroom","notification_count":3}},
			"token":"tok-android"}}`,
		chat.PlatformIOS: `{"message":{"data":{"messageId":"01jmsg","roomId":"01jroom","seq":"7"},
			"notification":{"title":"Team","body":"Ann: hello"},
			"apns":{"headers":{"apns-collapse-id":"01jmsg"},"payload":{"aps":{"badge":3,"sound":"default","thread-id":"01jroom"}}},
			"token":"tok-ios"}}`,
		chat.PlatformWeb: `{"message":{"data":{"messageId":"01jmsg","roomId":"01jroom","seq":"7"},
			"notification":{"title":"Team","body":"Ann: hello"},
			"webpush":{"headers":{"Topic":"01jroom"},"notification":{"tag":"01jroom"}},
			"token":"tok-web"}}`,
	}
	for i, platform := range []string{chat.PlatformAndroid, chat.PlatformIOS, chat.PlatformWeb} {
		if err := s.Push(t.Context(), push(platform)); err != nil {
			t.Fatalf("Push(%s): %v", platform, err)
		}
		req := srv.Requests()[i]
		if req.Project != "chatchat-test" {
			t.Errorf("%s: project = %q", platform, req.Project)
		}
		if auth := req.Header.Get("Authorization"); auth != "" {
			t.Errorf("%s: Authorization %q sent to an endpoint configured without credentials", platform, auth)
		}
		sameJSON(t, platform, req.Body, want[platform])
	}
}

// TestDataOnlyRequestBodies asserts the exact JSON of a read push on each platform: no
// notification, the room as the collapse key, the badge in the data for the app to set.
func TestDataOnlyRequestBodies(t *testing.T) {
	srv := fcmtest.NewServer(t)
	s := newSender(t, srv)
	data := `{"type":"read","roomId":"01jroom","lastReadSeq":"7","badge":"3"}`
	want := map[string]string{
		chat.PlatformAndroid: `{"message":{"data":` + data + `,
			"android":{"collapse_key":"01jroom","priority":"normal"},"token":"tok-android"}}`,
		chat.PlatformIOS: `{"message":{"data":` + data + `,
			"apns":{"headers":{"apns-collapse-id":"01jroom","apns-priority":"5","apns-push-type":"background"},
				"payload":{"aps":{"content-available":1}}},"token":"tok-ios"}}`,
		chat.PlatformWeb: `{"message":{"data":` + data + `,
			"webpush":{"headers":{"Topic":"01jroom"}},"token":"tok-web"}}`,
	}
	for i, platform := range []string{chat.PlatformAndroid, chat.PlatformIOS, chat.PlatformWeb} {
		p := chat.Push{
			Token: "tok-" + platform, Platform: platform, DataOnly: true, Badge: 3, Thread: "01jroom",
			Data: map[string]string{"type": "read", "roomId": "01jroom", "lastReadSeq": "7", "badge": "3"},
		}
		if err := s.Push(t.Context(), p); err != nil {
			t.Fatalf("Push(%s): %v", platform, err)
		}
		sameJSON(t, platform, srv.Requests()[i].Body, want[platform])
	}
}

func sameJSON(tb testing.TB, what string, got []byte, want string) {
	tb.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		tb.Fatalf("%s: body %s: %v", what, got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		tb.Fatalf("%s: want: %v", what, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		tb.Errorf("%s: body\n got %s\nwant %s", what, gb, wb)
	}
}

// TestErrors checks how each of FCM's answers is classified.
func TestErrors(t *testing.T) {
	tests := []struct {
		name       string
		reply      fcmtest.Reply
		reason     string
		retry      bool
		retryAfter time.Duration
	}{
		{"Unregistered", fcmtest.Reply{Status: 404, Code: "UNREGISTERED"}, chat.PushUnregistered, false, 0},
		{"InvalidArgument", fcmtest.Reply{Status: 400, Code: "INVALID_ARGUMENT"}, chat.PushInvalidArgument, false, 0},
		{"SenderIDMismatch", fcmtest.Reply{Status: 403, Code: "SENDER_ID_MISMATCH"}, chat.PushSenderMismatch, false, 0},
		{"ThirdPartyAuth", fcmtest.Reply{Status: 401, Code: "THIRD_PARTY_AUTH_ERROR"}, chat.PushAuth, false, 0},
		{"QuotaExceeded", fcmtest.Reply{Status: 429, Code: "QUOTA_EXCEEDED", RetryAfter: "7"}, chat.PushQuotaExceeded, true, 7 * time.Second},
		{"QuotaExceededNoDetail", fcmtest.Reply{Status: 429}, chat.PushQuotaExceeded, true, 0},
		{"Internal", fcmtest.Reply{Status: 500, Code: "INTERNAL", RetryAfter: "2"}, chat.PushInternal, true, 2 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := fcmtest.NewServer(t)
			srv.SetReply(func(fcmtest.Request) fcmtest.Reply { return tc.reply })
			err := newSender(t, srv).Push(t.Context(), push(chat.PlatformAndroid))
			var pe *chat.PushError
			if !errors.As(err, &pe) {
				t.Fatalf("Push: %v, want a *chat.PushError", err)
			}
			if pe.Reason != tc.reason || pe.Retry != tc.retry || pe.RetryAfter != tc.retryAfter {
				t.Errorf("PushError = {%s retry %v after %v}, want {%s retry %v after %v}",
					pe.Reason, pe.Retry, pe.RetryAfter, tc.reason, tc.retry, tc.retryAfter)
			}
			if n := len(srv.Requests()); n != 1 {
				t.Errorf("%d requests, want 1: the SDK does not retry this", n)
			}
		})
	}
}

// TestUnavailableOnceIsRetriedBySDK: the SDK retries a 503 by itself before giving up.
func TestUnavailableOnceIsRetriedBySDK(t *testing.T) {
	srv := fcmtest.NewServer(t)
	var calls atomic.Int32
	srv.SetReply(func(fcmtest.Request) fcmtest.Reply {
		if calls.Add(1) == 1 {
			return fcmtest.Reply{Status: 503, Code: "UNAVAILABLE"}
		}
		return fcmtest.Reply{}
	})
	if err := newSender(t, srv).Push(t.Context(), push(chat.PlatformIOS)); err != nil {
		t.Fatalf("Push: %v", err)
	}
	if n := len(srv.Requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestCredentials(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if _, err := fcm.New(t.Context(), fcm.Config{}); err == nil {
		t.Error("New without credentials or endpoint succeeded")
	}
	if _, err := fcm.New(t.Context(), fcm.Config{CredentialsFile: filepath.Join(dir, "missing.json")}); err == nil {
		t.Error("New with a missing credentials file succeeded")
	}
	ext := write("external.json", `{"type":"external_account","audience":"x","token_url":"http://127.0.0.1:1/"}`)
	if _, err := fcm.New(t.Context(), fcm.Config{CredentialsFile: ext}); err == nil {
		t.Error("New with a credential that is not a service-account key succeeded")
	}
	if _, err := fcm.New(t.Context(), fcm.Config{Endpoint: "http://127.0.0.1:1/v1"}); err == nil {
		t.Error("New without a project id succeeded")
	}
}
