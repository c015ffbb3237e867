package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"

	"github.com/FerretDB/wire/wirebson"
)

// Wire protocol op codes the relay looks into (MongoDB wire protocol, "Standard Message
// Header" and OP_MSG).
const (
	opMsg = 2013

	// msgMoreToCome on a request means no reply will come (an unacknowledged write); on a
	// reply it means another reply follows without a request (exhaust cursors, streaming
	// hello).
	msgMoreToCome = 1 << 1

	headerLen = 16
	// maxMessage bounds what a peer may make the relay allocate: the server's
	// maxMessageSizeBytes is 48 MB.
	maxMessage = 64 << 20
)

// writeCommands are the commands that modify data or the catalogue. One of them at a time
// reaches FerretDB; everything else passes freely.
var writeCommands = map[string]bool{
	"insert": true, "update": true, "delete": true, "findandmodify": true,
	"bulkwrite": true, "createindexes": true, "dropindexes": true, "create": true,
	"drop": true, "dropdatabase": true, "renamecollection": true, "collmod": true,
}

// relay forwards MongoDB wire messages between clients and FerretDB, one upstream
// connection per client connection, holding a single lock around each write command and
// its reply. Because drivers do not pipeline on a connection, a connection alternates
// request and reply(ies), so the reply that ends a write is always the next one upstream
// sends on that connection.
type relay struct {
	dial   func(ctx context.Context) (net.Conn, error)
	logger *slog.Logger
	// writes serializes write commands across all connections: the atomicity that
	// FerretDB's read-then-replace updates lack. A global write holds it exclusively; with
	// perCollection, a document write (insert, update, delete, findAndModify) holds it
	// shared and its collection's lock exclusively.
	writes sync.RWMutex
	// serialize turns the write lock on; off only to observe FerretDB unguarded.
	serialize bool
	// perCollection narrows the lock of document writes to their collection. FerretDB
	// reads and replaces within the one collection a command names, so writes to different
	// collections cannot lose each other's updates; this lets a backend that takes
	// concurrent writes (PostgreSQL) have them. Catalogue commands stay global.
	perCollection bool
	collMu        sync.Mutex
	colls         map[string]*sync.Mutex
}

func newRelay(dial func(ctx context.Context) (net.Conn, error), logger *slog.Logger) *relay {
	return &relay{dial: dial, logger: logger, serialize: true}
}

// serve accepts connections on ln until ctx is done, then closes ln and every connection
// and waits for their goroutines.
func (r *relay) serve(ctx context.Context, ln net.Listener) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{}
	)
	track := func(c net.Conn, add bool) {
		mu.Lock()
		defer mu.Unlock()
		if add {
			conns[c] = struct{}{}
		} else {
			delete(conns, c)
		}
	}
	wg.Go(func() {
		<-ctx.Done()
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for c := range conns {
			c.Close()
		}
	})
	defer wg.Wait()

	for {
		client, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("relay: accept: %w", err)
		}
		upstream, err := r.dial(ctx)
		if err != nil {
			r.logger.Warn("relay: dial FerretDB", "err", err)
			client.Close()
			continue
		}
		track(client, true)
		track(upstream, true)
		wg.Go(func() {
			defer func() {
				client.Close()
				upstream.Close()
				track(client, false)
				track(upstream, false)
			}()
			if err := r.pump(client, upstream); err != nil && !isClosed(err) {
				r.logger.Debug("relay: connection ended", "err", err)
			}
		})
	}
}

// pump relays one client connection in lockstep: a request, then its replies.
func (r *relay) pump(client, upstream net.Conn) error {
	cr := bufio.NewReader(client)
	ur := bufio.NewReader(upstream)
	for {
		req, err := readMessage(cr)
		if err != nil {
			return fmt.Errorf("read request: %w", err)
		}
		if err := r.exchange(req, upstream, ur, client); err != nil {
			return err
		}
	}
}

// exchange forwards one request and the replies it gets, holding the write lock throughout
// when the request is a write command.
func (r *relay) exchange(req []byte, upstream net.Conn, ur *bufio.Reader, client net.Conn) error {
	if r.serialize && isWrite(req) {
		defer r.lock(req)()
		parts, err := splitCreateIndexes(req)
		if err != nil {
			r.logger.Warn("relay: createIndexes forwarded as it is", "err", err)
		}
		if parts != nil {
			return createEach(parts, upstream, ur, client)
		}
	}
	if _, err := upstream.Write(req); err != nil {
		return fmt.Errorf("forward request: %w", err)
	}
	if flags(req)&msgMoreToCome != 0 {
		return nil // an unacknowledged request: nothing comes back
	}
	for {
		reply, err := readMessage(ur)
		if err != nil {
			return fmt.Errorf("read reply: %w", err)
		}
		if _, err := client.Write(reply); err != nil {
			return fmt.Errorf("forward reply: %w", err)
		}
		if flags(reply)&msgMoreToCome == 0 {
			return nil
		}
	}
}

// lock takes the write lock a write command needs and returns its release.
func (r *relay) lock(req []byte) (unlock func()) {
	if r.perCollection {
		if key, ok := documentWriteTarget(req); ok {
			r.writes.RLock()
			r.collMu.Lock()
			if r.colls == nil {
				r.colls = map[string]*sync.Mutex{}
			}
			m := r.colls[key]
			if m == nil {
				m = new(sync.Mutex)
				r.colls[key] = m
			}
			r.collMu.Unlock()
			m.Lock()
			return func() { m.Unlock(); r.writes.RUnlock() }
		}
	}
	r.writes.Lock()
	return r.writes.Unlock
}

// documentCommands are the write commands that change documents of the one collection
// their first field names.
var documentCommands = map[string]bool{"insert": true, "update": true, "delete": true, "findandmodify": true}

// documentWriteTarget returns "db.collection" for a document write command; false for
// anything else or anything it cannot read, which then takes the global lock.
func documentWriteTarget(msg []byte) (string, bool) {
	body, err := bodySection(msg)
	if err != nil {
		return "", false
	}
	cmd, err := wirebson.RawDocument(body).Decode()
	if err != nil || cmd.Len() == 0 || !documentCommands[asciiLower(cmd.FieldNames()[0])] {
		return "", false
	}
	coll, ok := cmd.Get(cmd.FieldNames()[0]).(string)
	db, ok2 := cmd.Get("$db").(string)
	if !ok || !ok2 || coll == "" {
		return "", false
	}
	return db + "." + coll, true
}

// readMessage reads one length-prefixed wire message.
func readMessage(rd *bufio.Reader) ([]byte, error) {
	var head [4]byte
	if _, err := io.ReadFull(rd, head[:]); err != nil {
		return nil, err
	}
	n := int(int32(binary.LittleEndian.Uint32(head[:])))
	if n < headerLen || n > maxMessage {
		return nil, fmt.Errorf("message length %d out of range", n)
	}
	msg := make([]byte, n)
	copy(msg, head[:])
	if _, err := io.ReadFull(rd, msg[4:]); err != nil {
		return nil, err
	}
	return msg, nil
}

// flags returns an OP_MSG's flag bits, or 0 for other op codes.
func flags(msg []byte) uint32 {
	if len(msg) < headerLen+4 || opCode(msg) != opMsg {
		return 0
	}
	return binary.LittleEndian.Uint32(msg[headerLen:])
}

func opCode(msg []byte) int32 { return int32(binary.LittleEndian.Uint32(msg[12:16])) }

// isWrite reports whether msg is an OP_MSG whose command is a write command. Legacy
// op codes (OP_QUERY for the first handshake) carry no writes from modern drivers.
func isWrite(msg []byte) bool {
	name, err := commandName(msg)
	if err != nil {
		return false
	}
	return writeCommands[asciiLower(name)]
}

// commandName returns the first key of an OP_MSG's body section (kind 0): the command.
// Document sequence sections (kind 1) may come before it and are skipped.
func commandName(msg []byte) (string, error) {
	doc, err := bodySection(msg)
	if err != nil {
		return "", err
	}
	if len(doc) < 6 || doc[4] == 0 {
		return "", errors.New("empty command document")
	}
	for i := 5; i < len(doc); i++ {
		if doc[i] == 0 {
			return string(doc[5:i]), nil
		}
	}
	return "", errors.New("unterminated command name")
}

// bodySection returns an OP_MSG's body (the BSON document of its kind 0 section).
func bodySection(msg []byte) ([]byte, error) {
	if opCode(msg) != opMsg {
		return nil, errors.New("not OP_MSG")
	}
	end := len(msg)
	if flags(msg)&1 != 0 { // checksumPresent: a CRC-32C trails the sections
		end -= 4
	}
	p := headerLen + 4
	for p < end {
		kind := msg[p]
		p++
		if p+4 > end {
			return nil, errors.New("truncated section")
		}
		size := int(int32(binary.LittleEndian.Uint32(msg[p:])))
		if size < 5 || p+size > end {
			return nil, errors.New("bad section size")
		}
		switch kind {
		case 0:
			// A BSON document: int32 length, then elements of type byte, cstring key.
			return msg[p : p+size], nil
		case 1:
			p += size
		default:
			return nil, fmt.Errorf("unknown section kind %d", kind)
		}
	}
	return nil, errors.New("no body section")
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrUnexpectedEOF)
}
