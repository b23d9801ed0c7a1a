package workshops

import "github.com/prometheus/client_golang/prometheus"

// metrics of the service (all prefixed quartierhub_workshop_):
//   - events_appended_total{source="hub"|"terminal"}: events this process
//     stored through Act (the hub's own) and Append (terminals' live
//     sockets); uploads through the outbox are counted by ingest.
//   - subscribers: live subscriptions in this process.
//   - cached: workshops in the cache.
//   - fold_seconds: how long a fold took.
//   - listening: 1 while the PostgreSQL notifications are listened to.
type metrics struct {
	appended    *prometheus.CounterVec
	subscribers prometheus.Gauge
	cached      prometheus.Gauge
	foldSeconds prometheus.Histogram
	listening   prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) metrics {
	m := metrics{
		appended: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "quartierhub_workshop_events_appended_total",
			Help: "Workshop events stored by this process: the hub's own (hub) and from terminals' live sockets (terminal)."}, []string{"source"}),
		subscribers: prometheus.NewGauge(prometheus.GaugeOpts{Name: "quartierhub_workshop_subscribers",
			Help: "Live subscriptions to workshops in this process (terminals', consoles' and phones' sockets)."}),
		cached: prometheus.NewGauge(prometheus.GaugeOpts{Name: "quartierhub_workshop_cached",
			Help: "Workshops whose log and state this process holds in memory."}),
		foldSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "quartierhub_workshop_fold_seconds",
			Help: "Time to fold a workshop's log.", Buckets: prometheus.ExponentialBuckets(0.0001, 3, 10)}),
		listening: prometheus.NewGauge(prometheus.GaugeOpts{Name: "quartierhub_workshop_listening",
			Help: "1 while this process listens for other processes' workshop events (PostgreSQL)."}),
	}
	m.appended.WithLabelValues("hub")
	m.appended.WithLabelValues("terminal")
	if reg != nil {
		reg.MustRegister(m.appended, m.subscribers, m.cached, m.foldSeconds, m.listening)
	}
	return m
}
