package api_test

import (
	"encoding/json"
	"net/http"
	"testing"
)

// tokens are the answer of sign-up, login and refresh.
type tokens struct {
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
}

// signIn signs up (or logs in) through the API and returns the tokens.
func signIn(tb testing.TB, base, path, username string) tokens {
	tb.Helper()
	body := map[string]string{"username": username, "password": "correct horse battery"}
	if path == "signup" {
		body["displayName"] = username
	}
	resp, b := call(tb, "POST", base+"/api/v1/auth/"+path, "", "", body)
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		tb.Fatalf("%s %s: %d %s", path, username, resp.StatusCode, b)
	}
	var t tokens
	if err := json.Unmarshal(b, &t); err != nil {
		tb.Fatal(err)
	}
	return t
}

// wantAnswer fails the test unless the read answer has the status and the error shape with code.
func wantAnswer(tb testing.TB, what string, resp *http.Response, b []byte, status int, code string) {
	tb.Helper()
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if resp.StatusCode != status || json.Unmarshal(b, &e) != nil || e.Error.Code != code || e.Error.Message == "" {
		tb.Errorf("%s = %d %s, want %d with error code %s", what, resp.StatusCode, b, status, code)
	}
}

func wantStatus(tb testing.TB, what string, resp *http.Response, b []byte, status int) {
	tb.Helper()
	if resp.StatusCode != status {
		tb.Errorf("%s = %d %s, want %d", what, resp.StatusCode, b, status)
	}
}

func TestLogout(t *testing.T) {
	base := apiServer(t, nil)
	laptop := signIn(t, base, "signup", "alice")
	phone := signIn(t, base, "login", "alice")
	bob := signIn(t, base, "signup", "bob")
	logout := base + "/api/v1/auth/logout"
	me := base + "/api/v1/users/me"

	resp, b := call(t, "POST", logout, "", "", map[string]string{"refreshToken": laptop.RefreshToken})
	wantAnswer(t, "logout without a token", resp, b, http.StatusUnauthorized, "unauthorized")
	resp, b = call(t, "POST", logout, laptop.AccessToken, "", map[string]string{})
	wantAnswer(t, "logout without refreshToken", resp, b, http.StatusBadRequest, "bad_request")
	resp, b = call(t, "POST", logout, laptop.AccessToken, "", map[string]any{"refreshToken": 7})
	wantAnswer(t, "logout with a number", resp, b, http.StatusBadRequest, "bad_request")
	resp, b = call(t, "POST", logout, laptop.AccessToken, "", map[string]string{"refreshToken": bob.RefreshToken})
	wantAnswer(t, "logout with another user's token", resp, b, http.StatusNotFound, "session_not_found")
	resp, b = call(t, "POST", logout, laptop.AccessToken, "", map[string]string{"refreshToken": "nonsense"})
	wantAnswer(t, "logout with an unknown token", resp, b, http.StatusNotFound, "session_not_found")

	resp, b = call(t, "POST", logout, laptop.AccessToken, "", map[string]string{"refreshToken": laptop.RefreshToken})
	wantStatus(t, "logout", resp, b, http.StatusNoContent)
	resp, b = call(t, "GET", me, laptop.AccessToken, "", nil)
	wantAnswer(t, "the ended session's access token", resp, b, http.StatusUnauthorized, "invalid_token")
	resp, b = call(t, "POST", base+"/api/v1/auth/refresh", "", "", map[string]string{"refreshToken": laptop.RefreshToken})
	wantAnswer(t, "the ended session's refresh token", resp, b, http.StatusUnauthorized, "invalid_refresh_token")
	resp, b = call(t, "GET", me, phone.AccessToken, "", nil)
	wantStatus(t, "the other session", resp, b, http.StatusOK)
	// Idempotent: the ended session's token, from the user's other session.
	resp, b = call(t, "POST", logout, phone.AccessToken, "", map[string]string{"refreshToken": laptop.RefreshToken})
	wantStatus(t, "logout again", resp, b, http.StatusNoContent)

	resp, b = call(t, "POST", base+"/api/v1/auth/logout-all", "", "", nil)
	wantAnswer(t, "logout-all without a token", resp, b, http.StatusUnauthorized, "unauthorized")
	resp, b = call(t, "POST", base+"/api/v1/auth/logout-all", phone.AccessToken, "", nil)
	wantStatus(t, "logout-all", resp, b, http.StatusNoContent)
	resp, b = call(t, "GET", me, phone.AccessToken, "", nil)
	wantAnswer(t, "after logout-all", resp, b, http.StatusUnauthorized, "invalid_token")
	resp, b = call(t, "GET", me, bob.AccessToken, "", nil)
	wantStatus(t, "another user after logout-all", resp, b, http.StatusOK)
}

// TestRefreshRepeat: a refresh whose answer was lost, sent again at once, gets the same pair.
func TestRefreshRepeat(t *testing.T) {
	base := apiServer(t, nil)
	t0 := signIn(t, base, "signup", "carol")
	refresh := func() (*http.Response, []byte) {
		return call(t, "POST", base+"/api/v1/auth/refresh", "", "", map[string]string{"refreshToken": t0.RefreshToken})
	}
	resp1, b1 := refresh()
	resp2, b2 := refresh()
	if resp1.StatusCode != http.StatusOK || resp2.StatusCode != http.StatusOK || string(b1) != string(b2) {
		t.Fatalf("refresh twice = %d %s / %d %s; want 200 and the same pair", resp1.StatusCode, b1, resp2.StatusCode, b2)
	}
	resp3, b3 := refresh()
	wantAnswer(t, "a third use", resp3, b3, http.StatusUnauthorized, "invalid_refresh_token")
}
