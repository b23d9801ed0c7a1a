package cli

import (
	"context"
	"flag"
	"log/slog"
	"strings"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/hub"
	"github.com/quartierhub/quartierhub/hub-server/internal/server"
)

// serve runs the hub (package hub) as its flags configure it.
func serve(ctx context.Context, args []string, o Opts) error {
	fs, data := flags("serve")
	cfg := hub.Config{Now: o.Now, Rand: o.Rand, OnListening: o.OnListening}
	serveFlags(fs, &cfg)
	if err := parse(fs, args, data); err != nil {
		return err
	}
	if (cfg.TLSCertFile == "") != (cfg.TLSKeyFile == "") {
		return usageError{"serve: --tls-cert and --tls-key go together"}
	}
	cfg.Store = data.Location
	cfg.Logger = slog.New(slog.NewTextHandler(o.Stderr, nil))
	h, err := hub.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer h.Close()
	greet(ctx, h.Store, cfg.Listen, cfg.PublicURL, cfg.TLSCertFile != "", data, cfg.Logger)
	return h.Run(ctx)
}

// serveFlags registers serve's flags (besides --data and --db) into cfg.
func serveFlags(fs *flag.FlagSet, cfg *hub.Config) {
	fs.StringVar(&cfg.Listen, "listen", server.DefaultAddr, "listen address")

	f := &cfg.Fleet
	fs.StringVar(&f.Webhook, "webhook", "", "URL that receives alerts as JSON POSTs (empty: none)")
	fs.DurationVar(&f.WebhookPoll, "webhook-poll", 5*time.Second, "with --db postgres: how often the leading process looks for alerts other processes opened")
	fs.DurationVar(&f.SampleEvery, "history-sample", 15*time.Minute, "write an unchanged terminal health to the history this often")
	fs.DurationVar(&f.HistoryRetention, "history-retention", 30*24*time.Hour, "keep health history this long")
	fs.DurationVar(&f.Thresholds.OfflineAfter, "offline-after", 10*time.Minute, "alert when a terminal is silent this long")
	fs.DurationVar(&f.Thresholds.SensorSilentAfter, "sensor-silent-after", 10*time.Minute, "alert when a connected sensor sent no reading this long")
	fs.DurationVar(&f.Thresholds.BacklogMaxAge, "backlog-max-age", time.Hour, "alert when a terminal's oldest unsent record is older")
	fs.DurationVar(&f.Thresholds.BacklogGrowthWindow, "backlog-growth-window", 15*time.Minute, "window for the backlog-growing alert")
	fs.Int64Var(&f.Thresholds.BacklogGrowthMin, "backlog-growth-min", 500, "records the backlog must grow by within the window to alert")
	fs.Int64Var(&f.Thresholds.DiskLowBytes, "disk-low-bytes", 1<<30, "alert when a terminal's free disk is below this")
	fs.Float64Var(&f.Thresholds.DiskLowPercent, "disk-low-percent", 5, "alert when a terminal's free disk is below this percentage")

	fs.StringVar(&cfg.PublicURL, "public-url", "", "the hub's address as terminals and residents reach it, e.g. https://hub.example.org (default: from each request)")
	fs.BoolVar(&cfg.SecureCookies, "secure-cookies", false, "mark console cookies Secure even on plain HTTP (behind a TLS proxy that does not set X-Forwarded-Proto)")

	catalogFlags(fs, &cfg.OpenData)

	fs.StringVar(&cfg.TLSCertFile, "tls-cert", "", "serve HTTPS with this certificate chain (PEM); needs --tls-key")
	fs.StringVar(&cfg.TLSKeyFile, "tls-key", "", "the private key (PEM) of --tls-cert")
	fs.Func("trusted-proxy", "CIDR or address of a reverse proxy whose X-Forwarded-For/-Proto are believed (repeatable)", func(v string) error {
		for _, part := range strings.Split(v, ",") {
			p, err := server.ParseTrustedProxy(strings.TrimSpace(part))
			if err != nil {
				return err
			}
			cfg.TrustedProxies = append(cfg.TrustedProxies, p)
		}
		return nil
	})

	fs.DurationVar(&cfg.STA.StatementTimeout, "sta-statement-timeout", 5*time.Second, "SensorThings API: cancel a query's SQL statement after this long (the client gets 503)")
	fs.IntVar(&cfg.STA.MaxConcurrent, "sta-max-concurrent", 8, "SensorThings API: requests that query at once; more get 503 with Retry-After")

	m := &cfg.AirMap
	fs.StringVar(&m.Tiles, "air-map-tiles", "", "public air page: XYZ tile URL template for the terminals' map, e.g. https://tile.example.org/{z}/{x}/{y}.png (empty: no map, the list by quarter only)")
	fs.StringVar(&m.WMS, "air-map-wms", "", "public air page: a WMS base URL for the map instead of tiles (GetMap in EPSG:3857), e.g. the city's geoportal; needs --air-map-wms-layer")
	fs.StringVar(&m.WMSLayer, "air-map-wms-layer", "", "the layer of --air-map-wms")
	fs.StringVar(&m.Attribution, "air-map-attribution", "", "the map's attribution as its licence asks, e.g. \"© OpenStreetMap-Mitwirkende\"")
	fs.IntVar(&m.MaxZoom, "air-map-max-zoom", 17, "the closest zoom level of the map")

	fs.StringVar(&cfg.Pprof, "pprof", "", "serve Go's profiling endpoints (/debug/pprof/) on this address, e.g. 127.0.0.1:6060; never a public one (empty: off)")
}
