package notify

import "github.com/prometheus/client_golang/prometheus"

// metrics are the worker's Prometheus metrics.
type metrics struct {
	sent          *prometheus.CounterVec
	failed        *prometheus.CounterVec
	retried       *prometheus.CounterVec
	duplicates    prometheus.Counter
	tokensDeleted prometheus.Counter
	jobsFailed    prometheus.Counter
	lag           prometheus.Histogram
	busEvents     prometheus.Counter
	reads         *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatchat_push_sent_total",
			Help: "Pushes delivered to the provider (status sent), or logged where none is configured (status logged).",
		}, []string{"status"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatchat_push_failed_total",
			Help: "Pushes that failed for good, by reason.",
		}, []string{"reason"}),
		retried: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatchat_push_retries_total",
			Help: "Push attempts retried, by the reason of the failure.",
		}, []string{"reason"}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatchat_push_duplicates_skipped_total",
			Help: "Devices skipped because a redelivered job had already pushed them.",
		}),
		tokensDeleted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatchat_push_tokens_deleted_total",
			Help: "Device tokens deleted because the provider reported them unregistered.",
		}),
		jobsFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatchat_push_jobs_failed_total",
			Help: "Push jobs left for redelivery because a look-up failed.",
		}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "chatchat_push_queue_lag_seconds",
			Help:    "Time from a message's push job being queued to a worker taking it.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300},
		}),
		busEvents: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatchat_push_bus_events_total",
			Help: "FCM_TOKEN_MESSAGE events heard on the bus (at most once); compare with the jobs the queue delivered.",
		}),
		reads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatchat_push_read_total",
			Help: "Data-only read pushes (a room read on another device), by status: sent, failed, logged.",
		}, []string{"status"}),
	}
	if reg != nil {
		reg.MustRegister(m.sent, m.failed, m.retried, m.duplicates, m.tokensDeleted, m.jobsFailed, m.lag, m.busEvents, m.reads)
	}
	return m
}
