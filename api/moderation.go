package api

import (
	"net/http"

	"github.com/chatchat/chatchat/chat"
)

// The moderation routes of a group: the handlers decode, ask chat.Service (whose policy
// decides who may) and encode.

func (s *Server) updateRoom(w http.ResponseWriter, r *http.Request) {
	var in chat.RoomPatch
	if !s.decode(w, r, &in) {
		return
	}
	room, err := s.chat.UpdateRoom(r.Context(), callerID(r), r.PathValue("roomId"), in)
	s.reply(w, r, http.StatusOK, room, err)
}

func (s *Server) setMemberRole(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Role string `json:"role"`
	}
	if !s.decode(w, r, &in) {
		return
	}
	room, err := s.chat.SetMemberRole(r.Context(), callerID(r), r.PathValue("roomId"), r.PathValue("userId"), in.Role)
	s.reply(w, r, http.StatusOK, room, err)
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request) {
	if err := s.chat.RemoveMember(r.Context(), callerID(r), r.PathValue("roomId"), r.PathValue("userId")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) ban(w http.ResponseWriter, r *http.Request) {
	var in struct {
		UserID string `json:"userId"`
	}
	if !s.decode(w, r, &in) {
		return
	}
	room, err := s.chat.Ban(r.Context(), callerID(r), r.PathValue("roomId"), in.UserID)
	s.reply(w, r, http.StatusOK, room, err)
}

func (s *Server) unban(w http.ResponseWriter, r *http.Request) {
	if err := s.chat.Unban(r.Context(), callerID(r), r.PathValue("roomId"), r.PathValue("userId")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
