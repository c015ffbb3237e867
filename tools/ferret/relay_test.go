package main

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/FerretDB/wire/wirebson"
)

// opMsgBytes builds an OP_MSG: an optional document-sequence section, then a body whose
// first key is cmd.
func opMsgBytes(cmd string, withSequence bool, flagBits uint32) []byte {
	doc := []byte{0, 0, 0, 0, 0x02} // length, then a string element
	doc = append(doc, cmd...)
	doc = append(doc, 0)
	doc = binary.LittleEndian.AppendUint32(doc, 2)
	doc = append(doc, 'x', 0, 0) // value "x", end of document
	binary.LittleEndian.PutUint32(doc, uint32(len(doc)))

	msg := make([]byte, headerLen)
	binary.LittleEndian.PutUint32(msg[12:], opMsg)
	msg = binary.LittleEndian.AppendUint32(msg, flagBits)
	if withSequence {
		seq := []byte{0, 0, 0, 0}
		seq = append(seq, "documents"...)
		seq = append(seq, 0)
		seq = append(seq, 5, 0, 0, 0, 0) // one empty document
		binary.LittleEndian.PutUint32(seq, uint32(len(seq)))
		msg = append(msg, 1)
		msg = append(msg, seq...)
	}
	msg = append(msg, 0)
	msg = append(msg, doc...)
	binary.LittleEndian.PutUint32(msg, uint32(len(msg)))
	return msg
}

func TestIsWrite(t *testing.T) {
	for _, c := range []struct {
		name      string
		msg       []byte
		wantCmd   string
		wantWrite bool // serialized by the relay
	}{
		{"insert", opMsgBytes("insert", false, 0), "insert", true},
		{"insert with a document sequence first", opMsgBytes("insert", true, 0), "insert", true},
		{"findAndModify, any case", opMsgBytes("findAndModify", false, 0), "findAndModify", true},
		{"createIndexes", opMsgBytes("createIndexes", false, 0), "createIndexes", true},
		{"find", opMsgBytes("find", false, 0), "find", false},
		{"aggregate", opMsgBytes("aggregate", false, 0), "aggregate", false},
		{"hello", opMsgBytes("hello", false, 0), "hello", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := commandName(c.msg)
			if err != nil || got != c.wantCmd {
				t.Fatalf("commandName = %q, %v; want %q", got, err, c.wantCmd)
			}
			if isWrite(c.msg) != c.wantWrite {
				t.Errorf("isWrite = %v, want %v", !c.wantWrite, c.wantWrite)
			}
		})
	}

	legacy := make([]byte, headerLen+8)
	binary.LittleEndian.PutUint32(legacy, uint32(len(legacy)))
	binary.LittleEndian.PutUint32(legacy[12:], 2004) // OP_QUERY: the first handshake
	if isWrite(legacy) {
		t.Errorf("isWrite(OP_QUERY) = true, want false")
	}
	truncated := opMsgBytes("insert", false, 0)[:headerLen+8]
	if _, err := commandName(truncated); err == nil {
		t.Errorf("commandName(truncated) succeeded")
	}
	if flags(opMsgBytes("insert", false, msgMoreToCome))&msgMoreToCome == 0 {
		t.Errorf("moreToCome flag not read")
	}
}

// opMsgHeader is a message header with the OP_MSG op code.
func opMsgHeader() []byte {
	h := make([]byte, headerLen)
	binary.LittleEndian.PutUint32(h[12:], opMsg)
	return h
}

func TestDocumentWriteTarget(t *testing.T) {
	msg := func(pairs ...any) []byte {
		doc, err := wirebson.MustDocument(pairs...).Encode()
		if err != nil {
			t.Fatal(err)
		}
		return opMsgWithBody(opMsgHeader(), doc)
	}
	for _, c := range []struct {
		name string
		msg  []byte
		want string // "" for the global lock
	}{
		{"insert", msg("insert", "messages", "ordered", true, "$db", "chat"), "chat.messages"},
		{"findAndModify", msg("findAndModify", "rooms", "$db", "chat"), "chat.rooms"},
		{"update without $db", msg("update", "rooms"), ""},
		{"createIndexes", msg("createIndexes", "rooms", "$db", "chat"), ""},
		{"drop", msg("drop", "rooms", "$db", "chat"), ""},
		{"dropDatabase", msg("dropDatabase", int32(1), "$db", "chat"), ""},
	} {
		got, ok := documentWriteTarget(c.msg)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("%s: documentWriteTarget = %q, %v; want %q", c.name, got, ok, c.want)
		}
	}
}

func TestLockPerCollection(t *testing.T) {
	body := func(cmd, coll string) []byte {
		doc, err := wirebson.MustDocument(cmd, coll, "$db", "chat").Encode()
		if err != nil {
			t.Fatal(err)
		}
		return opMsgWithBody(opMsgHeader(), doc)
	}
	r := newRelay(nil, nil)
	r.perCollection = true
	unlockA := r.lock(body("insert", "a"))
	lockedB := make(chan func(), 1)
	go func() { lockedB <- r.lock(body("update", "b")) }()
	var unlockB func()
	select {
	case unlockB = <-lockedB: // another collection: does not wait for a
	case <-time.After(5 * time.Second):
		t.Fatal("a write to another collection waited")
	}
	got := make(chan string, 2)
	go func() { u := r.lock(body("delete", "a")); got <- "a"; u() }()
	go func() { u := r.lock(body("drop", "b")); got <- "global"; u() }()
	select {
	case s := <-got:
		t.Fatalf("%s write went through while its lock was held", s)
	case <-time.After(50 * time.Millisecond):
	}
	unlockB()
	unlockA()
	for range 2 {
		select {
		case <-got:
		case <-time.After(5 * time.Second):
			t.Fatal("a waiting write never went through")
		}
	}
}
