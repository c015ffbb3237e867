package chat

import (
	"context"
	"fmt"
	"time"
)

// PushJob is the push work of one created message: notify the room's offline members. The
// message travels whole so that a notification worker needs no look-up to render it.
// A job with Read set is instead a read cursor that moved (Message is then empty).
type PushJob struct {
	Message Message `json:"message"`
	// Read: tell the user's devices that the room is read up to a seq (a data-only push
	// that clears its notifications there).
	Read *ReadPush `json:"read,omitempty"`
	// EnqueuedAt is when the API queued the job (unix ms), for the queue-lag metric.
	EnqueuedAt int64 `json:"enqueuedAt"`
	// UserIDs, when set, limits the job to these members: the users an edit newly
	// mentions. Devices already pushed for the message are skipped as for any job, so a
	// mention is pushed once.
	UserIDs []string `json:"userIds,omitempty"`
}

// ReadPush is a read cursor that moved, for the reader's devices.
type ReadPush struct {
	RoomID      string `json:"roomId"`
	UserID      string `json:"userId"`
	LastReadSeq int64  `json:"lastReadSeq"`
}

// PushQueue takes push jobs from the API. Unlike the Bus it is durable where its backend is
// (a Redis Stream in a cluster): a job waits for a notification worker, and one that a
// worker took but never acknowledged is handed to another.
type PushQueue interface {
	// Enqueue adds a job. It fails fast when the transport is down.
	Enqueue(ctx context.Context, job PushJob) error
}

// PushDelivery is one job handed to a consumer. ID is the queue's own id of the entry,
// which Ack takes.
type PushDelivery struct {
	ID  string
	Job PushJob
}

// PushConsumer is one notification worker's end of a PushQueue. Delivery is at least once:
// a job stays the consumer's until it is acknowledged, and goes to another consumer once it
// has been left unacknowledged for the queue's claim timeout.
type PushConsumer interface {
	// Receive waits until jobs are available or ctx ends and returns up to limit of them:
	// first jobs reclaimed from consumers that left them idle past the claim timeout, then
	// new ones.
	Receive(ctx context.Context, limit int) ([]PushDelivery, error)
	// Ack marks jobs done; they are never delivered again.
	Ack(ctx context.Context, ids ...string) error
}

// Push is one notification to one device.
type Push struct {
	Token    string
	Platform string
	Title    string
	Body     string
	// Data is handed to the app: roomId, messageId, seq.
	Data map[string]string
	// Badge is the recipient's total unread count.
	Badge int
	// Thread groups a conversation's pushes on the device (collapse key, APNs thread-id,
	// Android tag): the room id.
	Thread string
	// DataOnly: no notification is shown; the app gets Data and acts on it, like clearing
	// a room's notifications read elsewhere (Data then carries the badge for the app to
	// set). Title, Body and Badge are unused.
	DataOnly bool
}

// Pusher sends pushes through a provider (FCM). Errors it can classify are *PushError.
type Pusher interface {
	Push(ctx context.Context, p Push) error
}

// Reasons a push failed, for PushError.Reason, history entries and metrics.
const (
	PushUnregistered    = "unregistered"     // the token is no longer valid: delete it
	PushInvalidArgument = "invalid_argument" // the request was refused: do not retry
	PushQuotaExceeded   = "quota_exceeded"   // rate limited: retry after a delay
	PushUnavailable     = "unavailable"      // provider overloaded: retry after a delay
	PushInternal        = "internal"         // provider error: retry after a delay
	PushSenderMismatch  = "sender_mismatch"  // the token belongs to another project
	PushAuth            = "auth"             // APNs or web-push credentials refused
	PushOther           = "other"            // anything else: network, unknown codes
)

// PushError is a failed push as a Pusher classifies it.
type PushError struct {
	Reason string
	// Retry reports that the same push may succeed later; RetryAfter is the provider's
	// requested delay, when it named one.
	Retry      bool
	RetryAfter time.Duration
	Err        error
}

func (e *PushError) Error() string { return fmt.Sprintf("push %s: %v", e.Reason, e.Err) }

// Unwrap returns the provider's error.
func (e *PushError) Unwrap() error { return e.Err }
