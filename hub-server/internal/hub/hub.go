// Package hub is the hub's engine: it owns the running hub — the store,
// the fleet machinery (heartbeat batcher, alert evaluator, webhook
// notifier, janitor), the workshop service, the terminal API, the web
// console, the operations endpoints and the HTTP server, and optionally
// Go's profiling endpoints on an address of their own — and runs them
// under one Run(ctx). It is
// for the hub what kiosk/agent is for the terminal; `hub-server serve`
// only turns its flags into a Config.
//
// One address serves everything: /metrics, /healthz and /readyz (ops),
// /api/ (the terminal API), /tuf/v1/ (the TUF repository of releases,
// package tufrepo), /open-data/ (the open data files, package opendata),
// /sta/v1.1 (the same data as a SensorThings API, package sta) and the
// rest (the console), each request
// counted for the metrics, logged without personal data and, behind
// trusted proxies, seen with the client's address (package server).
//
// With PostgreSQL (Config.Store.DB) several hub processes may share one
// database: each runs the server, the console and the heartbeat batcher,
// while the evaluator's ticks, the notifier, the janitor, the TUF
// timestamp refresher and the rollout engine's ticks run only in the
// process holding the "fleet-singletons" lease (pgstore's Lead).
package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/quartierhub/quartierhub/hub-server/internal/console"
	"github.com/quartierhub/quartierhub/hub-server/internal/fleet"
	"github.com/quartierhub/quartierhub/hub-server/internal/opendata"
	"github.com/quartierhub/quartierhub/hub-server/internal/ops"
	"github.com/quartierhub/quartierhub/hub-server/internal/rollout"
	"github.com/quartierhub/quartierhub/hub-server/internal/server"
	"github.com/quartierhub/quartierhub/hub-server/internal/sta"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/terminalapi"
	"github.com/quartierhub/quartierhub/hub-server/internal/tufrepo"
	"github.com/quartierhub/quartierhub/hub-server/internal/tufrepo/tufhttp"
	"github.com/quartierhub/quartierhub/hub-server/internal/workshops"
)

// Config configures a hub. Zero values are the parts' defaults.
type Config struct {
	// Store is where the hub keeps its data; New opens it, creating
	// SQLite's directory and database when missing. Required.
	Store Location
	// Listen is the address of the hub's HTTP server. Default
	// server.DefaultAddr.
	Listen string
	// Listener, if set, is served instead of listening on Listen.
	Listener net.Listener
	// OnListening, if set, is told the bound address once the server
	// accepts connections (tests listen on port 0).
	OnListening func(net.Addr)
	// TLSCertFile and TLSKeyFile, both or neither, make the server speak
	// HTTPS.
	TLSCertFile, TLSKeyFile string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For and
	// X-Forwarded-Proto are believed (server.Opts); with any, the console
	// believes X-Forwarded-Proto for its Secure cookies.
	TrustedProxies []netip.Prefix
	// PublicURL is the hub's address as terminals and residents reach it
	// (console.Opts); a trailing slash is dropped. Default: from each
	// request.
	PublicURL string
	// SecureCookies marks console cookies Secure even on plain HTTP.
	SecureCookies bool
	// AirMap is the public air page's map (console.AirMap); zero: none.
	AirMap console.AirMap
	// Pprof, if set, is the address of a separate server for Go's
	// profiling endpoints (/debug/pprof/); never a public one.
	Pprof string
	// Fleet tunes the fleet machinery.
	Fleet FleetConfig
	// STA tunes the SensorThings API.
	STA STAConfig
	// OpenData describes the open data catalogue (licence, publisher,
	// contact, title); its PublicURL defaults to PublicURL.
	OpenData opendata.Catalog
	// TUFRefresh is how often the TUF timestamp's freshness is checked
	// (tufrepo.RefresherOpts.Every). Default 1 hour.
	TUFRefresh time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Rand is the entropy for IDs, tokens and sessions. Default
	// crypto/rand.
	Rand io.Reader
	// Logger gets the hub's log. Default slog.Default().
	Logger *slog.Logger
}

// Hub is the running hub's parts. New builds them; Run runs them.
type Hub struct {
	// Store is the opened store with its ingest and heartbeat writes
	// counted for the metrics; every part uses it.
	Store store.Store
	// Ops serves /metrics, /healthz and /readyz and counts requests.
	Ops *ops.Ops
	// Batcher writes heartbeats in groups.
	Batcher *fleet.Batcher
	// Evaluator turns heartbeats and silence into alerts.
	Evaluator *fleet.Evaluator
	// Notifier sends alerts to the webhook.
	Notifier *fleet.Notifier
	// Janitor expires commands and prunes health history.
	Janitor *fleet.Janitor
	// Rollouts runs staged rollouts: heartbeats get its offers, staff
	// actions go to it, its ticks are a singleton.
	Rollouts *rollout.Engine
	// TerminalAPI serves /api/.
	TerminalAPI *terminalapi.Handler
	// Console serves the web console and the public status pages.
	Console *console.Console
	// Workshops is the workshop service: the console's workshop and phone
	// pages and the terminal API's workshop endpoints use it; terminals'
	// uploads reach it through the store's hook.
	Workshops *workshops.Service
	// OpenData makes and serves the open data files under
	// opendata.Prefix, cached in DATA/cache/open-data (in memory without
	// a data directory).
	OpenData *opendata.Files
	// STA serves the open data as a SensorThings API under sta.Prefix.
	STA *sta.Handler
	// TUF serves the TUF repository of releases under tufhttp.Prefix.
	TUF *tufhttp.Handler
	// TUFRefresher keeps the repository's timestamp fresh (a singleton).
	TUFRefresher *tufrepo.Refresher
	// Handler is everything Server serves: ops, terminal API, console.
	Handler http.Handler
	// Server is the hub's HTTP server.
	Server *server.Server
	// Pprof serves the profiling endpoints on Config.Pprof; nil when off.
	Pprof *http.Server

	cfg    Config
	log    *slog.Logger
	opened store.Store // as opened, before the metrics' wrapper
}

// New opens the store and builds the hub's parts on it; Run runs them
// and Close closes the store.
func New(ctx context.Context, cfg Config) (*Hub, error) {
	if (cfg.TLSCertFile == "") != (cfg.TLSKeyFile == "") {
		return nil, errors.New("hub: TLS needs both a certificate and a key")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	opened, err := cfg.Store.OpenOrCreate(ctx)
	if err != nil {
		return nil, err
	}
	h := &Hub{cfg: cfg, log: cfg.Logger, opened: opened}
	if err := h.build(ctx); err != nil {
		opened.Close()
		return nil, err
	}
	return h, nil
}

// build makes the parts on h.opened.
func (h *Hub) build(ctx context.Context) error {
	cfg, log := h.cfg, h.log
	operable, ok := h.opened.(store.Operable)
	if !ok {
		return fmt.Errorf("hub: store %T cannot be probed for readiness", h.opened)
	}
	h.Ops = ops.New(ops.Opts{Store: operable, Alerts: h.opened, Logger: log})
	h.Store = h.Ops.InstrumentStore(h.opened)
	h.buildFleet()
	h.buildTUF()
	h.Workshops = workshops.New(h.Store, workshops.Opts{PostgresURL: cfg.Store.DB, Metrics: h.Ops.Registry(),
		Now: cfg.Now, Rand: cfg.Rand, Logger: log})
	h.Store.OnWorkshopAppend(h.Workshops.OnAppend)
	h.TerminalAPI = terminalapi.New(h.Store, terminalapi.Opts{Now: cfg.Now, Rand: cfg.Rand, Logger: log, Fleet: h.fleetHandlerOpts(),
		Workshops: terminalapi.WorkshopOpts{Service: h.Workshops, PublicURL: strings.TrimRight(cfg.PublicURL, "/")}})
	// Phones keep their guest numbers across restarts and hub processes:
	// the guest secret is one of the store's secrets.
	secret, err := console.GuestSecret(ctx, h.Store, cfg.Rand)
	if err != nil {
		return err
	}
	phone := console.PhoneOpts{Workshops: h.Workshops, GuestSecret: secret}
	c, err := console.New(h.Store, console.Opts{Now: cfg.Now, Rand: cfg.Rand, Logger: log, PublicURL: strings.TrimRight(cfg.PublicURL, "/"),
		SecureCookies: cfg.SecureCookies, TrustProxy: len(cfg.TrustedProxies) > 0,
		Rollouts: h.Rollouts, Releases: releasePublisher{st: h.Store, dataDir: cfg.Store.DataDir}, Workshops: h.Workshops, Phone: phone, AirMap: cfg.AirMap})
	if err != nil {
		return err
	}
	h.Console = c
	h.buildSTA()
	od := cfg.OpenData
	if od.PublicURL == "" {
		od.PublicURL = cfg.PublicURL
	}
	odOpts := opendata.Opts{Catalog: od, Now: cfg.Now, Logger: log}
	if cfg.Store.DataDir != "" {
		odOpts.CacheDir = filepath.Join(cfg.Store.DataDir, "cache", "open-data")
	}
	if h.OpenData, err = opendata.New(h.Store, odOpts); err != nil {
		return err
	}
	h.Handler = h.routes()
	h.Server = server.New(server.Opts{Addr: cfg.Listen, Listener: cfg.Listener, Handler: h.Handler, Logger: log, OnListening: cfg.OnListening,
		TLSCertFile: cfg.TLSCertFile, TLSKeyFile: cfg.TLSKeyFile, TrustedProxies: cfg.TrustedProxies})
	if cfg.Pprof != "" {
		h.Pprof = pprofServer()
	}
	return nil
}

// routes puts the operations endpoints in front of the terminal API
// (/api/) and the console (everything else), all counted for the metrics.
func (h *Hub) routes() http.Handler {
	app := http.NewServeMux()
	app.Handle("/api/", h.TerminalAPI)
	app.Handle(tufhttp.Prefix, h.TUF)
	app.Handle(sta.Prefix, h.STA)
	app.Handle(sta.Prefix+"/", h.STA)
	app.Handle(opendata.Prefix, h.OpenData.Handler())
	app.Handle("/", h.Console)
	mux := http.NewServeMux()
	h.Ops.Register(mux)
	mux.Handle("/", app)
	return h.Ops.Instrument(mux)
}

// Run serves and runs the fleet machinery until ctx ends (then it
// returns nil once all have stopped) or a part fails (then it stops the
// others and returns the first failure).
func (h *Hub) Run(ctx context.Context) error {
	stopPprof, err := h.startPprof(ctx)
	if err != nil {
		return err
	}
	defer stopPprof()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		err := h.Server.Run(gctx)
		if err == nil && gctx.Err() == nil {
			err = errors.New("server stopped")
		}
		return err
	})
	g.Go(func() error { return h.Console.Run(gctx) })
	g.Go(func() error { return h.Batcher.Run(gctx) })
	g.Go(func() error { return h.Workshops.Run(gctx) })
	g.Go(func() error { return h.OpenData.Run(gctx) })
	g.Go(func() error { return h.TerminalAPI.Run(gctx) }) // closes the terminals' live sockets, which the server's shutdown does not
	g.Go(func() error { return h.runSingletons(gctx) })
	return g.Wait()
}

// Close closes the store.
func (h *Hub) Close() error { return h.opened.Close() }
