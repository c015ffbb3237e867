package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/chatchat/chatchat/auth"
	"github.com/chatchat/chatchat/chat"
)

type authAnswer struct {
	User         *chat.Profile `json:"user,omitempty"`
	AccessToken  string        `json:"accessToken"`
	RefreshToken string        `json:"refreshToken"`
	ExpiresIn    int           `json:"expiresIn"`
}

func answer(u *chat.User, t auth.Tokens) authAnswer {
	var own *chat.Profile
	if u != nil {
		p := u.Own()
		own = &p
	}
	return authAnswer{User: own, AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, ExpiresIn: t.ExpiresIn}
}

func (s *Server) signup(w http.ResponseWriter, r *http.Request) {
	if s.limited(w, r, s.cfg.SignupPerIP, s.clientAddr(r)) {
		return
	}
	var in struct {
		Username    string `json:"username"`
		Password    string `json:"password"`
		DisplayName string `json:"displayName"`
	}
	if !s.decode(w, r, &in) {
		return
	}
	u, t, err := s.auth.Signup(r.Context(), in.Username, in.Password, in.DisplayName)
	s.reply(w, r, http.StatusCreated, answer(&u, t), err)
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if s.limited(w, r, s.cfg.LoginPerIP, s.clientAddr(r)) {
		return
	}
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if !s.decode(w, r, &in) {
		return
	}
	if s.limited(w, r, s.cfg.LoginPerUser, strings.ToLower(in.Username)) {
		return
	}
	u, t, err := s.auth.Login(r.Context(), in.Username, in.Password)
	s.reply(w, r, http.StatusOK, answer(&u, t), err)
}

func (s *Server) refresh(w http.ResponseWriter, r *http.Request) {
	if s.limited(w, r, s.cfg.LoginPerIP, s.clientAddr(r)) {
		return
	}
	token, ok := s.refreshToken(w, r)
	if !ok {
		return
	}
	t, err := s.auth.Refresh(r.Context(), token)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, answer(nil, t))
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	u, err := s.chat.Me(r.Context(), callerID(r))
	s.reply(w, r, http.StatusOK, u, err)
}

func (s *Server) user(w http.ResponseWriter, r *http.Request) {
	u, err := s.chat.UserWithPresence(r.Context(), r.PathValue("userId"))
	s.reply(w, r, http.StatusOK, u, err)
}

func (s *Server) searchUsers(w http.ResponseWriter, r *http.Request) {
	limit, ok := s.intParam(w, r, "limit")
	if !ok {
		return
	}
	users, err := s.chat.SearchUsers(r.Context(), r.URL.Query().Get("q"), int(limit))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if users == nil {
		users = []chat.User{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": users})
}

func (s *Server) presence(w http.ResponseWriter, r *http.Request) {
	var ids []string
	for _, id := range strings.Split(r.URL.Query().Get("userIds"), ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	ps, err := s.chat.Presence(r.Context(), ids)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"presence": ps})
}

func (s *Server) createRoom(w http.ResponseWriter, r *http.Request) {
	if s.limited(w, r, s.cfg.RoomsPerUser, callerID(r)) {
		return
	}
	var in chat.NewRoom
	if !s.decode(w, r, &in) {
		return
	}
	room, created, err := s.chat.CreateRoom(r.Context(), callerID(r), in)
	s.replyMade(w, r, created, room, err)
}

func (s *Server) rooms(w http.ResponseWriter, r *http.Request) {
	limit, ok := s.intParam(w, r, "limit")
	if !ok {
		return
	}
	list, err := s.chat.Rooms(r.Context(), callerID(r), int(limit), r.URL.Query().Get("cursor"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if list.Rooms == nil {
		list.Rooms = []chat.Room{}
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) room(w http.ResponseWriter, r *http.Request) {
	room, err := s.chat.Room(r.Context(), callerID(r), r.PathValue("roomId"))
	s.reply(w, r, http.StatusOK, room, err)
}

func (s *Server) addMembers(w http.ResponseWriter, r *http.Request) {
	if s.limited(w, r, s.cfg.RoomsPerUser, callerID(r)) {
		return
	}
	var in struct {
		UserIDs []string `json:"userIds"`
	}
	if !s.decode(w, r, &in) {
		return
	}
	room, err := s.chat.AddMembers(r.Context(), callerID(r), r.PathValue("roomId"), in.UserIDs)
	s.reply(w, r, http.StatusOK, room, err)
}

func (s *Server) leave(w http.ResponseWriter, r *http.Request) {
	if err := s.chat.Leave(r.Context(), callerID(r), r.PathValue("roomId")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) settings(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Muted *bool `json:"muted"`
	}
	if !s.decode(w, r, &in) {
		return
	}
	if in.Muted == nil {
		s.fail(w, r, chat.Errorf(chat.Invalid, "bad_request", "muted is required"))
		return
	}
	room, err := s.chat.SetMuted(r.Context(), callerID(r), r.PathValue("roomId"), *in.Muted)
	s.reply(w, r, http.StatusOK, room, err)
}

func (s *Server) sendMessage(w http.ResponseWriter, r *http.Request) {
	uid := callerID(r)
	if s.limited(w, r, s.cfg.SendPerUser, uid) {
		return
	}
	var in chat.NewMessage
	if !s.decode(w, r, &in) {
		return
	}
	m, created, err := s.chat.SendMessage(r.Context(), uid, r.PathValue("roomId"), in)
	s.replyMade(w, r, created, m, err)
}

func (s *Server) history(w http.ResponseWriter, r *http.Request) {
	var q chat.HistoryQuery
	var ok bool
	if q.AfterSeq, ok = s.intParam(w, r, "afterSeq"); !ok {
		return
	}
	// afterSeq=0 given explicitly means "from the first message", not "unset".
	q.Forward = r.URL.Query().Has("afterSeq")
	if q.BeforeSeq, ok = s.intParam(w, r, "beforeSeq"); !ok {
		return
	}
	limit, ok := s.intParam(w, r, "limit")
	if !ok {
		return
	}
	q.Limit = int(limit)
	msgs, more, err := s.chat.History(r.Context(), callerID(r), r.PathValue("roomId"), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if msgs == nil {
		msgs = []chat.Message{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": msgs, "hasMore": more})
}

func (s *Server) markRead(w http.ResponseWriter, r *http.Request) {
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
	rr, err := s.chat.MarkRead(r.Context(), callerID(r), r.PathValue("roomId"), *in.Seq)
	s.reply(w, r, http.StatusOK, rr, err)
}

// intParam parses an optional non-negative integer query parameter (0 when absent).
func (s *Server) intParam(w http.ResponseWriter, r *http.Request, name string) (int64, bool) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, true
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		s.fail(w, r, chat.Errorf(chat.Invalid, "bad_request", "%s must be a non-negative integer", name))
		return 0, false
	}
	return n, true
}

// reply writes v with status, or err in the error shape when there is one.
// replyMade writes v as 201 when created, else 200 (the thing existed already), or err.
func (s *Server) replyMade(w http.ResponseWriter, r *http.Request, created bool, v any, err error) {
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	s.reply(w, r, status, v, err)
}

func (s *Server) reply(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, status, v)
}
