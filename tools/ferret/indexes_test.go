package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/FerretDB/wire"
	"github.com/FerretDB/wire/wirebson"
	"github.com/FerretDB/wire/wireclient"
)

// createIndexes is the command a driver sends for CreateMany, naming the given fields'
// ascending indexes.
func createIndexes(fields ...string) *wire.OpMsg {
	idx := wirebson.MakeArray(len(fields))
	for _, f := range fields {
		_ = idx.Add(wirebson.MustDocument("key", wirebson.MustDocument(f, int32(1)), "name", f+"_1"))
	}
	return wire.MustOpMsg("createIndexes", "c", "indexes", idx, "$db", "test")
}

// request gives an OP_MSG body the header the driver would, with request id 7.
func request(tb testing.TB, body *wire.OpMsg) []byte {
	tb.Helper()
	b, err := body.MarshalBinary()
	if err != nil {
		tb.Fatal(err)
	}
	msg := make([]byte, headerLen, headerLen+len(b))
	binary.LittleEndian.PutUint32(msg[0:], uint32(headerLen+len(b)))
	binary.LittleEndian.PutUint32(msg[4:], 7)
	binary.LittleEndian.PutUint32(msg[12:], opMsg)
	return append(msg, b...)
}

func TestSplitCreateIndexes(t *testing.T) {
	parts, err := splitCreateIndexes(request(t, createIndexes("a", "b", "c")))
	if err != nil || len(parts) != 3 {
		t.Fatalf("split into %d parts, %v; want 3", len(parts), err)
	}
	for i, p := range parts {
		if id := binary.LittleEndian.Uint32(p[4:]); id != 7 {
			t.Errorf("part %d has request id %d, want the request's 7", i, id)
		}
		if n := int(binary.LittleEndian.Uint32(p)); n != len(p) {
			t.Errorf("part %d says length %d, is %d", i, n, len(p))
		}
		body, ok := onlyBody(p)
		if !ok {
			t.Fatalf("part %d is not an OP_MSG with one body", i)
		}
		doc, err := body.DecodeDeep()
		if err != nil {
			t.Fatal(err)
		}
		idx := doc.Get("indexes").(*wirebson.Array)
		if idx.Len() != 1 || idx.Get(0).(*wirebson.Document).Get("name") != string(rune('a'+i))+"_1" {
			t.Errorf("part %d names indexes %v", i, idx)
		}
		if doc.Get("createIndexes") != "c" || doc.Get("$db") != "test" {
			t.Errorf("part %d lost the command's other fields: %v", i, doc)
		}
	}

	for name, msg := range map[string][]byte{
		"one index": request(t, createIndexes("a")),
		"insert":    request(t, wire.MustOpMsg("insert", "c", "documents", wirebson.MustArray(), "$db", "test")),
		"unacknowledged": func() []byte {
			m := request(t, createIndexes("a", "b"))
			binary.LittleEndian.PutUint32(m[headerLen:], msgMoreToCome)
			return m
		}(),
	} {
		if parts, err := splitCreateIndexes(msg); parts != nil || err != nil {
			t.Errorf("%s: split into %d parts, %v; want it forwarded as it is", name, len(parts), err)
		}
	}
}

// TestCreateExistingIndexes runs the server and asks twice for the same two indexes, as
// ChatChat processes starting together do: the second answer must be ok, on a connection
// that stays open. Unguarded, FerretDB panics on it and drops the connection, which shows
// that the test reaches the bug (and, the day it stops, that the workaround can go).
func TestCreateExistingIndexes(t *testing.T) {
	for _, serialize := range []bool{true, false} {
		t.Run("serialize-writes="+strconv.FormatBool(serialize), func(t *testing.T) {
			conn := startServer(t, "--serialize-writes="+strconv.FormatBool(serialize))
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			if ok, err := command(ctx, conn, createIndexes("a", "b")); err != nil || !ok {
				t.Fatalf("first createIndexes: ok %v, %v", ok, err)
			}
			ok, err := command(ctx, conn, createIndexes("a", "b"))
			if !serialize {
				if err == nil {
					t.Fatalf("unguarded FerretDB answered a createIndexes of two existing indexes (ok %v): the relay's workaround may be unneeded now", ok)
				}
				return
			}
			if err != nil || !ok {
				t.Fatalf("second createIndexes: ok %v, %v", ok, err)
			}
			if ok, err := command(ctx, conn, wire.MustOpMsg("ping", int32(1), "$db", "test")); err != nil || !ok {
				t.Fatalf("ping after createIndexes: ok %v, %v", ok, err)
			}
		})
	}
}

// startServer runs ferret-server in the test with args and returns a connection to it.
func startServer(tb testing.TB, args ...string) *wireclient.Conn {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	args = append([]string{"--listen", "127.0.0.1:0", "--dir", filepath.Join(tb.TempDir(), "db"), "--log-level", "error"}, args...)
	go func() {
		err := run(ctx, args, pw, io.Discard)
		pw.CloseWithError(io.EOF)
		done <- err
	}()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("ferret-server: %v", err)
		}
	})
	addr, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		tb.Fatalf("ferret-server printed no address: %v", err)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	conn, err := wireclient.Connect(ctx, "mongodb://"+addr[:len(addr)-1]+"/", slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	return conn
}

// command sends cmd and reports whether the answer says ok: 1.
func command(ctx context.Context, conn *wireclient.Conn, cmd *wire.OpMsg) (bool, error) {
	_, body, err := conn.Request(ctx, cmd)
	if err != nil {
		return false, err
	}
	raw, err := body.(*wire.OpMsg).RawDocument()
	if err != nil {
		return false, err
	}
	doc, err := raw.Decode()
	if err != nil {
		return false, err
	}
	switch v := doc.Get("ok").(type) {
	case float64:
		return v == 1, nil
	case int32:
		return v == 1, nil
	}
	return false, nil
}
