package notify

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/chatchat/chatchat/api"
	"github.com/chatchat/chatchat/chat"
)

// maxTokenBytes bounds a push token: FCM's are about 160 bytes, and a token is stored
// and sent with every push.
const maxTokenBytes = 1024

// API serves PROTOCOL.md's device and notification-history endpoints.
type API struct {
	devices chat.PushStore
	log     *slog.Logger
	now     func() time.Time
}

// NewAPI returns the endpoints over devices. log may be nil (slog.Default()).
func NewAPI(devices chat.PushStore, log *slog.Logger) *API {
	if log == nil {
		log = slog.Default()
	}
	return &API{devices: devices, log: log, now: time.Now}
}

// Register adds the routes to rt behind authed; pass it to api.Server.Extend.
func (a *API) Register(rt *api.Router, authed func(http.HandlerFunc) http.Handler) {
	rt.Handle("POST /api/v1/devices", authed(a.register))
	rt.Handle("DELETE /api/v1/devices/{token}", authed(a.unregister))
	rt.Handle("GET /api/v1/notifications", authed(a.notifications))
}

type deviceRequest struct {
	Platform string `json:"platform"`
	Token    string `json:"token"`
}

func (a *API) register(w http.ResponseWriter, r *http.Request) {
	var in deviceRequest
	if err := decode(w, r, &in); err != nil {
		api.WriteError(w, r, a.log, err)
		return
	}
	switch in.Platform {
	case chat.PlatformAndroid, chat.PlatformIOS, chat.PlatformWeb:
	default:
		api.WriteError(w, r, a.log, chat.Errorf(chat.Invalid, "bad_request", `platform must be "android", "ios" or "web"`))
		return
	}
	if err := checkToken(in.Token); err != nil {
		api.WriteError(w, r, a.log, err)
		return
	}
	d := chat.Device{Token: in.Token, UserID: api.UserID(r), Platform: in.Platform, CreatedAt: chat.At(a.now())}
	created, err := a.devices.RegisterDevice(r.Context(), d)
	if err != nil {
		api.WriteError(w, r, a.log, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, d)
}

func (a *API) unregister(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	err := a.devices.DeleteDevice(r.Context(), api.UserID(r), token)
	if chat.IsNotFound(err) {
		err = chat.Errorf(chat.NotFound, "device_not_found", "no such device token of yours")
	}
	if err != nil {
		api.WriteError(w, r, a.log, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) notifications(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			api.WriteError(w, r, a.log, chat.Errorf(chat.Invalid, "bad_request", "limit is between 1 and 100"))
			return
		}
		limit = n
	}
	ns, more, err := a.devices.Notifications(r.Context(), api.UserID(r), q.Get("beforeId"), limit)
	if err != nil {
		api.WriteError(w, r, a.log, err)
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

// maxBodyBytes bounds a device registration: a token and a platform.
const maxBodyBytes = 8 << 10

// decode reads one JSON object strictly, as the API server does: unknown fields,
// trailing data and wrong types are client errors.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return chat.Errorf(chat.TooLarge, "body_too_large", "the body is larger than %d bytes", tooBig.Limit)
	case errors.Is(err, io.EOF):
		return chat.Errorf(chat.Invalid, "bad_json", "the body is empty")
	case err != nil:
		return chat.Errorf(chat.Invalid, "bad_request", "the body is not the expected JSON object: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return chat.Errorf(chat.Invalid, "bad_json", "the body has data after the JSON object")
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
