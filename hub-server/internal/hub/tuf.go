package hub

import (
	"fmt"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/quartierhub/quartierhub/hub-server/internal/tufrepo"
	"github.com/quartierhub/quartierhub/hub-server/internal/tufrepo/tufhttp"
)

// buildTUF makes the TUF repository's server (tufhttp, public, on the
// hub's address under tufhttp.Prefix) and its timestamp refresher, with
// metrics: when the published timestamp expires, re-signings and failed
// checks. The repository needs no set-up to start: before release init
// every file answers 404 and the refresher has nothing to keep fresh.
func (h *Hub) buildTUF() {
	cfg, log := h.cfg, h.log
	h.TUF = tufhttp.New(h.Store, tufhttp.Opts{Now: cfg.Now, Logger: log})
	expiry := prometheus.NewGauge(prometheus.GaugeOpts{Name: "quartierhub_tuf_timestamp_expiry_timestamp_seconds",
		Help: "When the published TUF timestamp expires (unix seconds; 0 before release init). Terminals refuse updates after it."})
	signed := prometheus.NewCounter(prometheus.CounterOpts{Name: "quartierhub_tuf_timestamp_signed_total",
		Help: "TUF timestamps re-signed by this process."})
	failed := prometheus.NewCounter(prometheus.CounterOpts{Name: "quartierhub_tuf_refresh_errors_total",
		Help: "Failed checks of the TUF timestamp's freshness (e.g. online keys missing)."})
	h.Ops.Registry().MustRegister(expiry, signed, failed)
	dataDir := cfg.Store.DataDir
	keys := func() (tufrepo.OnlineKeys, error) {
		if dataDir == "" {
			return tufrepo.OnlineKeys{}, fmt.Errorf("hub: the TUF online keys live in a data directory (serve --data), none given: %w", os.ErrNotExist)
		}
		return tufrepo.LoadOnlineKeys(dataDir)
	}
	h.TUFRefresher = tufrepo.NewRefresher(h.Store, keys, tufrepo.RefresherOpts{Every: cfg.TUFRefresh, Now: cfg.Now, Logger: log,
		OnCheck: func(published bool, expires time.Time, err error) {
			if published {
				signed.Inc()
			}
			if err != nil {
				failed.Inc()
			}
			if !expires.IsZero() {
				expiry.Set(float64(expires.Unix()))
			}
		}})
}
