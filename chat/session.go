package chat

import "time"

// A session, in the token service's sense, is one sign-in: the family of rotating refresh
// tokens it started, and every access token issued from that family. Its id is the
// family's id, which access tokens carry, so that signing out can refuse the family's
// access tokens and find the WebSocket sessions opened with them.

// Identity is what a verified access token says.
type Identity struct {
	UserID string
	// SessionID is the refresh token family the token was issued from.
	SessionID string
	// ExpiresAt is the token's expiry: a WebSocket opened or renewed with it lives no longer.
	ExpiresAt time.Time
}

// Revocation records that a session was ended while access tokens issued from it may still
// be alive. It is kept until ExpiresAt, when every such token has expired, and no longer:
// that keeps the set of live revocations small enough for every process to hold.
type Revocation struct {
	SessionID string
	UserID    string
	ExpiresAt time.Time
}

// SessionsRevoked is the data of SESSIONS_REVOKED, an event between servers only: the
// token service publishes it when sessions end, so that every process refuses their
// access tokens at once and chat servers close their sockets. The envelope's UserIDs names
// the user, so that a chat server with no session of theirs decodes nothing.
type SessionsRevoked struct {
	UserID string `json:"userId"`
	// SessionIDs are the ended sessions (refresh token families).
	SessionIDs []string `json:"sessionIds,omitempty"`
	// All: every session of the user ended (logout-all), those not listed too.
	All bool `json:"all,omitempty"`
	// ExpiresAt is when the revocations may be forgotten, in unix milliseconds.
	ExpiresAt int64 `json:"expiresAt"`
	// CloseCode is the WebSocket close code of the ended sessions' sockets; 0 means 4001
	// (signed out). A suspension closes with 4003.
	CloseCode int `json:"closeCode,omitempty"`
}
