// Package fcm sends push notifications through Firebase Cloud Messaging's HTTP v1 API with
// the official Firebase Admin SDK for Go. It implements chat.Pusher and classifies FCM's
// errors into chat.PushError, so that the notification worker decides what to retry and
// which tokens to delete without knowing FCM.
package fcm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"time"

	firebase "firebase.google.com/go/v4"
	"firebase.google.com/go/v4/errorutils"
	"firebase.google.com/go/v4/messaging"
	"google.golang.org/api/option"

	"github.com/chatchat/chatchat/chat"
)

// Config configures a Sender.
type Config struct {
	// CredentialsFile is a Firebase service-account JSON key. It or CredentialsJSON is
	// required unless Endpoint is set, in which case requests go unauthenticated (an
	// emulator or a test server).
	CredentialsFile string
	// CredentialsJSON is the key itself rather than a file: a secret store hands it to the
	// process in an environment variable (on AWS, from Parameter Store).
	CredentialsJSON []byte
	// ProjectID is the Firebase project; default the credentials file's project_id.
	ProjectID string
	// Endpoint replaces FCM's base URL, https://fcm.googleapis.com/v1; requests go to
	// Endpoint + "/projects/{project}/messages:send".
	Endpoint string
}

// Sender is a chat.Pusher over FCM. It is safe for concurrent use.
type Sender struct {
	client  *messaging.Client
	project string
}

var _ chat.Pusher = (*Sender)(nil)

// New returns a Sender. It reads and checks the credentials file but sends nothing.
func New(ctx context.Context, cfg Config) (*Sender, error) {
	var opts []option.ClientOption
	project := cfg.ProjectID
	switch {
	case cfg.CredentialsFile != "" && len(cfg.CredentialsJSON) > 0:
		return nil, errors.New("fcm: a credentials file and credentials JSON are both set: use one")
	case cfg.CredentialsFile != "" || len(cfg.CredentialsJSON) > 0:
		key, pid, err := readServiceAccount(cfg.CredentialsFile, cfg.CredentialsJSON)
		if err != nil {
			return nil, err
		}
		if project == "" {
			project = pid
		}
		opts = append(opts, option.WithCredentialsJSON(key))
	case cfg.Endpoint != "":
		opts = append(opts, option.WithoutAuthentication())
	default:
		return nil, errors.New("fcm: credentials are required (a service-account key file or its JSON)")
	}
	if project == "" {
		return nil, errors.New("fcm: no project id: set it, or use a credentials file that names one")
	}
	if cfg.Endpoint != "" {
		opts = append(opts, option.WithEndpoint(cfg.Endpoint))
	}
	app, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: project}, opts...)
	if err != nil {
		return nil, fmt.Errorf("fcm: %w", err)
	}
	client, err := app.Messaging(ctx)
	if err != nil {
		return nil, fmt.Errorf("fcm: %w", err)
	}
	return &Sender{client: client, project: project}, nil
}

// readServiceAccount reads a service-account key from the file at path, or takes key when
// path is empty, refusing any other kind of credential configuration: the SDK would
// otherwise follow whatever the file says (an external account, a token URL), which a key
// handed over by mistake should not be able to do.
func readServiceAccount(path string, key []byte) (_ []byte, projectID string, err error) {
	if path != "" {
		if key, err = os.ReadFile(path); err != nil {
			return nil, "", fmt.Errorf("fcm: credentials: %w", err)
		}
	} else {
		// Named in errors instead of a path; the JSON itself is a secret.
		path = "JSON"
	}
	var f struct {
		Type        string `json:"type"`
		ProjectID   string `json:"project_id"`
		ClientEmail string `json:"client_email"`
		PrivateKey  string `json:"private_key"`
	}
	if err := json.Unmarshal(key, &f); err != nil {
		return nil, "", fmt.Errorf("fcm: credentials %s: %w", path, err)
	}
	if f.Type != "service_account" || f.ClientEmail == "" || f.PrivateKey == "" {
		return nil, "", fmt.Errorf("fcm: credentials %s: not a service-account key (type %q)", path, f.Type)
	}
	return key, f.ProjectID, nil
}

// Project returns the Firebase project pushes are sent through.
func (s *Sender) Project() string { return s.project }

// Push implements chat.Pusher. FCM's refusals come back as *chat.PushError; an ended ctx
// as ctx's error.
func (s *Sender) Push(ctx context.Context, p chat.Push) error {
	_, err := s.client.Send(ctx, Message(p))
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return classify(err)
}

// Message is the FCM message of a push: a notification with the data the app needs to
// open the room, and per platform the badge and the room as the conversation it belongs
// to, so that a burst in one room stacks as one conversation.
func Message(p chat.Push) *messaging.Message {
	if p.DataOnly {
		return dataMessage(p)
	}
	m := &messaging.Message{
		Token:        p.Token,
		Notification: &messaging.Notification{Title: p.Title, Body: p.Body},
		Data:         p.Data,
	}
	badge := p.Badge
	switch p.Platform {
	case chat.PlatformAndroid:
		m.Android = &messaging.AndroidConfig{
			CollapseKey: p.Thread,
			Priority:    "high",
			Notification: &messaging.AndroidNotification{
				Tag:               p.Thread, // replaces the room's previous notification
				NotificationCount: &badge,
			},
		}
	case chat.PlatformIOS:
		m.APNS = &messaging.APNSConfig{
			Payload: &messaging.APNSPayload{Aps: &messaging.Aps{
				Badge:    &badge,
				Sound:    "default",
				ThreadID: p.Thread, // groups the room's notifications
			}},
		}
		if id := p.Data["messageId"]; id != "" && len(id) <= 64 {
			// A push of the same message made again (a notification process killed
			// before it recorded the first) replaces the one shown instead of showing
			// twice; Android's tag and web push's tag do the same per room.
			m.APNS.Headers = map[string]string{"apns-collapse-id": id}
		}
	case chat.PlatformWeb:
		m.Webpush = &messaging.WebpushConfig{
			Notification: &messaging.WebpushNotification{Tag: p.Thread},
		}
		if webTopic.MatchString(p.Thread) {
			// A push service keeps only the newest undelivered message per topic.
			m.Webpush.Headers = map[string]string{"Topic": p.Thread}
		}
	}
	return m
}

// dataMessage is the FCM message of a data-only push (a room read elsewhere): nothing is
// shown; the app is woken with the data (which carries the badge for it to set: an APNs
// background push holds content-available alone), and each platform keeps only the newest
// of a room's pushes that wait for a device (Android's collapse key, APNs' collapse id, web
// push's Topic), so a run of reads arrives as one. Android and APNs get normal priority, as
// their rules ask of pushes that show nothing.
func dataMessage(p chat.Push) *messaging.Message {
	m := &messaging.Message{Token: p.Token, Data: p.Data}
	switch p.Platform {
	case chat.PlatformAndroid:
		m.Android = &messaging.AndroidConfig{CollapseKey: p.Thread, Priority: "normal"}
	case chat.PlatformIOS:
		m.APNS = &messaging.APNSConfig{
			Headers: map[string]string{"apns-push-type": "background", "apns-priority": "5"},
			Payload: &messaging.APNSPayload{Aps: &messaging.Aps{ContentAvailable: true}},
		}
		if len(p.Thread) <= 64 { // APNs' limit on a collapse id
			m.APNS.Headers["apns-collapse-id"] = p.Thread
		}
	case chat.PlatformWeb:
		if webTopic.MatchString(p.Thread) {
			m.Webpush = &messaging.WebpushConfig{Headers: map[string]string{"Topic": p.Thread}}
		}
	}
	return m
}

// webTopic is what RFC 8030 allows in a Topic header.
var webTopic = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// classify turns an SDK error into a chat.PushError. The SDK itself retries network
// errors and 503s a few times before returning; what still fails here is retried by the
// worker, after the server's Retry-After where it sent one.
func classify(err error) *chat.PushError {
	pe := &chat.PushError{Reason: chat.PushOther, Err: err}
	switch {
	case messaging.IsUnregistered(err):
		pe.Reason = chat.PushUnregistered
	case messaging.IsSenderIDMismatch(err):
		pe.Reason = chat.PushSenderMismatch
	case messaging.IsThirdPartyAuthError(err):
		pe.Reason = chat.PushAuth
	case messaging.IsInvalidArgument(err), errorutils.IsInvalidArgument(err):
		pe.Reason = chat.PushInvalidArgument
	case messaging.IsQuotaExceeded(err), errorutils.IsResourceExhausted(err):
		pe.Reason, pe.Retry = chat.PushQuotaExceeded, true
	case messaging.IsUnavailable(err), errorutils.IsUnavailable(err):
		pe.Reason, pe.Retry = chat.PushUnavailable, true
	case messaging.IsInternal(err), errorutils.IsInternal(err):
		pe.Reason, pe.Retry = chat.PushInternal, true
	case errorutils.HTTPResponse(err) == nil:
		// No answer at all: the network, which may well work next time.
		pe.Retry = true
	}
	if resp := errorutils.HTTPResponse(err); resp != nil {
		pe.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return pe
}

// retryAfter parses a Retry-After header: seconds, or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs > 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
