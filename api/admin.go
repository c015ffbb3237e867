package api

import (
	"net/http"

	"github.com/chatchat/chatchat/chat"
)

// The administration API: every handler's service call checks that the caller
// administers the server.

func (s *Server) adminUsers(w http.ResponseWriter, r *http.Request) {
	limit, ok := s.intParam(w, r, "limit")
	if !ok {
		return
	}
	q := r.URL.Query()
	list, err := s.chat.AdminUsers(r.Context(), callerID(r), q.Get("q"), int(limit), q.Get("cursor"))
	s.reply(w, r, http.StatusOK, list, err)
}

func (s *Server) suspend(w http.ResponseWriter, r *http.Request) {
	u, err := s.chat.Suspend(r.Context(), callerID(r), r.PathValue("userId"))
	s.reply(w, r, http.StatusOK, u, err)
}

func (s *Server) unsuspend(w http.ResponseWriter, r *http.Request) {
	u, err := s.chat.Unsuspend(r.Context(), callerID(r), r.PathValue("userId"))
	s.reply(w, r, http.StatusOK, u, err)
}

func (s *Server) auditLog(w http.ResponseWriter, r *http.Request) {
	limit, ok := s.intParam(w, r, "limit")
	if !ok {
		return
	}
	list, err := s.chat.AuditLog(r.Context(), callerID(r), int(limit), r.URL.Query().Get("cursor"))
	s.reply(w, r, http.StatusOK, list, err)
}

func (s *Server) adminReports(w http.ResponseWriter, r *http.Request) {
	limit, ok := s.intParam(w, r, "limit")
	if !ok {
		return
	}
	q := r.URL.Query()
	list, err := s.chat.Reports(r.Context(), callerID(r), q.Get("status"), int(limit), q.Get("cursor"))
	s.reply(w, r, http.StatusOK, list, err)
}

func (s *Server) resolveReport(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Action string `json:"action"`
	}
	if !s.decode(w, r, &in) {
		return
	}
	rep, err := s.chat.ResolveReport(r.Context(), callerID(r), r.PathValue("reportId"), in.Action)
	s.reply(w, r, http.StatusOK, rep, err)
}

func (s *Server) reportMessage(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Reason string `json:"reason"`
	}
	if !s.decode(w, r, &in) {
		return
	}
	rep, err := s.chat.ReportMessage(r.Context(), callerID(r), r.PathValue("roomId"), r.PathValue("messageId"), in.Reason)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// The reporter sees their report, not the administrators' view of it.
	writeJSON(w, http.StatusCreated, map[string]any{"id": rep.ID, "status": rep.Status, "createdAt": rep.CreatedAt})
}

func (s *Server) setRoomRetention(w http.ResponseWriter, r *http.Request) {
	var in chat.RetentionPatch
	if !s.decode(w, r, &in) {
		return
	}
	room, err := s.chat.SetRoomRetention(r.Context(), callerID(r), r.PathValue("roomId"), in)
	s.reply(w, r, http.StatusOK, room, err)
}

func (s *Server) adminRooms(w http.ResponseWriter, r *http.Request) {
	rooms, err := s.chat.AdminRooms(r.Context(), callerID(r))
	s.reply(w, r, http.StatusOK, map[string]any{"rooms": rooms}, err)
}
