package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/chatchat/chatchat/chat"
)

// Auth is the answer of sign-up and login.
type Auth struct {
	User         chat.Profile `json:"user"`
	AccessToken  string       `json:"accessToken"`
	RefreshToken string       `json:"refreshToken"`
}

// Signup creates an account (POST /auth/signup) and keeps its tokens.
func (c *Client) Signup(ctx context.Context, username, password, displayName string) (Auth, error) {
	return c.auth(ctx, "/auth/signup", map[string]string{
		"username": username, "password": password, "displayName": displayName,
	})
}

// Login signs in (POST /auth/login) and keeps the tokens.
func (c *Client) Login(ctx context.Context, username, password string) (Auth, error) {
	return c.auth(ctx, "/auth/login", map[string]string{"username": username, "password": password})
}

func (c *Client) auth(ctx context.Context, path string, body map[string]string) (Auth, error) {
	r, err := jsonRequest(http.MethodPost, APIPrefix+path, body)
	if err != nil {
		return Auth{}, err
	}
	r.noAuth = true
	var a Auth
	if _, err := c.call(ctx, r, &a); err != nil {
		return Auth{}, err
	}
	c.SetTokens(Tokens{AccessToken: a.AccessToken, RefreshToken: a.RefreshToken})
	return a, nil
}

// Refresh exchanges the refresh token the Client holds for new tokens
// (POST /auth/refresh) and keeps them. Calls that meet an expired token do this by
// themselves; Refresh is for callers that want to renew ahead of time.
func (c *Client) Refresh(ctx context.Context) (Tokens, error) {
	c.refreshMu.Lock()
	defer c.refreshMu.Unlock()
	return c.refreshLocked(ctx)
}

// refreshLocked renews the tokens; the caller holds refreshMu.
func (c *Client) refreshLocked(ctx context.Context) (Tokens, error) {
	rt := c.Tokens().RefreshToken
	if rt == "" {
		return Tokens{}, fmt.Errorf("client: refresh: no refresh token (sign up or log in first)")
	}
	r, err := jsonRequest(http.MethodPost, APIPrefix+"/auth/refresh", map[string]string{"refreshToken": rt})
	if err != nil {
		return Tokens{}, err
	}
	r.noAuth = true
	var t Tokens
	if _, err := c.call(ctx, r, &t); err != nil {
		return Tokens{}, err
	}
	c.SetTokens(t)
	return t, nil
}

// Logout ends the session of the tokens the Client holds (POST /auth/logout): its tokens
// are refused from now on and its WebSockets are closed with 4001, on every node. The
// Client forgets the tokens.
func (c *Client) Logout(ctx context.Context) error {
	_, err := c.callJSON(ctx, http.MethodPost, APIPrefix+"/auth/logout",
		map[string]string{"refreshToken": c.Tokens().RefreshToken}, nil)
	if err != nil {
		return err
	}
	c.SetTokens(Tokens{})
	return nil
}

// LogoutAll ends every session of the user (POST /auth/logout-all), this one included;
// the Client forgets its tokens.
func (c *Client) LogoutAll(ctx context.Context) error {
	if _, err := c.callJSON(ctx, http.MethodPost, APIPrefix+"/auth/logout-all", nil, nil); err != nil {
		return err
	}
	c.SetTokens(Tokens{})
	return nil
}

// Me returns the signed-in user as they see themself, with whether they administer the
// server (GET /users/me).
func (c *Client) Me(ctx context.Context) (chat.Profile, error) {
	var u chat.Profile
	_, err := c.callJSON(ctx, http.MethodGet, APIPrefix+"/users/me", nil, &u)
	return u, err
}

// User returns a user with their presence (GET /users/{userId}).
func (c *Client) User(ctx context.Context, userID string) (chat.User, error) {
	var u chat.User
	_, err := c.callJSON(ctx, http.MethodGet, APIPrefix+"/users/"+url.PathEscape(userID), nil, &u)
	return u, err
}

// SearchUsers returns up to limit users whose username or display name starts with prefix
// (GET /users?q=&limit=). A limit of 0 leaves the server's default.
func (c *Client) SearchUsers(ctx context.Context, prefix string, limit int) ([]chat.User, error) {
	q := url.Values{"q": {prefix}}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out struct {
		Users []chat.User `json:"users"`
	}
	_, err := c.call(ctx, request{method: http.MethodGet, path: APIPrefix + "/users", query: q}, &out)
	return out.Users, err
}

// Presence returns the presence of each of userIDs (GET /presence?userIds=a,b).
func (c *Client) Presence(ctx context.Context, userIDs ...string) ([]chat.Presence, error) {
	q := url.Values{"userIds": {strings.Join(userIDs, ",")}}
	var out struct {
		Presence []chat.Presence `json:"presence"`
	}
	_, err := c.call(ctx, request{method: http.MethodGet, path: APIPrefix + "/presence", query: q}, &out)
	return out.Presence, err
}
