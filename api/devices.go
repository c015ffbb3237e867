package api

import (
	"context"
	"net/http"
	"slices"
	"strconv"

	"github.com/chatchat/chatchat/chat"
)

// maxTokenBytes bounds a push token: FCM's are about 160 bytes, and a token is stored
// and sent with every push.
const maxTokenBytes = 1024

// maxDeviceBodyBytes bounds a device registration: a token and a platform.
const maxDeviceBodyBytes = 8 << 10

func (s *Server) registerDevice(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Platform string `json:"platform"`
		Token    string `json:"token"`
	}
	if err := decodeJSON(w, r, maxDeviceBodyBytes, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	switch in.Platform {
	case chat.PlatformAndroid, chat.PlatformIOS, chat.PlatformWeb:
	default:
		s.fail(w, r, chat.Errorf(chat.Invalid, "bad_request", `platform must be "android", "ios" or "web"`))
		return
	}
	if err := checkToken(in.Token); err != nil {
		s.fail(w, r, err)
		return
	}
	d := chat.Device{Token: in.Token, UserID: callerID(r), Platform: in.Platform, CreatedAt: chat.At(s.cfg.Now())}
	created, err := s.cfg.Devices.RegisterDevice(r.Context(), d)
	if err == nil && created {
		err = s.dropOldDevices(r.Context(), d.UserID)
	}
	s.replyMade(w, r, created, d, err)
}

// dropOldDevices keeps a user's newest MaxDevices tokens and deletes the rest: a user
// may register any number over time, but pushes go to a bounded set.
func (s *Server) dropOldDevices(ctx context.Context, userID string) error {
	ds, err := s.cfg.Devices.Devices(ctx, []string{userID})
	if err != nil || len(ds) <= s.cfg.MaxDevices {
		return err
	}
	slices.SortFunc(ds, func(a, b chat.Device) int { return b.CreatedAt.Compare(a.CreatedAt.Time) })
	for _, d := range ds[s.cfg.MaxDevices:] {
		if err := s.cfg.Devices.DeleteDevice(ctx, userID, d.Token); err != nil && !chat.IsNotFound(err) {
			return err
		}
	}
	return nil
}

func (s *Server) deleteDevice(w http.ResponseWriter, r *http.Request) {
	err := s.cfg.Devices.DeleteDevice(r.Context(), callerID(r), r.PathValue("token"))
	if chat.IsNotFound(err) {
		err = chat.Errorf(chat.NotFound, "device_not_found", "no such device token of yours")
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) notifications(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			s.fail(w, r, chat.Errorf(chat.Invalid, "bad_request", "limit is between 1 and 100"))
			return
		}
		limit = n
	}
	ns, more, err := s.cfg.Notifications.Notifications(r.Context(), callerID(r), q.Get("beforeId"), limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Notifications []chat.Notification `json:"notifications"`
		HasMore       bool                `json:"hasMore"`
	}{ns, more})
}

// checkToken accepts what push services issue: printable ASCII without spaces.
func checkToken(t string) error {
	if t == "" {
		return chat.Errorf(chat.Invalid, "bad_request", "token is required")
	}
	if len(t) > maxTokenBytes {
		return chat.Errorf(chat.Invalid, "bad_request", "token is longer than %d bytes", maxTokenBytes)
	}
	for i := 0; i < len(t); i++ {
		if t[i] <= ' ' || t[i] > '~' {
			return chat.Errorf(chat.Invalid, "bad_request", "token has characters that are not printable ASCII")
		}
	}
	return nil
}
