package api

import (
	"net/http"
)

// export streams everything stored about the caller as one JSON document, to save as a
// file. It is rate-limited per user: it reads all of their data.
func (s *Server) export(w http.ResponseWriter, r *http.Request) {
	uid := callerID(r)
	if s.limited(w, r, s.cfg.ExportsPerUser, uid) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="chatchat-export.json"`)
	w.Header().Set("Cache-Control", "no-store")
	if err := s.chat.Export(r.Context(), uid, w); err != nil {
		// Headers are out once the first piece is written: the document is cut short,
		// which its reader notices; the log says why.
		s.log.Warn("export cut short", "user", uid, "err", err)
	}
}

// eraseMe erases the caller, who confirms with their password.
func (s *Server) eraseMe(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Password string `json:"password"`
	}
	if !s.decode(w, r, &in) {
		return
	}
	uid := callerID(r)
	if err := s.auth.CheckPassword(r.Context(), uid, in.Password); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.chat.EraseUser(r.Context(), uid, uid); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// eraseUser erases a user for an administrator.
func (s *Server) eraseUser(w http.ResponseWriter, r *http.Request) {
	if err := s.chat.EraseUser(r.Context(), callerID(r), r.PathValue("userId")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
