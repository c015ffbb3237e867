package api

import (
	"net/http"

	"github.com/chatchat/chatchat/chat"
)

// logout ends the session of the refresh token in the body, which must be the caller's:
// POST /auth/logout {refreshToken} → 204. Signing out of a session that has ended already
// is 204 too, so that a client may retry it.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	token, ok := s.refreshToken(w, r)
	if !ok {
		return
	}
	if err := s.auth.Logout(r.Context(), callerID(r), token); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// logoutAll ends every session of the caller: POST /auth/logout-all → 204. A body, if any,
// is not read.
func (s *Server) logoutAll(w http.ResponseWriter, r *http.Request) {
	if err := s.auth.LogoutAll(r.Context(), callerID(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// refreshToken decodes the {refreshToken} body of refresh and logout; it reports false
// when it has answered with an error.
func (s *Server) refreshToken(w http.ResponseWriter, r *http.Request) (string, bool) {
	var in struct {
		RefreshToken string `json:"refreshToken"`
	}
	if !s.decode(w, r, &in) {
		return "", false
	}
	if in.RefreshToken == "" {
		s.fail(w, r, chat.Errorf(chat.Invalid, "bad_request", "refreshToken is required"))
		return "", false
	}
	return in.RefreshToken, true
}
