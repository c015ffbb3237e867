package main

import (
	"encoding/binary"
	"testing"
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
