package testenv

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// AuthGate is a relay in front of a MongoDB-wire server that checks logins, for tests of a
// password rotation: FerretDB as tools/ferret embeds it accepts any password, so the gate
// refuses a PLAIN saslStart whose password is not the current one, with the answer a server
// gives to a wrong password (AuthenticationFailed, code 18). Everything else passes through
// untouched, so the driver's real login and error paths run.
type AuthGate struct {
	// URI is the gate as a mongodb:// URI without credentials, asking for the PLAIN
	// mechanism (the only one the gate reads).
	URI string

	ln       net.Listener
	upstream string
	password atomic.Pointer[string]
	refused  atomic.Int64

	mu    sync.Mutex
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

// StartAuthGate starts a gate in front of srv that accepts the password given, until
// SetPassword changes it; it stops when tb ends.
func StartAuthGate(tb testing.TB, srv *MongoServer, password string) *AuthGate {
	tb.Helper()
	u, err := url.Parse(srv.URI)
	if err != nil || u.Host == "" {
		tb.Fatalf("testenv: auth gate: upstream URI %q: %v", srv.URI, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("testenv: auth gate: %v", err)
	}
	g := &AuthGate{
		URI:      "mongodb://" + ln.Addr().String() + "/?authMechanism=PLAIN&retryWrites=false&directConnection=true",
		ln:       ln,
		upstream: u.Host,
		conns:    map[net.Conn]bool{},
	}
	g.password.Store(&password)
	g.wg.Go(g.accept)
	tb.Cleanup(g.stop)
	return g
}

// SetPassword changes the password the gate accepts, as a rotation changes the user's;
// logins already made stay valid, as they do on the server.
func (g *AuthGate) SetPassword(p string) { g.password.Store(&p) }

// Refused returns how many logins the gate has refused.
func (g *AuthGate) Refused() int64 { return g.refused.Load() }

// DropConnections closes every open connection, as a failover or a network blip does, so
// that the client has to connect, and log in, again.
func (g *AuthGate) DropConnections() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for c := range g.conns {
		_ = c.Close()
	}
}

func (g *AuthGate) stop() {
	_ = g.ln.Close()
	g.DropConnections()
	g.wg.Wait()
}

func (g *AuthGate) accept() {
	for {
		c, err := g.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", g.upstream)
		if err != nil {
			_ = c.Close()
			continue
		}
		g.mu.Lock()
		g.conns[c], g.conns[up] = true, true
		g.mu.Unlock()
		g.wg.Go(func() { g.relay(c, up) })
	}
}

// relay passes one client's messages on, answering a refused login itself. MongoDB's
// protocol is request and response, so the gate's answer never interleaves with the
// server's; the lock only keeps the two writers' bytes apart.
func (g *AuthGate) relay(client, up net.Conn) {
	defer func() {
		_ = client.Close()
		_ = up.Close()
		g.mu.Lock()
		delete(g.conns, client)
		delete(g.conns, up)
		g.mu.Unlock()
	}()
	var wmu sync.Mutex
	var down sync.WaitGroup
	down.Go(func() {
		_, _ = io.Copy(lockedWriter{&wmu, client}, up)
		_ = client.Close()
	})
	defer down.Wait()
	for {
		msg, err := readMessage(client)
		if err != nil {
			_ = up.Close()
			return
		}
		if reply := g.check(msg); reply != nil {
			g.refused.Add(1)
			wmu.Lock()
			_, err = client.Write(reply)
			wmu.Unlock()
		} else {
			_, err = up.Write(msg)
		}
		if err != nil {
			_ = up.Close()
			return
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// readMessage reads one wire message: a 16-byte header whose first field is the length.
func readMessage(r io.Reader) ([]byte, error) {
	var hdr [16]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := int(binary.LittleEndian.Uint32(hdr[:4]))
	if n < 16 || n > 48<<20 {
		return nil, fmt.Errorf("message length %d", n)
	}
	msg := make([]byte, n)
	copy(msg, hdr[:])
	_, err := io.ReadFull(r, msg[16:])
	return msg, err
}

const opMsg = 2013

// check returns the refusal to send for a PLAIN saslStart with the wrong password, or nil
// to let msg through.
func (g *AuthGate) check(msg []byte) []byte {
	if binary.LittleEndian.Uint32(msg[12:16]) != opMsg || len(msg) < 21 || msg[20] != 0 {
		return nil // not an OP_MSG whose first section is the command body
	}
	body := bson.Raw(msg[21:])
	if err := body.Validate(); err != nil {
		return nil
	}
	elems, err := body.Elements()
	if err != nil || len(elems) == 0 || elems[0].Key() != "saslStart" {
		return nil
	}
	if mech, _ := body.Lookup("mechanism").StringValueOK(); mech != "PLAIN" {
		return nil
	}
	_, payload, _ := body.Lookup("payload").BinaryOK()
	// PLAIN's payload is authzid NUL authcid NUL password.
	parts := bytes.Split(payload, []byte{0})
	if len(parts) == 3 && string(parts[2]) == *g.password.Load() {
		return nil
	}
	reply, err := bson.Marshal(bson.D{
		{Key: "ok", Value: 0.0},
		{Key: "errmsg", Value: "Authentication failed."},
		{Key: "code", Value: int32(18)},
		{Key: "codeName", Value: "AuthenticationFailed"},
	})
	if err != nil {
		panic(errors.New("testenv: auth gate: marshal refusal"))
	}
	out := make([]byte, 21, 21+len(reply))
	binary.LittleEndian.PutUint32(out[0:], uint32(21+len(reply)))
	binary.LittleEndian.PutUint32(out[4:], 1)                                    // requestID
	binary.LittleEndian.PutUint32(out[8:], binary.LittleEndian.Uint32(msg[4:8])) // responseTo
	binary.LittleEndian.PutUint32(out[12:], opMsg)
	// flagBits 0, then section kind 0 (the body)
	return append(out, reply...)
}
