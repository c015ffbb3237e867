package redis

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/chatchat/chatchat/chat"
)

// otherType labels the events of a type this build does not know: the label's values stay
// a closed set whatever a newer node publishes.
const otherType = "other"

// busTypes are the event types that travel on the bus, each a label value of its own.
var busTypes = []string{
	chat.EventMessageCreated, chat.EventMessageUpdated, chat.EventReadReceiptUpdated,
	chat.EventFCMTokenMessage, chat.EventPresenceUpdated, chat.EventTyping,
	chat.EventRoomUpdated, chat.EventSessionsRevoked, chat.EventDeliveryReceiptUpdated,
	otherType,
}

// Metrics are a bus's Prometheus collectors: chatchat_bus_events_received_total by event
// type, the events this node's subscription delivered to its handlers. It shows an operator
// (and a test) which events reach a node: every event in the global mode, those of the rooms
// and users it holds in the room mode.
type Metrics struct {
	received map[string]prometheus.Counter // resolved once: no label hashing per event
}

// NewMetrics registers the bus's collectors on reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "chatchat", Subsystem: "bus", Name: "events_received_total",
		Help: "Events received from the bus and handed to this node's handlers, by type.",
	}, []string{"type"})
	m := &Metrics{received: make(map[string]prometheus.Counter, len(busTypes))}
	for _, t := range busTypes {
		m.received[t] = vec.WithLabelValues(t)
	}
	if reg != nil {
		reg.MustRegister(vec)
	}
	return m
}

// eventReceived counts one event of type t; a nil Metrics counts nothing.
func (m *Metrics) eventReceived(t string) {
	if m == nil {
		return
	}
	c, ok := m.received[t]
	if !ok {
		c = m.received[otherType]
	}
	c.Inc()
}
