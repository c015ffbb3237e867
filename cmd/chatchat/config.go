package main

import (
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chatchat/chatchat/media"
)

// settings collects every setting of `chatchat serve`. Each is a flag and an environment
// variable (CHATCHAT_ + the flag name in upper snake case); the flag wins.
type settings struct {
	Addr            string
	DataDir         string
	Roles           string
	RedisURL        string
	RedisPassword   string
	RedisCluster    bool
	MongoURI        string
	MongoDatabase   string
	MongoUsername   string
	MongoPassword   string
	MongoSecretARN  string
	JWTSecret       string
	PublicURL       string
	WSPublicURL     string
	LogLevel        string
	LogFormat       string
	AllowedOrigins  string
	TrustProxy      bool
	ShutdownTimeout time.Duration
	PprofAddr       string

	MaxBodyBytes   int64
	MaxTextRunes   int
	MaxFrameBytes  int
	SendQueue      int
	SendQueueBytes int
	WriteLinger    time.Duration
	WSDeflate      bool
	GzipMinBytes   int
	MaxRoomSize    int

	HTTPReadTimeout  time.Duration
	HTTPWriteTimeout time.Duration
	HTTPIdleTimeout  time.Duration

	WSPingInterval  time.Duration
	WSIdleTimeout   time.Duration
	WSSweepInterval time.Duration

	SignupPerMinute     float64
	LoginPerMinute      float64
	SendPerSecond       float64
	RoomsPerMinute      float64
	MaxDevices          int
	FramesPerSecond     float64
	Argon2MemoryKiB     int
	Argon2Iterations    int
	AccessTokenTTL      time.Duration
	RefreshTokenTTL     time.Duration
	PresenceTTL         time.Duration
	RedisKeyPrefix      string
	BusMode             string
	BusReleaseDelay     time.Duration
	NodeID              string
	BodyLimitMedia      int64
	S3Bucket            string
	S3Prefix            string
	S3Region            string
	S3Endpoint          string
	S3PathStyle         bool
	MediaURLTTL         time.Duration
	MediaTypes          string
	MediaMaxPixels      int64
	MediaDecodeBytes    int64
	MediaUploadsPerHour int
	MediaMaxUserBytes   int64
	FCMCredentials      string
	FCMCredentialsJSON  string
	FCMEndpoint         string
	NotifyConcurrency   int
	FCMProjectID        string
	PushClaimTimeout    time.Duration

	OutboxRelayInterval time.Duration
	RetentionDays       int
	ReactionWindow      time.Duration
	RetentionInterval   time.Duration
	OutboxRelayAge      time.Duration
	// FaultExitAfterStore makes the process exit right after storing a message, before
	// publishing it: what a crash there does, for the outbox's end-to-end test.
	FaultExitAfterStore bool

	// unknownEnv are the CHATCHAT_ variables of the environment that no setting reads;
	// serve names them in a warning.
	unknownEnv []string
}

// flagSet registers every setting on a FlagSet with its built-in default; applyEnv then
// overrides from the environment, and Parse from the command line.
func (s *settings) flagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	str := func(p *string, name, def, usage string) { fs.StringVar(p, name, def, usage+envNote(name)) }
	num := func(p *int, name string, def int, usage string) { fs.IntVar(p, name, def, usage+envNote(name)) }
	num64 := func(p *int64, name string, def int64, usage string) { fs.Int64Var(p, name, def, usage+envNote(name)) }
	flt := func(p *float64, name string, def float64, usage string) {
		fs.Float64Var(p, name, def, usage+envNote(name))
	}
	dur := func(p *time.Duration, name string, def time.Duration, usage string) {
		fs.DurationVar(p, name, def, usage+envNote(name))
	}
	boolean := func(p *bool, name string, def bool, usage string) { fs.BoolVar(p, name, def, usage+envNote(name)) }

	str(&s.Addr, "addr", "127.0.0.1:8080", "listen address: API, WebSocket and web client on one port")
	str(&s.DataDir, "data-dir", "./data", "embedded storage, local media and generated secrets")
	str(&s.Roles, "roles", "api,ws,notify", "comma list of roles this process runs: api, ws, notify")
	str(&s.RedisURL, "redis-url", "", "use Redis for events and presence, e.g. redis://host:6379/0 (default in-process)")
	str(&s.RedisPassword, "redis-password", "", "Redis AUTH password (the ElastiCache auth token), added to --redis-url (prefer the environment variable)")
	boolean(&s.RedisCluster, "redis-cluster", false, "--redis-url is a node of a Redis Cluster (name more with addr= parameters, e.g. redis://n1:6379?addr=n2:6379); needs --bus-mode room, and presence keys get hash tags (user:{id}:status)")
	str(&s.MongoURI, "mongo-uri", "", "use MongoDB / DocumentDB for storage (default embedded SQLite)")
	str(&s.MongoDatabase, "mongo-database", "chatchat", "MongoDB database name")
	str(&s.MongoUsername, "mongo-username", "", "MongoDB user, added to --mongo-uri (on AWS from the DocumentDB secret)")
	str(&s.MongoPassword, "mongo-password", "", "MongoDB password, added to --mongo-uri (prefer the environment variable)")
	str(&s.MongoSecretARN, "mongo-secret-arn", "", "AWS Secrets Manager secret (JSON with username and password) read again when a login is refused, so that a rotated password needs no restart; also the first login when --mongo-username and --mongo-password are unset")
	str(&s.JWTSecret, "jwt-secret", "", "token signing key; required with any external service (default generated once in the data dir)")
	str(&s.PublicURL, "public-url", "", "the URL clients use to reach this server, put before signed media links (default: links relative to this server)")
	str(&s.WSPublicURL, "ws-public-url", "", "where the web client opens its WebSocket, when chat servers have another host than the API (e.g. wss://chat.example.com/ws; default the page's own origin)")
	str(&s.LogLevel, "log-level", "info", "debug, info, warn or error")
	str(&s.LogFormat, "log-format", "auto", "text, json, or auto (text on a terminal, JSON otherwise)")
	str(&s.AllowedOrigins, "allowed-origins", "", "comma list of Origins allowed to open WebSockets (default the server's own host)")
	boolean(&s.TrustProxy, "trust-proxy", false, "take client addresses from X-Forwarded-For (behind a load balancer)")
	dur(&s.ShutdownTimeout, "shutdown-timeout", 25*time.Second, "how long a stopping server waits for requests and sockets to finish")
	str(&s.PprofAddr, "pprof-addr", "", "serve Go's profiles (net/http/pprof, /debug/pprof/) on this address of their own, never the public one, e.g. 127.0.0.1:6060; keep it loopback or private: profiles show memory and code (default off)")

	num64(&s.MaxBodyBytes, "max-body-bytes", 1<<20, "largest JSON request body")
	num(&s.MaxTextRunes, "max-text", 4000, "longest message text, in characters")
	num(&s.MaxFrameBytes, "max-frame-bytes", 64<<10, "largest WebSocket frame a client may send")
	num(&s.SendQueue, "send-queue", 4096, "frames queued per WebSocket before the client counts as too slow and is dropped (a cap beside --send-queue-bytes)")
	num(&s.SendQueueBytes, "send-queue-bytes", 1<<20, "bytes queued per WebSocket before the client counts as too slow and is dropped")
	dur(&s.WriteLinger, "write-linger", 20*time.Millisecond, "least time between two writes to one WebSocket, so that frames arriving meanwhile share one write; the first frame after a quiet spell goes at once (negative = write every frame at once)")
	boolean(&s.WSDeflate, "ws-deflate", false, "offer WebSocket permessage-deflate (no context takeover: each event compressed once for every client that asks); frames a third smaller for about 6 µs of CPU per event")
	num(&s.GzipMinBytes, "gzip-min-bytes", 1024, "gzip API JSON answers of at least this many bytes for clients that accept gzip (negative = never)")
	dur(&s.WSPingInterval, "ws-ping-interval", 25*time.Second, "a WebSocket silent this long is pinged")
	dur(&s.WSIdleTimeout, "ws-idle-timeout", 60*time.Second, "a WebSocket silent this long (no frame, no pong) is closed as dead")
	dur(&s.HTTPReadTimeout, "http-read-timeout", 2*time.Minute, "longest time to read one request, body included (a 20 MiB upload at 175 kB/s); a body trickled slower is cut")
	dur(&s.HTTPWriteTimeout, "http-write-timeout", 2*time.Minute, "longest time to write one answer (not WebSockets, which bound each write themselves)")
	dur(&s.HTTPIdleTimeout, "http-idle-timeout", 2*time.Minute, "how long an idle keep-alive connection stays open")
	dur(&s.WSSweepInterval, "ws-sweep-interval", 5*time.Second, "how often idle and dead WebSockets, and those whose access token expired or whose session ended, are looked for (at most 5s)")
	num(&s.MaxRoomSize, "max-room-members", 10000, "largest group room")

	flt(&s.SignupPerMinute, "rate-signup", 20, "sign-ups per minute per client address (0 = unlimited)")
	flt(&s.LoginPerMinute, "rate-login", 30, "login and refresh attempts per minute per client address and per username (0 = unlimited)")
	flt(&s.SendPerSecond, "rate-send", 20, "messages per second per user (0 = unlimited)")
	flt(&s.RoomsPerMinute, "rate-rooms", 30, "rooms created plus member additions per minute per user, per API process (0 = unlimited)")
	num(&s.MaxDevices, "max-devices", 20, "push tokens kept per user; registering one more drops the oldest")
	flt(&s.FramesPerSecond, "rate-frames", 20, "WebSocket frames per second per connection (0 = unlimited)")
	num(&s.Argon2MemoryKiB, "argon2-memory", 19*1024, "argon2id memory per password hash, KiB")
	num(&s.Argon2Iterations, "argon2-iterations", 2, "argon2id iterations per password hash")
	dur(&s.AccessTokenTTL, "access-token-ttl", 15*time.Minute, "access token lifetime")
	dur(&s.RefreshTokenTTL, "refresh-token-ttl", 30*24*time.Hour, "refresh token lifetime")
	dur(&s.PresenceTTL, "presence-ttl", 60*time.Second, "how long a heartbeat keeps a user online")
	str(&s.RedisKeyPrefix, "redis-prefix", "", "prefix for every Redis key and channel (to share one Redis between deployments)")
	str(&s.BusMode, "bus-mode", busGlobal, "how events travel between nodes over Redis: global (every node hears every event on one channel) or room (sharded Pub/Sub, Redis 7: a node hears the rooms and users it holds sessions of)")
	dur(&s.BusReleaseDelay, "bus-release-delay", 30*time.Second, "with --bus-mode room: how long a node keeps hearing a room or user after its last session there left, so that reconnecting clients find it still heard")
	str(&s.NodeID, "node-id", "", "this process's id in events and logs (default random)")
	num64(&s.BodyLimitMedia, "max-media-bytes", 20<<20, "largest media upload")
	str(&s.S3Bucket, "s3-bucket", "", "store media in this S3 bucket (default the data dir)")
	str(&s.S3Prefix, "s3-prefix", "media/", "key prefix in the S3 bucket")
	str(&s.S3Region, "s3-region", "", "S3 region (default from the AWS environment)")
	str(&s.S3Endpoint, "s3-endpoint", "", "S3-compatible endpoint URL (default AWS)")
	boolean(&s.S3PathStyle, "s3-path-style", false, "path-style S3 URLs, for S3-compatible servers")
	dur(&s.MediaURLTTL, "media-url-ttl", time.Hour, "lifetime of signed media URLs")
	str(&s.MediaTypes, "media-types", "", "comma list of accepted media content types, as sniffed from the bytes (default images, PDF, text, zip and office documents)")
	num64(&s.MediaMaxPixels, "media-max-pixels", 50_000_000, "largest image accepted, width × height (bigger ones are refused before decoding)")
	num(&s.MediaUploadsPerHour, "media-uploads-per-hour", media.DefaultUploadsPerHour, "uploads per user in any hour, counted in the store across API processes; 429 upload_quota over it (0 = unlimited)")
	num64(&s.MediaMaxUserBytes, "media-max-user-bytes", media.DefaultMaxUserBytes, "bytes of all the media one user keeps; 413 storage_quota over it (0 = unlimited)")
	num64(&s.MediaDecodeBytes, "media-max-decode-bytes", media.DefaultMaxDecodeBytes, "memory that decoding one image and making its thumbnail may take, estimated from its header (bigger ones are refused before decoding); at most two images are decoded at once")
	str(&s.FCMCredentials, "fcm-credentials", "", "Firebase service-account JSON file; enables FCM push (default: pushes are logged)")
	str(&s.FCMCredentialsJSON, "fcm-credentials-json", "", "the Firebase service-account JSON itself, instead of --fcm-credentials (a secret store's variable; prefer the environment variable)")
	str(&s.FCMEndpoint, "fcm-endpoint", "", "FCM API base URL instead of https://fcm.googleapis.com/v1 (an emulator or test server; without --fcm-credentials requests are unauthenticated)")
	num(&s.NotifyConcurrency, "notify-concurrency", 8, "pushes sent at once by a notification process")
	str(&s.FCMProjectID, "fcm-project-id", "", "Firebase project of the pushes (default the credentials file's project_id)")
	dur(&s.PushClaimTimeout, "push-claim-timeout", 2*time.Minute, "how long a push job may stay unacknowledged before another notification process takes it over")
	dur(&s.OutboxRelayInterval, "outbox-relay-interval", 2*time.Second, "how often an API process publishes stored messages whose publishing did not finish (the outbox)")
	dur(&s.OutboxRelayAge, "outbox-relay-age", 5*time.Second, "how long a stored message may stay unpublished before the outbox relay publishes it")
	dur(&s.ReactionWindow, "reaction-window", 100*time.Millisecond, "how long a reaction's MESSAGE_UPDATED waits so that one event carries all the reactions to a message in that time (0: each at once)")
	num(&s.RetentionDays, "retention-days", 0, "days that rooms without a retention of their own keep messages (pinned ones stay); 0 keeps them forever")
	dur(&s.RetentionInterval, "retention-interval", 10*time.Minute, "how often an API process deletes the messages that retention no longer keeps")
	boolean(&s.FaultExitAfterStore, "fault-exit-after-store", false, "testing only: exit at once after storing a message, before publishing it, as a crash there would")
	return fs
}

func envNote(flagName string) string { return " [$" + envName(flagName) + "]" }

func envName(flagName string) string {
	return "CHATCHAT_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// envNames returns the environment variable of every setting.
func (s *settings) envNames() []string {
	var names []string
	s.flagSet("").VisitAll(func(f *flag.Flag) { names = append(names, envName(f.Name)) })
	return names
}

// unknownEnv returns, sorted, the CHATCHAT_ variables of env that no flag of fs reads: a
// typo, or a deployment ahead of (or behind) the binary, which would otherwise go unseen.
func unknownEnv(fs *flag.FlagSet, env map[string]string) []string {
	var out []string
	for k := range env {
		if strings.HasPrefix(k, "CHATCHAT_") && fs.Lookup(flagName(k)) == nil {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// flagName is envName's inverse.
func flagName(env string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(env, "CHATCHAT_"), "_", "-"))
}

// applyEnv sets every flag whose environment variable is set, with the flag's own parser,
// so that a malformed value is an error rather than a silent default.
func applyEnv(fs *flag.FlagSet, env map[string]string) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		v, ok := env[envName(f.Name)]
		if !ok || v == "" || err != nil {
			return
		}
		if e := fs.Set(f.Name, v); e != nil {
			err = fmt.Errorf("%s=%q: %w", envName(f.Name), v, e)
		}
	})
	return err
}

// The values of --bus-mode.
const (
	busGlobal = "global"
	busRoom   = "room"
)

// busMode checks --bus-mode.
func (s *settings) busMode() (string, error) {
	switch s.BusMode {
	case busGlobal, "":
		if s.RedisCluster {
			// PUBLISH on a cluster reaches every node of it: the global mode's cost twice.
			return "", fmt.Errorf("--redis-cluster needs --bus-mode room")
		}
		return busGlobal, nil
	case busRoom:
		if s.RedisURL == "" {
			return "", fmt.Errorf("--bus-mode room needs --redis-url: the in-process bus has one node")
		}
		return busRoom, nil
	default:
		return "", fmt.Errorf("--bus-mode %q: want global or room", s.BusMode)
	}
}

// roles parses --roles.
func (s *settings) roles() (map[string]bool, error) {
	out := map[string]bool{}
	for _, r := range strings.Split(s.Roles, ",") {
		switch r = strings.TrimSpace(r); r {
		case "api", "ws", "notify":
			out[r] = true
		case "":
		default:
			return nil, fmt.Errorf("unknown role %q (want api, ws or notify)", r)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--roles names no role")
	}
	return out, nil
}
