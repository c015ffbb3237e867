package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net"

	"github.com/FerretDB/wire/wirebson"
)

// FerretDB 1.24 panics on a createIndexes that names two or more indexes that already
// exist (validateIndexesForCreation deletes from a slice while ranging over the original
// indexes, and runs off its end), and drops the connection. That is what happens when
// several ChatChat processes start at once: each lists the indexes, sees them missing, and
// asks for them all, and every request after the first names indexes that now exist. The
// relay therefore sends such a request one index at a time: FerretDB handles a single
// existing index correctly (it answers "all indexes already exist").

// splitCreateIndexes returns, for an acknowledged OP_MSG createIndexes naming several
// indexes in its body, one request per index with the same header; nil for anything else,
// which is then forwarded unchanged.
func splitCreateIndexes(msg []byte) ([][]byte, error) {
	body, ok := onlyBody(msg)
	if !ok {
		return nil, nil
	}
	cmd, err := body.Decode()
	if err != nil {
		return nil, fmt.Errorf("createIndexes: %w", err)
	}
	if cmd.Len() == 0 || asciiLower(cmd.FieldNames()[0]) != "createindexes" {
		return nil, nil
	}
	raw, ok := cmd.Get("indexes").(wirebson.RawArray)
	if !ok {
		return nil, nil // not an array: FerretDB answers with the error MongoDB gives
	}
	indexes, err := raw.Decode()
	if err != nil {
		return nil, fmt.Errorf("createIndexes: indexes: %w", err)
	}
	if indexes.Len() < 2 {
		return nil, nil
	}
	parts := make([][]byte, 0, indexes.Len())
	for i := range indexes.Len() {
		one, err := body.Decode() // a fresh copy to change
		if err != nil {
			return nil, fmt.Errorf("createIndexes: %w", err)
		}
		if err := one.Replace("indexes", wirebson.MustArray(indexes.Get(i))); err != nil {
			return nil, fmt.Errorf("createIndexes: %w", err)
		}
		doc, err := one.Encode()
		if err != nil {
			return nil, fmt.Errorf("createIndexes: %w", err)
		}
		parts = append(parts, opMsgWithBody(msg[:headerLen], doc))
	}
	return parts, nil
}

// onlyBody returns the body of an acknowledged OP_MSG without checksum whose one section is
// its body (kind 0), the form drivers give createIndexes.
func onlyBody(msg []byte) (wirebson.RawDocument, bool) {
	if len(msg) < headerLen+5 || opCode(msg) != opMsg || flags(msg) != 0 || msg[headerLen+4] != 0 {
		return nil, false
	}
	body := msg[headerLen+5:]
	if len(body) < 5 || int(int32(binary.LittleEndian.Uint32(body))) != len(body) {
		return nil, false
	}
	return wirebson.RawDocument(body), true
}

// opMsgWithBody builds an OP_MSG with header's ids, no flags, and doc as its body.
func opMsgWithBody(header []byte, doc []byte) []byte {
	msg := make([]byte, 0, headerLen+5+len(doc))
	msg = append(msg, header[:headerLen]...)
	msg = binary.LittleEndian.AppendUint32(msg, 0)
	msg = append(msg, 0)
	msg = append(msg, doc...)
	binary.LittleEndian.PutUint32(msg, uint32(len(msg)))
	return msg
}

// createEach sends the parts of a split createIndexes one after the other and answers the
// client with the first reply that is not ok, or else with the last reply: the driver reads
// only ok and the error of a createIndexes answer.
func createEach(parts [][]byte, upstream net.Conn, ur *bufio.Reader, client net.Conn) error {
	var reply []byte
	for _, part := range parts {
		if _, err := upstream.Write(part); err != nil {
			return fmt.Errorf("forward request: %w", err)
		}
		var err error
		if reply, err = readMessage(ur); err != nil {
			return fmt.Errorf("read reply: %w", err)
		}
		if !replyOK(reply) {
			break
		}
	}
	if _, err := client.Write(reply); err != nil {
		return fmt.Errorf("forward reply: %w", err)
	}
	return nil
}

// replyOK reports whether a command's reply says ok: 1.
func replyOK(reply []byte) bool {
	body, ok := onlyBody(reply)
	if !ok {
		return false
	}
	doc, err := body.Decode()
	if err != nil {
		return false
	}
	switch v := doc.Get("ok").(type) {
	case float64:
		return v == 1
	case int32:
		return v == 1
	case int64:
		return v == 1
	}
	return false
}
