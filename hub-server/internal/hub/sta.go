package hub

import (
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/sta"
)

// STAConfig tunes the SensorThings API (package sta). Zero values are
// its defaults.
type STAConfig struct {
	// StatementTimeout bounds each SQL statement a request runs (5 s).
	StatementTimeout time.Duration
	// MaxConcurrent requests query at once; more get 503 (8).
	MaxConcurrent int
}

// buildSTA makes the SensorThings API's handler (public, on the hub's
// address under sta.Prefix) on the store's open data.
func (h *Hub) buildSTA() {
	cfg := h.cfg
	h.STA = sta.New(h.Store, sta.Opts{PublicURL: cfg.PublicURL, TrustProxy: len(cfg.TrustedProxies) > 0,
		StatementTimeout: cfg.STA.StatementTimeout, MaxConcurrent: cfg.STA.MaxConcurrent, Now: cfg.Now, Logger: h.log})
}
