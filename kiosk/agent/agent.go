// Package agent is the terminal's engine without a window: it owns the
// outbox, the sync client, the devices and the local control API, and runs
// them all under one Run(ctx). The touchscreen window and the CLI are
// clients of its local API (package localapi); nothing here imports Fyne.
//
// The engine's packages (devices, aggregate, outbox, hubsync, session,
// receipt) do not know the local API: api.go is its edge, where the
// agent answers localapi's backends and converts between their wire
// types and the engine's. The window's side (window.go) is made of
// small parts, each with its own state and tests: the event stream
// (kiosk/internal/fanout), the card hasher (cards.go), the sync state
// and mode last told (terminalstate.go), the sensor history (sensors.go
// over history.go), the printer front (printer.go), the ticket counter
// (tickets.go) and the surveys' once-rule (surveys.go). The workshop
// engine (kiosk/workshop) runs beside the sync client; workshop.go
// answers its endpoints and checks a moderator's card and PIN.
package agent

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/quartierhub/quartierhub/drivers/escpos"
	"github.com/quartierhub/quartierhub/internal/userr"
	"github.com/quartierhub/quartierhub/kiosk/aggregate"
	"github.com/quartierhub/quartierhub/kiosk/config"
	"github.com/quartierhub/quartierhub/kiosk/devices"
	"github.com/quartierhub/quartierhub/kiosk/hubsync"
	"github.com/quartierhub/quartierhub/kiosk/identity"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/outbox"
	"github.com/quartierhub/quartierhub/kiosk/session"
	kws "github.com/quartierhub/quartierhub/kiosk/workshop"
)

// OutboxFile is the outbox's file inside the data directory.
const OutboxFile = "outbox.db"

// Opts configures an Agent. Zero values take the documented defaults.
type Opts struct {
	// DataDir holds the outbox, the identity and the socket. Required.
	DataDir string
	// Version is reported in the status. Default "dev".
	Version string
	// Config is the local configuration: devices and limits.
	Config config.Config
	// Outbox, Sync, Aggregate and Devices tune the parts; their zero
	// values are their defaults.
	Outbox    outbox.Opts
	Sync      hubsync.Opts
	Aggregate aggregate.Opts
	Devices   devices.Opts
	// Fleet tunes heartbeats, remote configuration and commands (fleet.go).
	Fleet FleetOpts
	// Workshop tunes the workshop engine (workshop.go).
	Workshop WorkshopOpts
	// EnrolMedia are the directories removable media are mounted below,
	// searched for the first-boot enrolment file (enrol.go); default
	// DefaultEnrolMedia.
	EnrolMedia []string
	// UpdaterDir is the updater's state directory, whose status.json
	// the heartbeats report (kiosk/updater/handoff); "" reports none.
	UpdaterDir string
	// Now defaults to time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Agent is the terminal's headless engine.
type Agent struct {
	opts Opts
	log  *slog.Logger
	ids  *identity.Source

	events chan devices.Event // device events on their way to the outbox
	lostEv atomic.Int64
	fleet  *fleetPart
	win    *window // the touchscreen window's side (window.go)
	// enrolling is held while a first-boot enrolment runs (enrol.go).
	enrolling sync.Mutex
	// modGate counts wrong moderator credentials (workshop.go).
	modGate moderatorGate

	mu      sync.Mutex
	ob      *outbox.Outbox
	syncer  *hubsync.Syncer
	devs    *devices.Manager
	agg     *aggregate.Aggregator
	ws      *kws.Engine
	started time.Time
	ready   chan struct{}
}

// New returns an agent for opts; Run starts it.
func New(opts Opts) *Agent {
	if opts.Version == "" {
		opts.Version = "dev"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	ring := newLogRing(max(opts.Fleet.LogLines, 500))
	opts.Logger = ringLogger(opts.Logger, ring)
	if opts.Outbox.Now == nil {
		opts.Outbox.Now = opts.Now
	}
	if opts.Sync.Now == nil {
		opts.Sync.Now = opts.Now
	}
	if opts.Outbox.Logger == nil {
		opts.Outbox.Logger = opts.Logger
	}
	if opts.Sync.Logger == nil {
		opts.Sync.Logger = opts.Logger.With("component", "sync")
	}
	if opts.Aggregate.Now == nil {
		opts.Aggregate.Now = opts.Now
	}
	if opts.Aggregate.Logger == nil {
		opts.Aggregate.Logger = opts.Logger.With("component", "aggregate")
	}
	if opts.Devices.Now == nil {
		opts.Devices.Now = opts.Now
	}
	if opts.Devices.Logger == nil {
		opts.Devices.Logger = opts.Logger.With("component", "devices")
	}
	if opts.Outbox.MaxBytes == 0 {
		opts.Outbox.MaxBytes = opts.Config.Outbox.MaxBytes
	}
	a := &Agent{opts: opts, log: opts.Logger, ids: identity.NewSource(opts.DataDir),
		ready: make(chan struct{}), events: make(chan devices.Event, 256)}
	a.fleet = newFleetPart(a, opts.Fleet)
	a.fleet.ring = ring
	a.win = newWindow(a)
	if a.opts.Devices.OnCard == nil {
		a.opts.Devices.OnCard = a.cardAtReader
	}
	return a
}

// Ready is closed once the local API accepts requests.
func (a *Agent) Ready() <-chan struct{} { return a.ready }

// Run opens the outbox, serves the local API and syncs until ctx ends.
func (a *Agent) Run(ctx context.Context) error {
	if a.opts.DataDir == "" {
		return errors.New("agent: no data directory")
	}
	if err := os.MkdirAll(a.opts.DataDir, 0o700); err != nil {
		return fmt.Errorf("agent: data directory: %w", err)
	}
	// The window holds it during sessions but may not create it: its
	// sandbox sees this directory read-only.
	if err := session.CreateLockFile(filepath.Join(a.opts.DataDir, session.LockFile)); err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	if err := a.win.start(a.opts.DataDir, a.opts.Config.CardHashKey); err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	a.win.sensors.load()
	running := false
	defer func() {
		if !running { // failed before the parts ran: release the history file
			a.win.sensors.close()
			_ = a.win.sensors.run()
		}
	}()
	srv := localapi.NewServer(a.opts.DataDir, a, a.log.With("component", "localapi"))
	ln, err := srv.Listen()
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	ob, err := outbox.Open(filepath.Join(a.opts.DataDir, OutboxFile), a.opts.Outbox)
	if err != nil {
		ln.Close()
		return fmt.Errorf("agent: %w", err)
	}
	defer ob.Close()
	syncer := hubsync.New(ob, a.credentials, a.opts.Sync)
	agg := aggregate.New(aggregate.EmitFunc(func(ctx context.Context, m aggregate.Aggregate) error {
		a.win.sensors.minute(m)
		payload, err := json.Marshal(m)
		if err != nil {
			return err
		}
		_, err = ob.Submit(ctx, "sensor_minute", outbox.ClassSensor, payload)
		return err
	}), a.opts.Aggregate)
	// A configuration from the hub cached by an earlier run applies from
	// the start: its devices section and sync interval.
	a.fleet.load()
	devCfg, syncEvery := a.startSettings()
	syncer.SetInterval(syncEvery)
	devs, err := devices.New(devCfg, sink{a, agg}, a.opts.Devices)
	if err != nil {
		ln.Close()
		return fmt.Errorf("agent: %w", err)
	}
	wsEngine, err := a.openWorkshops(ctx, ob, a.workshopHub())
	if err != nil {
		ln.Close()
		return fmt.Errorf("agent: %w", err)
	}
	defer wsEngine.Close() // after g.Wait: its Run has returned
	a.mu.Lock()
	a.ob, a.syncer, a.devs, a.agg, a.ws, a.started = ob, syncer, devs, agg, wsEngine, a.opts.Now()
	a.mu.Unlock()

	g, gctx := errgroup.WithContext(ctx)
	running = true
	g.Go(func() error { return srv.Serve(gctx, ln) })
	g.Go(func() error { return syncer.Run(gctx) })
	g.Go(func() error {
		// The history writer stops after the aggregator's last (partial)
		// minutes, so a clean shutdown keeps them for the next start.
		defer a.win.sensors.close()
		return agg.Run(gctx)
	})
	g.Go(a.win.sensors.run)
	g.Go(func() error { return devs.Run(gctx) })
	g.Go(func() error { return a.storeEvents(gctx, ob) })
	g.Go(func() error { return a.fleet.run(gctx) })
	g.Go(func() error { return a.watchTerminal(gctx, syncer) })
	g.Go(func() error { return wsEngine.Run(gctx) })
	close(a.ready)
	a.log.Info("agent started", "data_dir", a.opts.DataDir, "version", a.opts.Version)
	err = g.Wait()
	a.log.Info("agent stopped")
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// startSettings is what the cached configuration's settings say at
// start: the devices to run and the sync interval (0: the default). A
// cached devices section that no longer fits (the local file changed)
// is ignored with a warning: the local file's devices run.
func (a *Agent) startSettings() (config.Devices, time.Duration) {
	a.fleet.mu.Lock()
	s, version := a.fleet.cfg.parsed.Settings, a.fleet.cfg.Version
	a.fleet.mu.Unlock()
	a.syncCompositor(s)
	if s == nil {
		return a.opts.Config.Devices, 0
	}
	_, syncEvery, _ := s.Durations()
	if len(s.Devices) == 0 {
		return a.opts.Config.Devices, syncEvery
	}
	d, err := a.deviceConfig(s)
	if err != nil {
		a.log.Warn("cached devices section not applied; running the local file's devices", "version", version, "err", err)
		a.fleet.mu.Lock()
		a.fleet.cfgErr = fmt.Sprintf("cached version %s: %v", version, err)
		a.fleet.mu.Unlock()
		return a.opts.Config.Devices, syncEvery
	}
	return d, syncEvery
}

// sink routes device output: readings to the aggregator, events to the
// outbox through a queue, so a driver never waits for an fsync.
type sink struct {
	a   *Agent
	agg *aggregate.Aggregator
}

func (s sink) Reading(r aggregate.Reading) {
	s.agg.Add(r)
	s.a.sensorReading(r)
}

func (s sink) Event(e devices.Event) {
	s.a.deviceChanged(e)
	select {
	case s.a.events <- e:
	default:
		// A device flapping faster than the disk commits: count, don't block.
		s.a.lostEv.Add(1)
	}
}

// storeEvents writes device events to the outbox as they come.
func (a *Agent) storeEvents(ctx context.Context, ob *outbox.Outbox) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-a.events:
			payload, err := json.Marshal(e)
			if err != nil {
				return fmt.Errorf("agent: device event: %w", err)
			}
			if _, err := ob.Submit(ctx, "device_event", outbox.ClassEvent, payload); err != nil && ctx.Err() == nil {
				a.log.Warn("device event not stored", "device", e.Device, "state", e.State, "err", err)
			}
		}
	}
}

func (a *Agent) credentials() (string, string, ed25519.PrivateKey, error) {
	id, err := a.ids.Get()
	if err != nil {
		return "", "", nil, err
	}
	return id.HubURL, id.TerminalID, id.Key, nil
}

func (a *Agent) parts() (*outbox.Outbox, *hubsync.Syncer, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ob == nil {
		return nil, nil, userr.New("the agent is starting", localapi.ErrUnavailable)
	}
	return a.ob, a.syncer, nil
}

// Printer returns the printer driver once running, or nil.
func (a *Agent) Printer() *escpos.Printer {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.devs == nil {
		return nil
	}
	return a.devs.Printer()
}

func (a *Agent) devices() *devices.Manager {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.devs
}
