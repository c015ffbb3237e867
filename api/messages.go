package api

import (
	"net/http"

	"github.com/chatchat/chatchat/chat"
)

// The routes of changes to messages: edits, deletes, reactions, pins, and the feeds that
// let a device catch up with them (PROTOCOL.md 1.1 "Messages").

func (s *Server) editMessage(w http.ResponseWriter, r *http.Request) {
	uid := callerID(r)
	if s.limited(w, r, s.cfg.SendPerUser, uid) {
		return
	}
	var in chat.MessageEdit
	if !s.decode(w, r, &in) {
		return
	}
	m, err := s.chat.EditMessage(r.Context(), uid, r.PathValue("roomId"), r.PathValue("messageId"), in)
	s.reply(w, r, http.StatusOK, m, err)
}

func (s *Server) deleteMessage(w http.ResponseWriter, r *http.Request) {
	uid := callerID(r)
	if s.limited(w, r, s.cfg.SendPerUser, uid) {
		return
	}
	if err := s.chat.DeleteMessage(r.Context(), uid, r.PathValue("roomId"), r.PathValue("messageId")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// react and unreact take the emoji from the path, where the router has unescaped it.
func (s *Server) react(w http.ResponseWriter, r *http.Request) {
	uid := callerID(r)
	if s.limited(w, r, s.cfg.SendPerUser, uid) {
		return
	}
	m, err := s.chat.React(r.Context(), uid, r.PathValue("roomId"), r.PathValue("messageId"), r.PathValue("emoji"))
	s.reply(w, r, http.StatusOK, m, err)
}

func (s *Server) unreact(w http.ResponseWriter, r *http.Request) {
	uid := callerID(r)
	if s.limited(w, r, s.cfg.SendPerUser, uid) {
		return
	}
	m, err := s.chat.Unreact(r.Context(), uid, r.PathValue("roomId"), r.PathValue("messageId"), r.PathValue("emoji"))
	s.reply(w, r, http.StatusOK, m, err)
}

func (s *Server) pin(w http.ResponseWriter, r *http.Request) {
	uid := callerID(r)
	if s.limited(w, r, s.cfg.SendPerUser, uid) {
		return
	}
	m, err := s.chat.Pin(r.Context(), uid, r.PathValue("roomId"), r.PathValue("messageId"))
	s.reply(w, r, http.StatusOK, m, err)
}

func (s *Server) unpin(w http.ResponseWriter, r *http.Request) {
	uid := callerID(r)
	if s.limited(w, r, s.cfg.SendPerUser, uid) {
		return
	}
	m, err := s.chat.Unpin(r.Context(), uid, r.PathValue("roomId"), r.PathValue("messageId"))
	s.reply(w, r, http.StatusOK, m, err)
}

func (s *Server) pins(w http.ResponseWriter, r *http.Request) {
	msgs, err := s.chat.Pins(r.Context(), callerID(r), r.PathValue("roomId"))
	if msgs == nil {
		msgs = []chat.Message{}
	}
	s.reply(w, r, http.StatusOK, map[string]any{"messages": msgs}, err)
}

func (s *Server) changes(w http.ResponseWriter, r *http.Request) {
	after, ok := s.intParam(w, r, "afterRev")
	if !ok {
		return
	}
	limit, ok := s.intParam(w, r, "limit")
	if !ok {
		return
	}
	page, err := s.chat.Changes(r.Context(), callerID(r), r.PathValue("roomId"), after, int(limit))
	s.reply(w, r, http.StatusOK, page, err)
}

func (s *Server) searchMessages(w http.ResponseWriter, r *http.Request) {
	uid := callerID(r)
	if s.limited(w, r, s.cfg.SearchPerUser, uid) {
		return
	}
	limit, ok := s.intParam(w, r, "limit")
	if !ok {
		return
	}
	q := r.URL.Query()
	msgs, more, err := s.chat.SearchMessages(r.Context(), uid, chat.SearchInput{
		Q: q.Get("q"), RoomID: q.Get("roomId"), BeforeID: q.Get("beforeId"), Limit: int(limit),
	})
	if msgs == nil {
		msgs = []chat.Message{}
	}
	s.reply(w, r, http.StatusOK, map[string]any{"messages": msgs, "hasMore": more}, err)
}
