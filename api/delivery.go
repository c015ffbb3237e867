package api

import (
	"net/http"

	"github.com/chatchat/chatchat/chat"
)

// markDelivered is POST /rooms/{roomId}/delivered {seq}: the caller's devices received the
// room's messages up to seq (a push handler's way to say so without a WebSocket).
func (s *Server) markDelivered(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Seq *int64 `json:"seq"`
	}
	if !s.decode(w, r, &in) {
		return
	}
	if in.Seq == nil {
		s.fail(w, r, chat.Errorf(chat.Invalid, "bad_request", "seq is required"))
		return
	}
	dr, err := s.chat.MarkDelivered(r.Context(), callerID(r), r.PathValue("roomId"), *in.Seq)
	s.reply(w, r, http.StatusOK, dr, err)
}
