// Package mongo is the storage of the cluster mode: a chat.Store in MongoDB or Amazon
// DocumentDB 5.0, through the official driver go.mongodb.org/mongo-driver/v2.
//
// It is written for the subset the two share (docs/mongodb.md gives the details): no
// transactions, no retryable writes, no collations, no partial indexes, no $lookup, no
// change streams, and TTL indexes only as a help where the server has them (expired
// documents are pruned by the store's callers all the same). Every guarantee rests instead on single-document atomicity and unique
// indexes, and operations that touch several documents order their writes so that a
// failure between two of them leaves either nothing visible or a state that the next call
// repairs.
package mongo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"

	"github.com/chatchat/chatchat/chat"
)

var (
	_ chat.Store  = (*Store)(nil)
	_ chat.Pinger = (*Store)(nil)
	_ io.Closer   = (*Store)(nil)
)

// Collection names.
const (
	colUsers       = "users"
	colTokens      = "refreshTokens"
	colRooms       = "rooms"
	colMemberships = "memberships"
	colMessages    = "messages"
	colClaims      = "sendClaims"
)

// Store is a chat.Store in one MongoDB database. It is safe for concurrent use.
type Store struct {
	// conn is replaced whole when the store logs in again with rotated credentials
	// (login.go); every operation reads it through db() and the collection accessors.
	conn     atomic.Pointer[conn]
	logger   *slog.Logger
	cfg      config
	uri      string
	database string

	login     sync.Mutex // one re-login at a time
	mu        sync.Mutex // guards the fields below, and bg.Add against Close
	lastLogin time.Time
	closed    bool
	bg        sync.WaitGroup // re-logins, and the disconnection of replaced clients
	done      chan struct{}  // closed by Close: ends a re-login in progress
}

// conn is one client, logged in as username.
type conn struct {
	client             *mongo.Client
	db                 *mongo.Database
	username, password string
}

func (s *Store) db() *mongo.Database { return s.conn.Load().db }

func (s *Store) users() *mongo.Collection       { return s.db().Collection(colUsers) }
func (s *Store) tokens() *mongo.Collection      { return s.db().Collection(colTokens) }
func (s *Store) rooms() *mongo.Collection       { return s.db().Collection(colRooms) }
func (s *Store) memberships() *mongo.Collection { return s.db().Collection(colMemberships) }
func (s *Store) messages() *mongo.Collection    { return s.db().Collection(colMessages) }
func (s *Store) claims() *mongo.Collection      { return s.db().Collection(colClaims) }

// Option configures Open.
type Option func(*config)

type config struct {
	logger           *slog.Logger
	selectionTimeout time.Duration
	closeTimeout     time.Duration
	pendingGrace     time.Duration
	credentials      Credentials
	loginInterval    time.Duration
	loginTimeout     time.Duration
}

// WithLogger sets the logger; by default nothing is logged.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithServerSelectionTimeout sets how long an operation waits for a reachable server before
// it fails as unavailable; 3 s by default, so that a request fails fast (with a 503) when
// the database is down rather than hanging for the driver's default 30 s.
func WithServerSelectionTimeout(d time.Duration) Option {
	return func(c *config) { c.selectionTimeout = d }
}

// WithPendingGrace sets how long a retried send waits for a concurrent attempt with the same
// client message id to store the message before it stores it itself; 10 s by default. See
// CreateMessage.
func WithPendingGrace(d time.Duration) Option { return func(c *config) { c.pendingGrace = d } }

// operationTimeout bounds one MongoDB operation whose context sets no deadline.
const operationTimeout = 10 * time.Second

// Open connects to the server at uri, uses database, and creates the indexes the store
// relies on (which makes it wait for the server). Unless the URI sets retryWrites, retryable
// writes are turned off: DocumentDB rejects them and the store never relies on them.
func Open(ctx context.Context, uri, database string, opts ...Option) (*Store, error) {
	cfg := config{}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.selectionTimeout <= 0 {
		cfg.selectionTimeout = 3 * time.Second
	}
	if cfg.closeTimeout <= 0 {
		cfg.closeTimeout = 10 * time.Second
	}
	if cfg.pendingGrace <= 0 {
		cfg.pendingGrace = 10 * time.Second
	}
	if cfg.loginInterval <= 0 {
		cfg.loginInterval = 5 * time.Second
	}
	if cfg.loginTimeout <= 0 {
		cfg.loginTimeout = 10 * time.Second
	}
	if database == "" {
		return nil, errors.New("mongo: open: database name is empty")
	}

	s := &Store{logger: cfg.logger, cfg: cfg, uri: uri, database: database, done: make(chan struct{})}
	c, err := s.connect(nil)
	if err != nil {
		return nil, err
	}
	s.conn.Store(c)
	// Several processes of a deployment start at once and all create the missing
	// indexes; a server that drops a connection in that race (FerretDB does) or is still
	// coming up is retried with back-off rather than failing the start. So is a login
	// refused because the password was rotated after the process read it: the store
	// reads the credentials again first.
	wait := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		used := s.conn.Load()
		err := s.ensureIndexes(ctx)
		if err == nil {
			break
		}
		if attempt == 5 || chat.ErrorKind(err) != chat.Unavailable {
			_ = s.Close()
			return nil, err
		}
		if isAuthFailure(err) && cfg.credentials != nil {
			lctx, cancel := context.WithTimeout(ctx, cfg.loginTimeout)
			lerr := s.relogin(lctx, used)
			cancel()
			if lerr != nil {
				s.logger.Warn("mongo: login refused and reading the credentials again did not help", "err", lerr)
			}
		}
		s.logger.Warn("mongo: creating indexes failed; retrying", "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			_ = s.Close()
			return nil, fmt.Errorf("mongo: open: %w", ctx.Err())
		case <-time.After(wait):
		}
		wait *= 2
	}
	if err := s.backfillOwners(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		s.backfillTokens()
	}()
	s.logger.Debug("mongo store open", "database", database)
	return s, nil
}

// index is one index the store relies on.
type index struct {
	name   string
	keys   bson.D
	unique bool
	// ttl: the one key is an expiry date, and the server may delete documents once it
	// has passed. Servers without TTL indexes (FerretDB) get a plain index instead: the
	// documents are pruned explicitly anyway, and read queries filter on the date.
	ttl bool
}

// ensureIndexes creates every index that is missing, so it runs on every start.
func (s *Store) ensureIndexes(ctx context.Context) error {
	unique := func(name string, keys ...string) index { return index{name, ascending(keys), true, false} }
	plain := func(name string, keys ...string) index { return index{name, ascending(keys), false, false} }
	expiry := func(name, key string) index { return index{name, ascending([]string{key}), false, true} }
	for _, c := range []struct {
		col     *mongo.Collection
		indexes []index
	}{
		{s.users(), []index{
			// Case-insensitive uniqueness without collations, which DocumentDB lacks.
			unique("usernameLower_1", "usernameLower"),
			plain("displayLower_1", "displayLower"),
			// Interrupted erasures and held usernames (userdata.go).
			plain("erasingAt_1", "erasingAt"),
			plain("nameHeld_1", "nameHeld"),
		}},
		{s.tokens(), []index{
			plain("familyId_1", "familyId"),
			// A user's recent tokens: the sessions logout-all ends.
			plain("userId_1_createdAt_1", "userId", "createdAt"),
			expiry("expiresAt_1", "expiresAt"),
			// The tokens whose grace repeat is open: DropSuccessors' scan.
			plain("graceFrom_1", "graceFrom"),
		}},
		{s.db().Collection(colRevocations), []index{expiry("expiresAt_1", "expiresAt")}},
		// Every room has a distinct directKey (group rooms use their own id), so the
		// index needs to be neither partial nor sparse.
		{s.rooms(), []index{unique("directKey_1", "directKey")}},
		{s.memberships(), []index{
			unique("roomId_1_userId_1", "roomId", "userId"),
			plain("userId_1", "userId"),
		}},
		{s.messages(), []index{
			unique("roomId_1_seq_1", "roomId", "seq"),
			unique("senderId_1_idemKey_1", "senderId", "idemKey"),
			// A user's messages in order, for their export and erasure (userdata.go).
			plain("senderId_1__id_1", "senderId", "_id"),
			// The outbox relay's scan (outbox.go); published messages have no pendingAt.
			plain("pendingAt_1", "pendingAt"),
			// The changes feed, the pins of a room, and the relay of changes (changes.go).
			plain("roomId_1_rev_1", "roomId", "rev"),
			plain("roomId_1_pinnedAt_1", "roomId", "pinnedAt"),
			plain("changePendingAt_1", "changePendingAt"),
			// A member's unread mentions: a range of this multikey index (mentions.go).
			plain("roomId_1_mentions_1_seq_1", "roomId", "mentions", "seq"),
			// Search: a room's messages with a word prefix, by id (search.go).
			plain("roomId_1_tokens_1__id_1", "roomId", "tokens", "_id"),
		}},
		{s.reactions(), []index{
			unique("messageId_1_emoji_1_userId_1", "messageId", "emoji", "userId"),
			plain("messageId_1_at_1", "messageId", "at"),
		}},
		{s.claims(), []index{unique("senderId_1_clientMsgId_1", "senderId", "clientMsgId")}},
		// The orphan collector's scan of media no message refers to, and the upload
		// quotas' count of a user's uploads (media.go).
		{s.db().Collection(colMedia), []index{
			plain("attached_1_createdAt_1", "attached", "createdAt"),
			plain("uploaderId_1_createdAt_1", "uploaderId", "createdAt"),
		}},
		// A user's blocks, newest first; who among some users blocks one (blocks.go).
		{s.blocks(), []index{
			{"blockerId_1_createdAt_-1", bson.D{{Key: "blockerId", Value: 1}, {Key: "createdAt", Value: -1}}, false, false},
			plain("blockedId_1_blockerId_1", "blockedId", "blockerId"),
		}},
		// A room's bans in the order they were made (moderation.go).
		{s.bans(), []index{plain("roomId_1_createdAt_1", "roomId", "createdAt")}},
		// Reports by status, newest first; a reporter's reports of the day (reports.go).
		{s.reports(), []index{
			plain("status_1__id_1", "status", "_id"),
			plain("reporterId_1_createdAt_1", "reporterId", "createdAt"),
		}},
		// Push devices by owner; the history's key de-duplicates pushes (devices.go).
		{s.db().Collection(colDevices), []index{plain("userId_1", "userId")}},
		{s.db().Collection(colNotifications), []index{
			unique("messageId_1_token_1", "messageId", "token"),
			plain("userId_1__id_1", "userId", "_id"),
		}},
	} {
		if err := s.createIndexes(ctx, c.col, c.indexes); err != nil {
			return err
		}
	}
	return nil
}

func ascending(keys []string) bson.D {
	d := make(bson.D, 0, len(keys))
	for _, k := range keys {
		d = append(d, bson.E{Key: k, Value: 1})
	}
	return d
}

// createIndexes creates the indexes that col lacks, by name. Asking only for the missing
// ones also keeps away from FerretDB 1.24, which panics when createIndexes names several
// indexes that all exist.
func (s *Store) createIndexes(ctx context.Context, col *mongo.Collection, indexes []index) error {
	what := "create indexes of " + col.Name()
	specs, err := col.Indexes().ListSpecifications(ctx)
	if err != nil {
		return s.fail(ctx, what, err)
	}
	have := map[string]bool{}
	for _, sp := range specs {
		have[sp.Name] = true
	}
	var missing []mongo.IndexModel
	for _, ix := range indexes {
		switch {
		case have[ix.name]:
		case ix.ttl:
			if err := s.createTTLIndex(ctx, col, ix); err != nil {
				return s.fail(ctx, what, err)
			}
		default:
			missing = append(missing, mongo.IndexModel{Keys: ix.keys, Options: options.Index().SetName(ix.name).SetUnique(ix.unique)})
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := col.Indexes().CreateMany(ctx, missing); err != nil {
		return s.fail(ctx, what, err)
	}
	return nil
}

// createTTLIndex creates ix as a TTL index (documents deleted once its date has passed),
// or as a plain one where the server has no TTL indexes.
func (s *Store) createTTLIndex(ctx context.Context, col *mongo.Collection, ix index) error {
	opts := options.Index().SetName(ix.name)
	_, err := col.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: ix.keys, Options: opts.SetExpireAfterSeconds(0)})
	var ce mongo.CommandError
	if errors.As(err, &ce) && (ce.Code == codeNotImplemented || ce.Name == "NotImplemented") {
		s.logger.Debug("mongo: the server has no TTL indexes; expired documents are pruned only", "index", ix.name)
		_, err = col.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: ix.keys, Options: options.Index().SetName(ix.name)})
	}
	return err
}

// codeNotImplemented is the server's error code for a feature it lacks (FerretDB's answer
// to expireAfterSeconds).
const codeNotImplemented = 238

// Close disconnects from the server, waiting at most 10 s for operations in flight. It
// ends a re-login in progress and waits for it.
func (s *Store) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.done)
	}
	s.mu.Unlock()
	s.bg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.closeTimeout)
	defer cancel()
	if err := s.conn.Load().client.Disconnect(ctx); err != nil && !errors.Is(err, mongo.ErrClientDisconnected) {
		return fmt.Errorf("mongo: close: %w", err)
	}
	return nil
}

// Ping reports whether the primary answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.conn.Load().client.Ping(ctx, readpref.Primary()); err != nil {
		return s.fail(ctx, "ping", err)
	}
	return nil
}

// errUnavailable is what callers see when the database cannot be reached: the API maps it
// to 503.
func errUnavailable() *chat.Error {
	return chat.Errorf(chat.Unavailable, "store_unavailable", "the database is unavailable")
}

// fail wraps an error of the driver with context. Failures to reach the server (no server
// selectable, network errors, timeouts) also wrap a chat.Unavailable error; anything else
// stays internal. A cancelled caller is reported as such, not as an outage.
func (s *Store) fail(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("mongo: %s: %w", what, err)
	}
	// A refused login is an outage to the caller (503, retried) while the store reads
	// the rotated credentials and logs in again.
	if isAuthFailure(err) {
		s.reloginSoon()
		return fmt.Errorf("mongo: %s: %w: %w", what, errUnavailable(), err)
	}
	if isUnavailable(err) {
		return fmt.Errorf("mongo: %s: %w: %w", what, errUnavailable(), err)
	}
	return fmt.Errorf("mongo: %s: %w", what, err)
}

func isUnavailable(err error) bool {
	var sse topology.ServerSelectionError
	var ne net.Error
	// A pool cleared because another operation lost its connection (or its login) fails
	// the operations waiting on it at once; the server is as unreachable to them.
	var pce driver.RetryablePoolError
	return errors.As(err, &sse) || mongo.IsTimeout(err) || mongo.IsNetworkError(err) ||
		errors.Is(err, mongo.ErrClientDisconnected) || errors.As(err, &ne) ||
		(errors.As(err, &pce) && pce.Retryable())
}

// Times are kept as BSON dates: millisecond precision, the wire's, and they sort.

func date(t time.Time) bson.DateTime { return bson.NewDateTimeFromTime(t) }

func fromDate(d bson.DateTime) time.Time { return d.Time().UTC() }
