package ws

import (
	"github.com/chatchat/chatchat/chat"
	"github.com/prometheus/client_golang/prometheus"
)

// Labels of the frames-received counter besides the client event types: the set is closed
// so that a client cannot grow the label's cardinality.
const (
	frameInvalid = "invalid" // not a JSON object of the frame shape
	frameUnknown = "unknown" // a type the server does not know
	frameBinary  = "binary"
)

// metrics are the chat server's Prometheus collectors.
type metrics struct {
	connections  prometheus.Gauge
	delivered    prometheus.Counter
	drops        prometheus.Counter
	framesByType map[string]prometheus.Counter
	latency      prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	frames := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "chatchat", Subsystem: "ws", Name: "frames_received_total",
		Help: "Client frames received, by type.",
	}, []string{"type"})
	m := &metrics{
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "chatchat", Subsystem: "ws", Name: "connections",
			Help: "Open WebSocket connections on this node.",
		}),
		delivered: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "chatchat", Subsystem: "ws", Name: "events_delivered_total",
			Help: "Event frames queued to sessions (one per session an event reaches).",
		}),
		drops: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "chatchat", Subsystem: "ws", Name: "send_queue_drops_total",
			Help: "Sessions dropped because their send queue was full (slow consumers).",
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "chatchat", Subsystem: "ws", Name: "delivery_latency_seconds",
			Help: "From an event's creation (its At, set by the publisher) to the socket write.",
			// Milliseconds matter here; the tail up to seconds shows stuck consumers.
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		framesByType: map[string]prometheus.Counter{},
	}
	// Resolve every label once: WithLabelValues on the read path would hash each time.
	for _, t := range []string{
		chat.EventHeartBeat, chat.EventRoomFocused, chat.EventRoomUnfocused, chat.EventTyping,
		chat.EventResume, chat.EventAuth, chat.EventDelivered, frameInvalid, frameUnknown, frameBinary,
	} {
		m.framesByType[t] = frames.WithLabelValues(t)
	}
	if reg != nil {
		reg.MustRegister(m.connections, m.delivered, m.drops, frames, m.latency)
	}
	return m
}

// frameReceived counts a client frame of type t (one of the known labels, else unknown).
func (m *metrics) frameReceived(t string) {
	c, ok := m.framesByType[t]
	if !ok {
		c = m.framesByType[frameUnknown]
	}
	c.Inc()
}
