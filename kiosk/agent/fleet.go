package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/quartierhub/quartierhub/drivers/escpos"
	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/atomicfile"
	"github.com/quartierhub/quartierhub/kiosk/config"
	"github.com/quartierhub/quartierhub/kiosk/devices"
	"github.com/quartierhub/quartierhub/kiosk/display"
	"github.com/quartierhub/quartierhub/kiosk/hubsync"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/updater/handoff"
)

// Files of the fleet part in the data directory.
const (
	RemoteConfigFile = "remote-config.json" // last good configuration from the hub
	MaintenanceFile  = "maintenance.json"   // maintenance state, survives restarts
	CommandsFile     = "commands.json"      // commands taken and their results not yet reported
	// UpdateOfferFile is the hub's update offer for the updater
	// (kiosk/updater/handoff); absent when the hub offers nothing.
	UpdateOfferFile = handoff.OfferFile
)

// ExitCodeRestart is the exit status of `kiosk agent` after a restart
// command: the agent acknowledged the command, recorded its result for
// the hub and stopped, expecting systemd to start it again. The unit
// sets Restart=on-failure (or always) and may list
// RestartForceExitStatus=75 so the intent is explicit in the journal.
const ExitCodeRestart = 75

// ErrRestart is what Run returns after a restart command.
var ErrRestart = errors.New("agent: restart requested by the hub")

// FleetOpts configures the agent's fleet part. Zero values are the defaults.
type FleetOpts struct {
	// HeartbeatInterval is the default heartbeat period; the hub's
	// settings.heartbeat_interval overrides it. Default 30s.
	HeartbeatInterval time.Duration
	// LogLines is how many recent log records diagnostics carry. Default 500.
	LogLines int
	// HTTPClient defaults to one with a 30s timeout.
	HTTPClient *http.Client
	// After waits like time.After; tests make the interval instant.
	After func(time.Duration) <-chan time.Time
	// OnConfig is called after a new configuration is applied (from the
	// hub or, at start, the cache).
	OnConfig func(localapi.ConfigResponse)
	// CaptureTimeout bounds how long a screenshot command waits for the
	// window's picture (capture.go). Default 15s: encoding a full-HD PNG
	// takes a slow terminal about a second.
	CaptureTimeout time.Duration
}

// maintenance is the persisted maintenance state.
type maintenance struct {
	On      bool      `json:"on"`
	Message string    `json:"message,omitempty"`
	Since   time.Time `json:"since,omitzero"`
}

// journalEntry is a command the agent took: its result is kept until the
// hub has it, and the entry a while longer so a re-sent command is not
// executed twice.
type journalEntry struct {
	ID       string             `json:"id"`
	Kind     string             `json:"kind"`
	Taken    time.Time          `json:"taken"`
	Result   *api.CommandResult `json:"result,omitempty"`
	Reported bool               `json:"reported"`
}

// remoteConfig is the configuration the agent runs on.
type remoteConfig struct {
	Version   string          `json:"version"`
	Document  json.RawMessage `json:"document"`
	AppliedAt time.Time       `json:"applied_at"`
	source    string
	parsed    api.Config
}

// fleetPart is the agent's side of fleet management: heartbeats, the
// configuration from the hub, and commands.
type fleetPart struct {
	a      *Agent
	o      FleetOpts
	ring   *logRing
	client *hubsync.FleetClient
	kick   chan struct{}

	mu         sync.Mutex
	maint      maintenance
	cfg        remoteConfig
	cfgErr     string
	refused    string // version refused last; not fetched again while the hub offers it
	screen     string
	lastHB     time.Time
	hbErr      string
	journal    map[string]*journalEntry
	loadedDisk bool
	// offer is the offer file's content as last written ("" = removed);
	// offerKnown is false until the first heartbeat answer set it.
	offer      string
	offerKnown bool
	// updaterErr is the last status read error logged, so a damaged
	// status file is logged once, not every heartbeat.
	updaterErr string
}

func newFleetPart(a *Agent, o FleetOpts) *fleetPart {
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = 30 * time.Second
	}
	if o.LogLines <= 0 {
		o.LogLines = 500
	}
	if o.After == nil {
		o.After = time.After
	}
	if o.CaptureTimeout <= 0 {
		o.CaptureTimeout = 15 * time.Second
	}
	f := &fleetPart{a: a, o: o, ring: newLogRing(o.LogLines), kick: make(chan struct{}, 1), journal: map[string]*journalEntry{}}
	f.client = hubsync.NewFleetClient(a.credentials, hubsync.FleetClientOpts{HTTPClient: o.HTTPClient, Now: a.opts.Now})
	return f
}

func (f *fleetPart) path(name string) string { return filepath.Join(f.a.opts.DataDir, name) }

// load reads the persisted state: maintenance, journal and the cached
// configuration (ignored if invalid).
func (f *fleetPart) load() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.loadedDisk {
		return
	}
	f.loadedDisk = true
	if b, err := os.ReadFile(f.path(MaintenanceFile)); err == nil {
		if err := json.Unmarshal(b, &f.maint); err != nil {
			f.a.log.Warn("maintenance state unreadable; assuming off", "err", err)
		}
	}
	if b, err := os.ReadFile(f.path(CommandsFile)); err == nil {
		var es []*journalEntry
		if err := json.Unmarshal(b, &es); err == nil {
			for _, e := range es {
				f.journal[e.ID] = e
			}
		}
	}
	b, err := os.ReadFile(f.path(RemoteConfigFile))
	if err != nil {
		return
	}
	var rc remoteConfig
	if err := json.Unmarshal(b, &rc); err != nil {
		f.a.log.Warn("cached configuration unreadable; waiting for the hub", "err", err)
		return
	}
	parsed, err := api.ValidateConfig(rc.Document)
	if err != nil {
		f.a.log.Warn("cached configuration invalid; waiting for the hub", "err", err)
		return
	}
	rc.source, rc.parsed = "cache", parsed
	f.cfg = rc
	f.a.log.Info("configuration loaded from cache", "version", rc.Version)
	if f.o.OnConfig != nil {
		go f.o.OnConfig(f.configResponse())
	}
}

// writeFile replaces name in the data directory atomically.
func (f *fleetPart) writeFile(name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(f.path(name), b, 0o600)
}

// saveJournal persists the journal, dropping reported entries older than
// a week (commands expire long before). Called with f.mu held.
func (f *fleetPart) saveJournal() error {
	now := f.a.opts.Now()
	es := make([]*journalEntry, 0, len(f.journal))
	for id, e := range f.journal {
		if e.Reported && now.Sub(e.Taken) > 7*24*time.Hour {
			delete(f.journal, id)
			continue
		}
		es = append(es, e)
	}
	sort.Slice(es, func(i, j int) bool { return es[i].Taken.Before(es[j].Taken) })
	return f.writeFile(CommandsFile, es)
}

// run sends heartbeats until ctx ends; it returns ErrRestart after a
// restart command.
func (f *fleetPart) run(ctx context.Context) error {
	f.load()
	for {
		interval := f.heartbeatInterval()
		if err := f.round(ctx); err != nil {
			if errors.Is(err, ErrRestart) {
				return err
			}
			if ctx.Err() != nil {
				return nil
			}
			f.a.log.Warn("heartbeat failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-f.kick:
		case <-f.o.After(interval):
		}
	}
}

// Kick asks for a heartbeat round now.
func (f *fleetPart) Kick() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

func (f *fleetPart) heartbeatInterval() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.cfg.parsed.Settings; s != nil {
		if hb, _, err := s.Durations(); err == nil && hb > 0 {
			return hb
		}
	}
	return f.o.HeartbeatInterval
}

// round reports pending results, sends a heartbeat, updates the
// configuration and runs the commands the hub answered with.
func (f *fleetPart) round(ctx context.Context) error {
	if _, err := f.a.ids.Get(); err != nil {
		return nil // not enrolled: nothing to say to a hub
	}
	f.reportPending(ctx)
	hb, err := f.heartbeat(ctx)
	if err != nil {
		return err
	}
	resp, err := f.client.Heartbeat(ctx, hb)
	f.mu.Lock()
	if err != nil {
		f.hbErr = err.Error()
	} else {
		f.hbErr, f.lastHB = "", f.a.opts.Now()
	}
	cur := f.cfg.Version
	f.mu.Unlock()
	if err != nil {
		return err
	}
	f.keepOffer(resp.Update)
	if resp.CardKey != "" {
		// A bad key from the hub fails nothing else: cards keep the key
		// they have.
		if _, err := f.a.win.cards.adopt(resp.CardKey, f.a.log); err != nil {
			f.a.log.Warn("the hub's card key is not taken", "err", err)
		}
	}
	f.mu.Lock()
	refused := f.refused
	if resp.ConfigVersion == cur {
		f.refused = "" // withdrawn: offered again, it is fetched (and judged) again
	}
	f.mu.Unlock()
	if resp.ConfigVersion != "" && resp.ConfigVersion != cur && resp.ConfigVersion != refused {
		if err := f.updateConfig(ctx, cur); err != nil {
			f.a.log.Warn("configuration not updated; keeping the current one", "version", cur, "err", err)
		}
	}
	for _, c := range resp.Commands {
		if err := f.take(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// heartbeat builds the heartbeat from the agent's status.
func (f *fleetPart) heartbeat(ctx context.Context) (*api.Heartbeat, error) {
	st, err := f.a.Status(ctx)
	if err != nil {
		return nil, err
	}
	now := f.a.opts.Now()
	hb := &api.Heartbeat{SoftwareVersion: st.Version, StartedAt: st.Started, UptimeSeconds: int64(now.Sub(st.Started).Seconds()),
		LastSync: st.Sync.LastSync, Outbox: map[string]api.Backlog{}}
	for name, c := range st.Outbox.Classes {
		hb.Outbox[name] = api.Backlog{Count: c.Count, Bytes: c.Bytes, OldestAgeSeconds: c.OldestAgeSeconds}
	}
	for _, d := range st.Devices {
		dh := api.DeviceHealth{Name: d.Name, Kind: d.Kind, State: d.State, Since: d.Since, Error: d.Error}
		if p, ok := d.Detail["paper"].(string); ok {
			dh.Paper = p
		}
		if t, ok := d.Detail["last_reading"].(time.Time); ok {
			dh.LastReading = t
		}
		hb.Devices = append(hb.Devices, dh)
	}
	if free, total, err := diskSpace(f.a.opts.DataDir); err == nil {
		hb.DiskFreeBytes, hb.DiskTotalBytes = free, total
	}
	hb.Updater = f.updaterStatus()
	hb.CardKeyID = f.a.win.cards.keyID()
	f.mu.Lock()
	hb.Screen, hb.Maintenance, hb.ConfigVersion = f.screen, f.maint.On, f.cfg.Version
	f.mu.Unlock()
	return hb, nil
}

// updaterStatus is the updater's status for the heartbeat, or nil when
// there is no updater or its status cannot be read.
func (f *fleetPart) updaterStatus() *api.UpdaterStatus {
	if f.a.opts.UpdaterDir == "" {
		return nil
	}
	st, err := handoff.ReadStatus(f.a.opts.UpdaterDir)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) && err.Error() != f.updaterErr {
			f.a.log.Warn("updater status unreadable; not reported", "err", err)
		}
		f.updaterErr = err.Error()
		return nil
	}
	f.updaterErr = ""
	return st.API()
}

// keepOffer writes the hub's update offer for the updater, or removes
// the file when the hub offers nothing (a rollout paused or stopped:
// an updater that has not switched yet then waits). Written only when it
// changed.
func (f *fleetPart) keepOffer(o *api.UpdateOffer) {
	var data []byte
	if o != nil {
		var err error
		if data, err = json.Marshal(o); err != nil {
			f.a.log.Warn("update offer not kept", "err", err)
			return
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.offerKnown && f.offer == string(data) {
		return
	}
	var err error
	if o == nil {
		if err = os.Remove(f.path(UpdateOfferFile)); errors.Is(err, os.ErrNotExist) {
			err = nil
		}
	} else {
		err = atomicfile.WriteFile(f.path(UpdateOfferFile), data, 0o600)
	}
	if err != nil {
		// Tried again with the next heartbeat answer.
		f.a.log.Warn("update offer not kept", "err", err)
		f.offerKnown = false
		return
	}
	if o != nil {
		f.a.log.Info("update offered", "version", o.Version, "rollout", o.RolloutID)
	} else if f.offer != "" {
		f.a.log.Info("update offer withdrawn")
	}
	f.offer, f.offerKnown = string(data), true
}

// updateConfig fetches, validates and applies a new configuration. On
// any failure the agent keeps the one it has.
func (f *fleetPart) updateConfig(ctx context.Context, have string) error {
	doc, err := f.client.FetchConfig(ctx, have)
	if errors.Is(err, hubsync.ErrNotModified) {
		return nil
	}
	if err != nil {
		return err
	}
	parsed, err := api.ValidateConfig(doc.Document)
	var devs config.Devices
	if err == nil {
		// What the hub cannot check: the devices section against the local
		// file and the drivers. Refused before anything is stopped.
		devs, err = f.a.deviceConfig(parsed.Settings)
	}
	if err != nil {
		f.refuse(ctx, doc.Version, err)
		return fmt.Errorf("agent: configuration %s refused: %w", doc.Version, err)
	}
	rc := remoteConfig{Version: doc.Version, Document: doc.Document, AppliedAt: f.a.opts.Now(), source: "hub", parsed: parsed}
	if err := f.writeFile(RemoteConfigFile, rc); err != nil {
		// Applied anyway: a full disk must not keep new content off the screen.
		f.a.log.Warn("configuration not cached", "err", err)
	}
	f.mu.Lock()
	f.cfg, f.cfgErr, f.refused = rc, "", ""
	f.mu.Unlock()
	if err := f.a.applySettings(ctx, parsed.Settings, devs); err != nil {
		f.mu.Lock()
		f.cfgErr = fmt.Sprintf("version %s applied in part: %v", rc.Version, err)
		f.mu.Unlock()
		f.a.log.Warn("configuration applied in part", "version", rc.Version, "err", err)
	}
	f.a.log.Info("configuration applied", "version", rc.Version)
	if f.o.OnConfig != nil {
		f.o.OnConfig(f.configResponse())
	}
	return nil
}

// refuse keeps the running configuration and says why the hub's version
// was not taken: in the log, in the local API's last error, and to the
// hub as a terminal_config_refused record (the heartbeats meanwhile go
// on reporting the version the terminal runs). The version is not
// fetched again while the hub offers it.
func (f *fleetPart) refuse(ctx context.Context, version string, err error) {
	f.mu.Lock()
	f.cfgErr = fmt.Sprintf("version %s refused: %v", version, err)
	f.refused = version
	running := f.cfg.Version
	f.mu.Unlock()
	f.a.log.Warn("configuration refused; keeping the running one", "version", version, "running", running, "err", err)
	ob, _, perr := f.a.parts()
	if perr != nil {
		return
	}
	// The reason is cut so the record stays within the hub's payload limit
	// however many faults the document had.
	payload, _ := json.Marshal(map[string]string{"version": version, "running": running, "reason": api.CleanText(err.Error(), 4000)})
	if _, serr := ob.Submit(ctx, ConfigRefusedRecord, ClassOf(ConfigRefusedRecord), payload); serr != nil && ctx.Err() == nil {
		f.a.log.Warn("configuration refusal not recorded", "version", version, "err", serr)
	}
}

// ConfigRefusedRecord is the record type that tells the hub a terminal
// refused a configuration version; its payload has the version, the one
// still running and the reason.
const ConfigRefusedRecord = "terminal_config_refused"

// deviceConfig is the devices section the agent runs with settings s: the
// local file's, with the sections of the hub's settings.devices replacing
// its own (config.Devices.Overlay), checked against the drivers.
func (a *Agent) deviceConfig(s *api.TerminalSettings) (config.Devices, error) {
	var raw json.RawMessage
	if s != nil {
		raw = s.Devices
	}
	d, err := a.opts.Config.Devices.Overlay(raw)
	if err != nil {
		return config.Devices{}, fmt.Errorf("settings.devices: %w", err)
	}
	if err := devices.Check(d); err != nil {
		return config.Devices{}, fmt.Errorf("settings.devices: %w", err)
	}
	return d, nil
}

// applySettings makes the running agent follow s without a restart: the
// sync interval (the heartbeat interval is read at every beat) and the
// devices, of which only those whose entry changed are restarted.
func (a *Agent) applySettings(ctx context.Context, s *api.TerminalSettings, devs config.Devices) error {
	var syncEvery time.Duration
	if s != nil {
		_, syncEvery, _ = s.Durations() // validated with the document
	}
	a.syncCompositor(s)
	a.mu.Lock()
	syncer, dm := a.syncer, a.devs
	a.mu.Unlock()
	if syncer != nil {
		syncer.SetInterval(syncEvery)
	}
	if dm == nil {
		return nil
	}
	ch, err := dm.Apply(ctx, devs)
	if !ch.Empty() {
		a.log.Info("devices reconfigured", "stopped", ch.Stopped, "started", ch.Started, "kept", len(ch.Kept))
	}
	if err != nil {
		return fmt.Errorf("agent: devices: %w", err)
	}
	return nil
}

// syncCompositor keeps the compositor's part of the settings (the
// rotation) in display.CompositorFile, rewriting it only when it changes:
// a write makes systemd restart the compositor with the new rotation
// (quartierhub-compositor-settings.path). A failure is logged; the screen
// keeps its rotation.
func (a *Agent) syncCompositor(s *api.TerminalSettings) {
	c := display.CompositorOf(s)
	changed, err := display.WriteCompositor(a.opts.DataDir, c)
	if err != nil {
		a.log.Warn("display rotation not passed to the compositor", "err", err)
		return
	}
	if changed {
		a.log.Info("display rotation for the compositor", "rotation", c.Rotation)
	}
}

func (f *fleetPart) configResponse() localapi.ConfigResponse {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := localapi.ConfigResponse{Version: f.cfg.Version, Source: f.cfg.source, AppliedAt: f.cfg.AppliedAt, Document: f.cfg.Document, LastError: f.cfgErr}
	if out.Document == nil {
		out.Document = json.RawMessage(`{}`)
	}
	return out
}

// take runs command c once: acknowledge, execute, record and report.
func (f *fleetPart) take(ctx context.Context, c api.Command) error {
	f.mu.Lock()
	if e, ok := f.journal[c.ID]; ok {
		f.mu.Unlock()
		if e.Result != nil && !e.Reported {
			f.report(ctx, e)
		}
		return nil
	}
	f.mu.Unlock()
	if _, err := f.client.AckCommand(ctx, c.ID); err != nil {
		if hubsync.Permanent(err) {
			f.a.log.Info("command not taken", "command", c.ID, "kind", c.Kind, "err", err)
			return nil
		}
		return err
	}
	e := &journalEntry{ID: c.ID, Kind: c.Kind, Taken: f.a.opts.Now()}
	f.mu.Lock()
	f.journal[c.ID] = e
	err := f.saveJournal()
	f.mu.Unlock()
	if err != nil {
		return fmt.Errorf("agent: command journal: %w", err)
	}
	f.a.log.Info("command received", "command", c.ID, "kind", c.Kind)
	res, restart := f.execute(ctx, c)
	f.mu.Lock()
	e.Result = &res
	err = f.saveJournal()
	f.mu.Unlock()
	if err != nil {
		return fmt.Errorf("agent: command journal: %w", err)
	}
	if restart {
		// The result goes to the hub from the restarted agent.
		f.a.log.Info("restarting on the hub's command", "command", c.ID)
		return ErrRestart
	}
	f.report(ctx, e)
	return nil
}

// report sends a recorded result; a failure leaves it for the next round.
func (f *fleetPart) report(ctx context.Context, e *journalEntry) {
	_, err := f.client.CommandResult(ctx, e.ID, *e.Result)
	if err != nil && !hubsync.Permanent(err) {
		f.a.log.Warn("command result not reported yet", "command", e.ID, "err", err)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	e.Reported = true
	if err := f.saveJournal(); err != nil {
		f.a.log.Warn("command journal", "err", err)
	}
}

func (f *fleetPart) reportPending(ctx context.Context) {
	f.mu.Lock()
	var pending []*journalEntry
	for _, e := range f.journal {
		if e.Result != nil && !e.Reported {
			pending = append(pending, e)
		}
	}
	f.mu.Unlock()
	for _, e := range pending {
		f.report(ctx, e)
	}
}

// execute does what c asks. restart says the agent must stop now.
func (f *fleetPart) execute(ctx context.Context, c api.Command) (res api.CommandResult, restart bool) {
	fail := func(err error) api.CommandResult { return api.CommandResult{OK: false, Detail: err.Error()} }
	switch c.Kind {
	case api.CommandMaintenanceOn, api.CommandMaintenanceOff:
		m := maintenance{}
		if c.Kind == api.CommandMaintenanceOn {
			m = maintenance{On: true, Message: c.Message, Since: f.a.opts.Now()}
		}
		if err := f.writeFile(MaintenanceFile, m); err != nil {
			return fail(fmt.Errorf("maintenance state not saved: %w", err)), false
		}
		f.mu.Lock()
		f.maint = m
		f.mu.Unlock()
		f.a.log.Info("maintenance changed", "on", m.On)
		return api.CommandResult{OK: true, Detail: fmt.Sprintf("maintenance %t", m.On)}, false
	case api.CommandRestart:
		return api.CommandResult{OK: true, Detail: "agent restarted"}, true
	case api.CommandSyncNow:
		r := f.a.SyncNow(ctx)
		if r.Error != "" {
			return api.CommandResult{OK: false, Detail: "sync failed: " + r.Error}, false
		}
		return api.CommandResult{OK: true, Detail: fmt.Sprintf("sent %d records in %d batches", r.Sent, r.Batches)}, false
	case api.CommandTestPrint:
		if err := f.testPrint(ctx); err != nil {
			return fail(err), false
		}
		return api.CommandResult{OK: true, Detail: "test receipt printed"}, false
	case api.CommandCollectDiagnostics:
		id, err := f.diagnostics(ctx, c.ID)
		if err != nil {
			return fail(err), false
		}
		return api.CommandResult{OK: true, Detail: "diagnostics uploaded", DiagnosticsID: id}, false
	case api.CommandScreenshot:
		return f.screenshot(ctx, c.ID), false
	}
	return fail(fmt.Errorf("unknown command kind %q", c.Kind)), false
}

func (f *fleetPart) testPrint(ctx context.Context) error {
	p := f.a.Printer()
	if p == nil {
		return errors.New("no printer configured")
	}
	name := "?"
	if id, err := f.a.ids.Get(); err == nil {
		name = id.Name
	}
	var r escpos.Receipt
	r.Add(escpos.Text{Text: "Quartierhub", Align: escpos.AlignCentre, Bold: true, Width: 2, Height: 2},
		escpos.Text{Text: "Testdruck / test print", Align: escpos.AlignCentre},
		escpos.Text{Text: name + "\n" + f.a.opts.Now().Format("2006-01-02 15:04:05 MST") + "\nÄÖÜ äöü ß €"},
		escpos.Feed{Lines: 2}, escpos.Cut{Partial: true})
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := p.Print(pctx, r); err != nil {
		return fmt.Errorf("test print: %w", err)
	}
	return nil
}

func (f *fleetPart) diagnostics(ctx context.Context, commandID string) (string, error) {
	st, err := f.a.Status(ctx)
	if err != nil {
		return "", err
	}
	sb, err := json.Marshal(st)
	if err != nil {
		return "", err
	}
	id, err := f.client.UploadDiagnostics(ctx, &api.Diagnostics{CommandID: commandID, Status: sb, Logs: f.ring.Lines()})
	if err != nil {
		return "", fmt.Errorf("diagnostics upload: %w", err)
	}
	return id, nil
}

// maintenance reports whether the hub has put the terminal out of order,
// and its message.
func (f *fleetPart) maintenance() (on bool, message string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.maint.On, f.maint.Message
}

func (f *fleetPart) status() *localapi.FleetStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &localapi.FleetStatus{Maintenance: f.maint.On, MaintenanceMessage: f.maint.Message, MaintenanceSince: f.maint.Since,
		ConfigVersion: f.cfg.Version, LastHeartbeat: f.lastHB, HeartbeatError: f.hbErr, Screen: f.screen}
}

// RemoteConfig implements localapi.FleetBackend.
func (a *Agent) RemoteConfig(context.Context) (localapi.ConfigResponse, error) {
	a.fleet.load()
	return a.fleet.configResponse(), nil
}

// RemoteContent returns the content section of the configuration from
// the hub, decoded, and whether there is one.
func (a *Agent) RemoteContent() (api.Content, bool) {
	a.fleet.load()
	a.fleet.mu.Lock()
	raw := a.fleet.cfg.parsed.Content
	a.fleet.mu.Unlock()
	var c api.Content
	if len(raw) == 0 || json.Unmarshal(raw, &c) != nil {
		return api.Content{}, false
	}
	return c, true
}

// SetScreen implements localapi.FleetBackend.
func (a *Agent) SetScreen(_ context.Context, state string) error {
	a.fleet.mu.Lock()
	a.fleet.screen = state
	a.fleet.mu.Unlock()
	return nil
}

// Heartbeat sends a heartbeat now (and runs what the hub answers).
func (a *Agent) Heartbeat() { a.fleet.Kick() }

// ringLogger returns a logger that also keeps records in the ring.
func ringLogger(l *slog.Logger, r *logRing) *slog.Logger {
	return slog.New(&ringHandler{next: l.Handler(), ring: r})
}
