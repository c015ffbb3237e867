package api

import (
	"net/http"

	"github.com/chatchat/chatchat/chat"
)

func (s *Server) block(w http.ResponseWriter, r *http.Request) {
	var in struct {
		UserID string `json:"userId"`
	}
	if !s.decode(w, r, &in) {
		return
	}
	if in.UserID == "" {
		s.fail(w, r, chat.Errorf(chat.Invalid, "bad_request", "userId is required"))
		return
	}
	err := s.chat.Block(r.Context(), callerID(r), in.UserID)
	s.reply(w, r, http.StatusCreated, map[string]string{"userId": in.UserID}, err)
}

func (s *Server) blocks(w http.ResponseWriter, r *http.Request) {
	users, err := s.chat.Blocks(r.Context(), callerID(r))
	s.reply(w, r, http.StatusOK, map[string]any{"users": users}, err)
}

func (s *Server) unblock(w http.ResponseWriter, r *http.Request) {
	if err := s.chat.Unblock(r.Context(), callerID(r), r.PathValue("userId")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
