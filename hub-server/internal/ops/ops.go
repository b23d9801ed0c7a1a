// Package ops is the hub's operations surface: Prometheus metrics
// (/metrics), liveness (/healthz) and readiness (/readyz), and the
// request instrumentation behind the metrics.
//
// Metrics (all prefixed quartierhub_):
//   - http_requests_total{method,route,code}, http_request_duration_seconds{method,route}:
//     route is the matched pattern (e.g. "POST /api/v1/records"), never a
//     raw path, so terminal or record IDs never become labels.
//   - ingest_records_total{result="stored"|"duplicate"}, ingest_batches_total,
//     heartbeats_total: counted by the store wrapper Instrument.
//   - alerts_open{kind}: read from the store at scrape time.
//   - db_connections{pool,state="open"|"in_use"|"idle"|"max"},
//     db_wait_total{pool}, db_wait_seconds_total{pool}.
//   - the Go runtime and process collectors (go_*, process_*).
//
// /healthz answers 200 while the process serves; /readyz answers 200 only
// when the store answers and its schema is migrated, else 503 — a load
// balancer sends no traffic to a hub whose database is away.
package ops

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/quartierhub/quartierhub/hub-server/internal/httpmw"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// Paths of the operations endpoints.
const (
	PathMetrics = "/metrics"
	PathHealth  = "/healthz"
	PathReady   = "/readyz"
)

// AlertLister is what the open-alerts gauge reads.
type AlertLister interface {
	Alerts(ctx context.Context, f store.AlertFilter) ([]store.Alert, error)
}

// Opts configures New. Zero values are the defaults.
type Opts struct {
	// Store is probed by /readyz and read for pool statistics. Required.
	Store store.Operable
	// Alerts, if set, feeds alerts_open.
	Alerts AlertLister
	// ProbeTimeout bounds a readiness probe and a scrape's store reads.
	// Default 2s.
	ProbeTimeout time.Duration
	Logger       *slog.Logger
}

// Ops holds the metrics registry and serves the operations endpoints.
type Ops struct {
	o        Opts
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	records  *prometheus.CounterVec
	batches  prometheus.Counter
	beats    prometheus.Counter
}

// New returns the operations surface with its own registry.
func New(o Opts) *Ops {
	if o.ProbeTimeout <= 0 {
		o.ProbeTimeout = 2 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	p := &Ops{o: o, reg: prometheus.NewRegistry()}
	p.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "quartierhub_http_requests_total",
		Help: "HTTP requests by method, matched route pattern and status code."}, []string{"method", "route", "code"})
	p.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "quartierhub_http_request_duration_seconds",
		Help: "HTTP request latency by method and matched route pattern.", Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12)},
		[]string{"method", "route"})
	p.records = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "quartierhub_ingest_records_total",
		Help: "Uploaded records: stored, or duplicates of stored ones."}, []string{"result"})
	p.batches = prometheus.NewCounter(prometheus.CounterOpts{Name: "quartierhub_ingest_batches_total", Help: "Record batches stored."})
	p.beats = prometheus.NewCounter(prometheus.CounterOpts{Name: "quartierhub_heartbeats_total", Help: "Heartbeats stored."})
	p.reg.MustRegister(p.requests, p.duration, p.records, p.batches, p.beats,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), &storeCollector{p})
	return p
}

// Registry is where further metrics may be registered.
func (p *Ops) Registry() *prometheus.Registry { return p.reg }

// Register adds /metrics, /healthz and /readyz to mux.
func (p *Ops) Register(mux *http.ServeMux) {
	mux.Handle("GET "+PathMetrics, promhttp.HandlerFor(p.reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(p.o.Logger.Handler(), slog.LevelWarn)}))
	mux.HandleFunc("GET "+PathHealth, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET "+PathReady, func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), p.o.ProbeTimeout)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := p.o.Store.Ready(ctx); err != nil {
			p.o.Logger.Warn("not ready", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("not ready: store unavailable or not migrated\n"))
			return
		}
		w.Write([]byte("ready\n"))
	})
}

// Instrument counts and times the requests next serves, labelled by the
// route pattern the ServeMux matched ("unmatched" when none).
func (p *Ops) Instrument(next http.Handler) http.Handler {
	return httpmw.Observe(next, func(r *http.Request, s httpmw.Served) {
		p.requests.WithLabelValues(s.Method, s.Route, strconv.Itoa(s.Status)).Inc()
		p.duration.WithLabelValues(s.Method, s.Route).Observe(s.Took.Seconds())
	})
}

// storeCollector reads pool statistics and open alerts at scrape time.
type storeCollector struct{ p *Ops }

var (
	descConns     = prometheus.NewDesc("quartierhub_db_connections", "Database connections by pool and state (open, in_use, idle, max).", []string{"pool", "state"}, nil)
	descWaits     = prometheus.NewDesc("quartierhub_db_wait_total", "Connection acquisitions that had to wait, by pool.", []string{"pool"}, nil)
	descWaitSecs  = prometheus.NewDesc("quartierhub_db_wait_seconds_total", "Time spent waiting for a connection, by pool.", []string{"pool"}, nil)
	descAlerts    = prometheus.NewDesc("quartierhub_alerts_open", "Open alerts by kind.", []string{"kind"}, nil)
	descStoreUp   = prometheus.NewDesc("quartierhub_store_ready", "1 if the store answered the last scrape's readiness check.", nil, nil)
	alertKindsAll = []string{"offline", "paper_near_end", "paper_out", "sensor_fault", "sensor_silent", "device_fault", "backlog_growing", "backlog_old", "disk_low", "revoked_calling"}
)

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descConns
	ch <- descWaits
	ch <- descWaitSecs
	ch <- descAlerts
	ch <- descStoreUp
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	for pool, st := range c.p.o.Store.PoolStats() {
		for state, v := range map[string]int{"open": st.Open, "in_use": st.InUse, "idle": st.Idle, "max": st.MaxOpen} {
			ch <- prometheus.MustNewConstMetric(descConns, prometheus.GaugeValue, float64(v), pool, state)
		}
		ch <- prometheus.MustNewConstMetric(descWaits, prometheus.CounterValue, float64(st.WaitCount), pool)
		ch <- prometheus.MustNewConstMetric(descWaitSecs, prometheus.CounterValue, st.WaitDuration.Seconds(), pool)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.p.o.ProbeTimeout)
	defer cancel()
	up := 1.0
	if err := c.p.o.Store.Ready(ctx); err != nil {
		up = 0
	}
	ch <- prometheus.MustNewConstMetric(descStoreUp, prometheus.GaugeValue, up)
	if c.p.o.Alerts == nil || up == 0 {
		return
	}
	als, err := c.p.o.Alerts.Alerts(ctx, store.AlertFilter{State: store.AlertOpen})
	if err != nil {
		c.p.o.Logger.Warn("metrics: open alerts", "err", err)
		return
	}
	n := map[string]int{}
	for _, k := range alertKindsAll {
		n[k] = 0 // every kind present, so a rule sees 0 rather than nothing
	}
	for _, a := range als {
		n[a.Kind]++
	}
	for k, v := range n {
		ch <- prometheus.MustNewConstMetric(descAlerts, prometheus.GaugeValue, float64(v), k)
	}
}
