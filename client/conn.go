package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/chatchat/chatchat/chat"
)

// WebSocket close codes of the protocol (docs/protocol.md).
const (
	CloseNormal       = 1000 // the client or server ended the session
	CloseGoingAway    = 1001 // the server is shutting down: reconnect and RESUME
	CloseUnsupported  = 1003 // a binary frame was sent
	ClosePolicy       = 1008 // a frame broke the protocol (bad JSON, unknown type)
	CloseTooBig       = 1009 // a frame over the server's size limit
	CloseUnauthorized = 4001 // the token expired or was revoked during the session
	CloseForbidden    = 4003 // an administrator suspended the user
	CloseSlowConsumer = 4008 // the client did not read fast enough
	CloseRateLimited  = 4029 // the client sent too many frames
)

const (
	// writeTimeout bounds a write whose context has no deadline, so that a dead peer
	// cannot block a sender forever.
	writeTimeout = 10 * time.Second
	// maxMessage bounds a frame read from the server. A message with media is well under
	// this; a bigger frame means a broken or hostile server.
	maxMessage = 1 << 20
)

// ErrClosed is the error of a send on a closed Conn, and Conn.Err after the caller closed it.
var ErrClosed = errors.New("client: connection closed")

// CloseError is why the server ended a connection: the close code and reason of its close
// frame.
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("client: server closed the connection: %d %s", e.Code, e.Reason)
}

// Conn is one WebSocket connection to the chat server. Its sends are safe for concurrent
// use. A reader goroutine feeds Events, and a heartbeat goroutine sends HEART_BEAT at the
// Client's interval; Close stops both and waits for them.
type Conn struct {
	nc net.Conn
	// token is the access token the connection was opened with.
	token  string
	events chan Event
	done   chan struct{} // closed when the connection is finished, by either side
	stop   sync.Once
	wg     sync.WaitGroup
	// closing is set by Close before its close frame goes out: whatever ends the
	// connection after that (the server's answer, its hang-up) is the caller's close.
	closing atomic.Bool

	// wmu serialises frames on the socket: the caller's sends, heartbeats, and the
	// reader's replies to ping and close frames.
	wmu sync.Mutex

	errMu sync.Mutex
	err   error
}

// Connect opens a WebSocket connection (GET /ws) with the Client's access token in the
// Authorization header. A 401 before the upgrade refreshes the tokens once and dials again;
// other refusals are an *APIError. The
// connection does not use the Client's http.Client: it dials with net.Dialer, and TLS for
// wss:// with the default configuration.
func (c *Client) Connect(ctx context.Context) (*Conn, error) {
	token := c.accessToken()
	conn, err := c.dial(ctx, token)
	var apiErr *APIError
	// Any 401, not only token_expired: the chat server may answer a plain "unauthorized"
	// for an expired token, and a refresh that fails costs one request.
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusUnauthorized && c.Tokens().RefreshToken != "" {
		if rerr := c.refreshAfter(ctx, token); rerr != nil {
			return nil, fmt.Errorf("client: connect: %w", rerr)
		}
		conn, err = c.dial(ctx, c.accessToken())
	}
	return conn, err
}

// wsURL turns the base URL into the WebSocket endpoint's URL.
func (c *Client) wsURL() string {
	u := c.base
	switch {
	case strings.HasPrefix(u, "https://"):
		u = "wss://" + strings.TrimPrefix(u, "https://")
	case strings.HasPrefix(u, "http://"):
		u = "ws://" + strings.TrimPrefix(u, "http://")
	}
	return u + "/ws"
}

func (c *Client) dial(ctx context.Context, token string) (*Conn, error) {
	var refused *APIError
	d := ws.Dialer{
		Header: ws.HandshakeHeaderHTTP(http.Header{"Authorization": {"Bearer " + token}}),
		OnStatusError: func(status int, _ []byte, resp io.Reader) {
			// The server answers a refused upgrade with the API's error shape; read it
			// so that the caller sees the code (token_expired, invalid_token...).
			r, err := http.ReadResponse(bufio.NewReader(resp), nil)
			if err != nil {
				refused = &APIError{Status: status, Message: http.StatusText(status)}
				return
			}
			refused = readAPIError(r)
		},
	}
	nc, br, _, err := d.Dial(ctx, c.wsURL())
	if err != nil {
		if refused != nil {
			return nil, fmt.Errorf("client: connect: %w", refused)
		}
		return nil, fmt.Errorf("client: connect: %w", err)
	}
	var src io.Reader = nc
	if br != nil {
		// br holds bytes the server sent right after the handshake, and reads on from
		// nc once they are used up.
		src = br
	}
	conn := &Conn{nc: nc, token: token, events: make(chan Event, c.eventBuf), done: make(chan struct{})}
	conn.wg.Add(1)
	go conn.readLoop(src)
	if c.heartbeat > 0 {
		conn.wg.Add(1)
		go conn.heartbeatLoop(c.heartbeat)
	}
	return conn, nil
}

// Events returns the events the server sends, in order. The channel is closed when the
// connection ends; Err then says why.
func (c *Conn) Events() <-chan Event { return c.events }

// Done is closed when the connection has ended, by either side.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended: a *CloseError when the server closed it, ErrClosed
// when the caller did, or the read or write error. It is nil while the connection is open.
func (c *Conn) Err() error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return c.err
}

// CloseCode returns the close code of err when it is (or wraps) a *CloseError, else 0.
func CloseCode(err error) int {
	var ce *CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return 0
}

// Close sends a normal close frame, closes the socket, and waits for the connection's
// goroutines to finish. It is safe to call more than once.
func (c *Conn) Close() error {
	c.closing.Store(true)
	select {
	case <-c.done:
	default:
		c.wmu.Lock()
		_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
		// A failed close frame changes nothing: the socket is closed next anyway.
		_ = ws.WriteFrame(c.nc, ws.MaskFrameInPlace(ws.NewCloseFrame(
			ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))))
		c.wmu.Unlock()
	}
	c.finish(ErrClosed)
	c.wg.Wait()
	return nil
}

// finish records why the connection ended (the first reason wins) and closes the socket,
// which unblocks the reader.
func (c *Conn) finish(err error) {
	if c.closing.Load() {
		err = ErrClosed
	}
	c.stop.Do(func() {
		c.errMu.Lock()
		c.err = err
		c.errMu.Unlock()
		close(c.done)
		_ = c.nc.Close()
	})
}

func (c *Conn) readLoop(src io.Reader) {
	defer c.wg.Done()
	defer close(c.events)
	ctl := wsutil.ControlFrameHandler(lockedWriter{c}, ws.StateClientSide)
	rd := &wsutil.Reader{
		Source:         src,
		State:          ws.StateClientSide,
		CheckUTF8:      true,
		MaxMessageSize: maxMessage,
		OnIntermediate: ctl,
	}
	for {
		hdr, err := rd.NextFrame()
		if err != nil {
			c.finish(readError(err))
			return
		}
		if hdr.OpCode.IsControl() {
			if err := ctl(hdr, rd); err != nil {
				c.finish(readError(err))
				return
			}
			continue
		}
		if hdr.OpCode != ws.OpText {
			// The protocol has text frames only; a binary one is ignored, not fatal.
			if err := rd.Discard(); err != nil {
				c.finish(readError(err))
				return
			}
			continue
		}
		b, err := io.ReadAll(rd)
		if err != nil {
			c.finish(readError(err))
			return
		}
		var ev Event
		if err := json.Unmarshal(b, &ev); err != nil || ev.Type == "" {
			c.finish(fmt.Errorf("client: bad frame from server: %.100q", b))
			return
		}
		select {
		case c.events <- ev:
		case <-c.done:
			return
		}
	}
}

// readError turns the close frame's error into a *CloseError.
func readError(err error) error {
	var ce wsutil.ClosedError
	if errors.As(err, &ce) {
		return &CloseError{Code: int(ce.Code), Reason: ce.Reason}
	}
	return fmt.Errorf("client: read: %w", err)
}

// heartbeatLoop sends HEART_BEAT at once, since a connection alone does not make the user
// online, and then at every interval.
func (c *Conn) heartbeatLoop(every time.Duration) {
	defer c.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := c.Heartbeat(context.Background()); err != nil {
			if !errors.Is(err, ErrClosed) {
				// A socket that cannot take a heartbeat is dead; end it so that the
				// reader and the caller learn of it now.
				c.finish(err)
			}
			return
		}
		select {
		case <-c.done:
			return
		case <-t.C:
		}
	}
}

// lockedWriter writes the reader's control replies under the write lock.
type lockedWriter struct{ c *Conn }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.c.wmu.Lock()
	defer w.c.wmu.Unlock()
	_ = w.c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	return w.c.nc.Write(p)
}

// Send writes one frame of the given type. The typed methods below are the protocol's
// frames; Send is for what they do not cover.
func (c *Conn) Send(ctx context.Context, typ string, data any) error {
	if data == nil {
		data = struct{}{}
	}
	b, err := json.Marshal(frame{Type: typ, Data: data})
	if err != nil {
		return fmt.Errorf("client: encode %s: %w", typ, err)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	select {
	case <-c.done:
		return ErrClosed
	default:
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(writeTimeout)
	}
	_ = c.nc.SetWriteDeadline(deadline)
	// A cancelled context interrupts the write by moving the deadline to the past.
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = c.nc.SetWriteDeadline(time.Unix(1, 0))
		close(fired)
	})
	err = wsutil.WriteClientText(c.nc, b)
	if !stop() {
		<-fired
	}
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		err = fmt.Errorf("client: send %s: %w", typ, err)
		// Part of a frame may be on the wire: nothing sent after it would parse.
		c.finish(err)
		return err
	}
	return nil
}

// Heartbeat sends HEART_BEAT: the user is online for 60 s more. The server answers
// HEART_BEAT_ACK.
func (c *Conn) Heartbeat(ctx context.Context) error {
	return c.Send(ctx, chat.EventHeartBeat, struct{}{})
}

// Focus sends ROOM_FOCUSED: the user is viewing the room, and its new messages count as
// read for them.
func (c *Conn) Focus(ctx context.Context, roomID string) error {
	return c.Send(ctx, chat.EventRoomFocused, roomData{RoomID: roomID})
}

// Unfocus sends ROOM_UNFOCUSED: the user no longer views the room.
func (c *Conn) Unfocus(ctx context.Context, roomID string) error {
	return c.Send(ctx, chat.EventRoomUnfocused, roomData{RoomID: roomID})
}

// Typing sends TYPING; the room's other members receive it.
func (c *Conn) Typing(ctx context.Context, roomID string) error {
	return c.Send(ctx, chat.EventTyping, roomData{RoomID: roomID})
}

// Delivered sends DELIVERED: the room's messages up to seq reached this device. The room's
// members receive DELIVERY_RECEIPT_UPDATED (coalesced by the server per member).
func (c *Conn) Delivered(ctx context.Context, roomID string, seq int64) error {
	return c.Send(ctx, chat.EventDelivered, deliveredData{RoomID: roomID, Seq: seq})
}

// Auth sends AUTH: the connection lives on until accessToken expires, a fresh token of the
// same user (the server answers AUTH_OK with the new expiry). Without it the server closes
// the connection with 4001 when the token it was opened with expires. A Session renews by
// itself.
func (c *Conn) Auth(ctx context.Context, accessToken string) error {
	return c.Send(ctx, chat.EventAuth, authData{AccessToken: accessToken})
}

// Resume sends RESUME: the server sends every message of each room after the given seq,
// then live ones.
func (c *Conn) Resume(ctx context.Context, rooms map[string]int64) error {
	if rooms == nil {
		rooms = map[string]int64{}
	}
	return c.Send(ctx, chat.EventResume, resumeData{Rooms: rooms})
}

// ResumeRevs sends RESUME with revs: after the messages after each room's seq, the server
// sends MESSAGE_UPDATED for the older messages of the rooms in revs changed after the
// given rev.
func (c *Conn) ResumeRevs(ctx context.Context, rooms, revs map[string]int64) error {
	if rooms == nil {
		rooms = map[string]int64{}
	}
	if revs == nil {
		revs = map[string]int64{}
	}
	return c.Send(ctx, chat.EventResume, resumeData{Rooms: rooms, Revs: revs})
}
