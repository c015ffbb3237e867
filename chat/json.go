package chat

import (
	"bytes"
	"encoding/json"
)

// MarshalJSON encodes v for programs, not for HTML pages: without escaping <, > and &
// (encoding/json's default turns each into six bytes, so a text of '<' grew six-fold on
// the wire and in every queue that holds it). Every frame, event and answer is encoded
// with it; none is ever pasted into HTML.
func MarshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}
