package chat

import (
	"fmt"
	"time"
)

// TimeLayout is the wire format of every time: RFC 3339, UTC, millisecond precision.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// Time is a point in time that encodes as PROTOCOL.md requires. The zero value encodes as
// null.
type Time struct{ time.Time }

// At wraps t, rounded down to the millisecond and in UTC, as stores keep it.
func At(t time.Time) Time { return Time{t.UTC().Truncate(time.Millisecond)} }

// TimePtr returns a pointer to At(t), or nil for the zero time.
func TimePtr(t time.Time) *Time {
	if t.IsZero() {
		return nil
	}
	v := At(t)
	return &v
}

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	b := make([]byte, 0, len(TimeLayout)+2)
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, TimeLayout)
	return append(b, '"'), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*t = Time{}
		return nil
	}
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("chat: time %s is not a string", b)
	}
	v, err := time.Parse(time.RFC3339Nano, string(b[1:len(b)-1]))
	if err != nil {
		return fmt.Errorf("chat: %w", err)
	}
	*t = At(v)
	return nil
}
