package fleet

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// Alert kinds.
const (
	AlertOffline        = "offline"         // not seen for Thresholds.OfflineAfter
	AlertPaperNearEnd   = "paper_near_end"  // the printer's roll is nearly empty
	AlertPaperOut       = "paper_out"       // the printer's roll is empty
	AlertSensorFault    = "sensor_fault"    // a sensor's port is lost or faulty
	AlertSensorSilent   = "sensor_silent"   // a connected sensor sent no reading for SensorSilentAfter
	AlertDeviceFault    = "device_fault"    // the card reader's or printer's port is lost or faulty
	AlertBacklogGrowing = "backlog_growing" // the outbox grew by BacklogGrowthMin over BacklogGrowthWindow
	AlertBacklogOld     = "backlog_old"     // the oldest waiting record is older than BacklogMaxAge
	AlertDiskLow        = "disk_low"        // the data directory's disk is nearly full
	AlertRevokedCalling = "revoked_calling" // a revoked terminal still makes requests
	// AlertRolloutHalted: a staged rollout halted on its failure
	// thresholds; raised on one of its failing terminals (package rollout)
	// and resolved when the rollout is resumed or stopped.
	AlertRolloutHalted = "rollout_halted"
)

// Thresholds say when a condition becomes an alert. Zero values are the
// defaults.
type Thresholds struct {
	OfflineAfter        time.Duration // default 10m
	SensorSilentAfter   time.Duration // default 10m
	BacklogMaxAge       time.Duration // default 1h
	BacklogGrowthWindow time.Duration // default 15m
	BacklogGrowthMin    int64         // default 500 records
	DiskLowBytes        int64         // default 1 GiB
	DiskLowPercent      float64       // default 5 (% of the disk free)
	// RevokedQuietAfter resolves revoked_calling once a revoked terminal
	// stayed silent that long. Default 1h.
	RevokedQuietAfter time.Duration
}

func (t *Thresholds) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.OfflineAfter, 10*time.Minute)
	def(&t.SensorSilentAfter, 10*time.Minute)
	def(&t.BacklogMaxAge, time.Hour)
	def(&t.BacklogGrowthWindow, 15*time.Minute)
	def(&t.RevokedQuietAfter, time.Hour)
	if t.BacklogGrowthMin <= 0 {
		t.BacklogGrowthMin = 500
	}
	if t.DiskLowBytes <= 0 {
		t.DiskLowBytes = 1 << 30
	}
	if t.DiskLowPercent <= 0 {
		t.DiskLowPercent = 5
	}
}

// AlertStore is what the evaluator and the notifier need of the store.
type AlertStore interface {
	Terminal(ctx context.Context, id string) (store.Terminal, error)
	Terminals(ctx context.Context) ([]store.Terminal, error)
	OpenAlert(ctx context.Context, al store.Alert) (bool, error)
	ResolveAlert(ctx context.Context, terminalID, kind string, at time.Time) (bool, error)
	Alerts(ctx context.Context, f store.AlertFilter) ([]store.Alert, error)
	UnnotifiedAlerts(ctx context.Context, limit int) ([]store.Alert, error)
	MarkAlertNotified(ctx context.Context, id string, resolved bool, at time.Time) error
}

// EvaluatorOpts configures an Evaluator. Zero values are the defaults.
type EvaluatorOpts struct {
	Thresholds Thresholds
	// Every is the period of Run's evaluation (offline, revoked quiet).
	// Default 1 minute.
	Every time.Duration
	// TouchEvery bounds how often an open alert's last-seen time is
	// written while the condition lasts. Default 1 minute.
	TouchEvery time.Duration
	// OnChange is called after an alert opened or resolved (the
	// notifier's Kick).
	OnChange func()
	Now      func() time.Time
	Rand     io.Reader // for alert IDs; default crypto/rand
	// After waits like time.After (tests drive Run with their own ticks).
	After  func(time.Duration) <-chan time.Time
	Logger *slog.Logger
	// Shared, if set, says that several hub processes share the store
	// (PostgreSQL): a terminal's heartbeats may reach any of them. The
	// evaluator then re-reads the terminal's open alerts before each
	// evaluation (and all open alerts on each Tick) instead of trusting
	// its memory, and keeps backlog trends in Shared rather than in
	// memory. Without it a single process remembers both.
	Shared TrendStore
}

// TrendStore keeps each terminal's backlog trend where every hub process
// sees it: BacklogTrend starts a new trend at (at, total) when the
// terminal has none or total is at or below its base, atomically, and
// returns the trend.
type TrendStore interface {
	BacklogTrend(ctx context.Context, terminalID string, total int64, at time.Time) (since time.Time, base int64, err error)
}

// Evaluator turns heartbeats and silence into alerts: it opens an alert
// when a condition starts, keeps one open alert per terminal and kind,
// and resolves it when the condition ends. It remembers the open alerts
// in memory (loaded from the store once), so a heartbeat without a change
// costs no write. With several hub processes (EvaluatorOpts.Shared) it
// re-reads what the others may have changed; the store's unique index of
// open alerts keeps one open alert per terminal and kind either way.
type Evaluator struct {
	st AlertStore
	o  EvaluatorOpts

	mu     sync.Mutex
	loaded bool
	open   map[alertKey]*openAlert
	growth map[string]backlogTrend
}

type alertKey struct{ terminal, kind string }

type openAlert struct {
	detail  string
	written time.Time // last_seen as stored
	seen    time.Time // last time the condition held
}

type backlogTrend struct {
	since time.Time
	base  int64
}

// NewEvaluator returns an evaluator on st.
func NewEvaluator(st AlertStore, o EvaluatorOpts) *Evaluator {
	o.Thresholds.setDefaults()
	if o.Every <= 0 {
		o.Every = time.Minute
	}
	if o.TouchEvery <= 0 {
		o.TouchEvery = time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.After == nil {
		o.After = time.After
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Evaluator{st: st, o: o, open: map[alertKey]*openAlert{}, growth: map[string]backlogTrend{}}
}

// Thresholds returns the thresholds in use.
func (e *Evaluator) Thresholds() Thresholds { return e.o.Thresholds }

// allKinds are the kinds the evaluator opens.
var allKinds = []string{AlertOffline, AlertPaperNearEnd, AlertPaperOut, AlertSensorFault, AlertSensorSilent,
	AlertDeviceFault, AlertBacklogGrowing, AlertBacklogOld, AlertDiskLow, AlertRevokedCalling, AlertRolloutHalted}

// reload replaces what memory holds of terminal's open alerts with the
// store's (shared mode). Called with e.mu held.
func (e *Evaluator) reload(ctx context.Context, terminal string) error {
	als, err := e.st.Alerts(ctx, store.AlertFilter{State: store.AlertOpen, TerminalID: terminal})
	if err != nil {
		return fmt.Errorf("fleet: alerts: %w", err)
	}
	for _, k := range allKinds {
		delete(e.open, alertKey{terminal, k})
	}
	for _, a := range als {
		e.open[alertKey{a.TerminalID, a.Kind}] = &openAlert{detail: a.Detail, written: a.LastSeen, seen: a.LastSeen}
	}
	return nil
}

func (e *Evaluator) load(ctx context.Context) error {
	if e.loaded {
		return nil
	}
	als, err := e.st.Alerts(ctx, store.AlertFilter{State: store.AlertOpen})
	if err != nil {
		return fmt.Errorf("fleet: alerts: %w", err)
	}
	for _, a := range als {
		e.open[alertKey{a.TerminalID, a.Kind}] = &openAlert{detail: a.Detail, written: a.LastSeen, seen: a.LastSeen}
	}
	e.loaded = true
	return nil
}

// set opens/touches (active) or resolves the alert of (terminal, kind).
// Called with e.mu held.
func (e *Evaluator) set(ctx context.Context, terminal, kind string, active bool, detail string, at time.Time) error {
	k := alertKey{terminal, kind}
	cur := e.open[k]
	if !active {
		if cur == nil {
			return nil
		}
		if _, err := e.st.ResolveAlert(ctx, terminal, kind, at); err != nil {
			return fmt.Errorf("fleet: resolve alert: %w", err)
		}
		delete(e.open, k)
		e.o.Logger.Info("alert resolved", "terminal", terminal, "kind", kind)
		e.changed()
		return nil
	}
	if cur != nil {
		cur.seen = at
		if cur.detail == detail && at.Sub(cur.written) < e.o.TouchEvery {
			return nil
		}
	}
	id, err := ulid.New(ulid.Timestamp(at), e.o.Rand)
	if err != nil {
		return fmt.Errorf("fleet: alert id: %w", err)
	}
	opened, err := e.st.OpenAlert(ctx, store.Alert{ID: id.String(), TerminalID: terminal, Kind: kind, Detail: detail, FirstSeen: at, LastSeen: at})
	if err != nil {
		return fmt.Errorf("fleet: open alert: %w", err)
	}
	e.open[k] = &openAlert{detail: detail, written: at, seen: at}
	if opened {
		e.o.Logger.Warn("alert opened", "terminal", terminal, "kind", kind, "detail", detail)
		e.changed()
	}
	return nil
}

func (e *Evaluator) changed() {
	if e.o.OnChange != nil {
		e.o.OnChange()
	}
}

// Heartbeat evaluates a heartbeat from t received at at: it notes which
// conditions the heartbeat shows, then opens, touches or resolves each
// alert a heartbeat decides.
func (e *Evaluator) Heartbeat(ctx context.Context, t store.Terminal, hb *api.Heartbeat, at time.Time) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.refresh(ctx, t.ID); err != nil {
		return err
	}
	th := e.o.Thresholds
	shown := findings{}
	shown.devices(hb.Devices, at, th)
	shown.oldBacklog(hb.Outbox, th)
	total := backlogTotal(hb.Outbox)
	trend, err := e.backlogTrend(ctx, t.ID, total, at)
	if err != nil {
		return err
	}
	shown.backlogGrowth(trend, total, at, th, e.open[alertKey{t.ID, AlertBacklogGrowing}])
	shown.diskLow(hb.DiskFreeBytes, hb.DiskTotalBytes, th)
	return e.settle(ctx, t.ID, shown, at)
}

// heartbeatKinds are the alerts a heartbeat decides, in the order they
// are written: each is open while heartbeats show its condition and
// resolved by one that does not. Offline is one of them: a heartbeat is
// the terminal speaking.
var heartbeatKinds = []string{AlertOffline, AlertPaperNearEnd, AlertPaperOut, AlertSensorFault, AlertSensorSilent,
	AlertDeviceFault, AlertBacklogGrowing, AlertBacklogOld, AlertDiskLow}

// findings are the conditions one heartbeat shows: the alert kinds that
// hold, each with what it is about (one entry per device or outbox
// class).
type findings map[string][]string

func (f findings) add(kind, detail string) { f[kind] = append(f[kind], detail) }

func (f findings) holds(kind string) bool {
	_, ok := f[kind]
	return ok
}

// devices notes lost or faulty devices, sensors silent for longer than
// SensorSilentAfter and printers low on paper.
func (f findings) devices(devs []api.DeviceHealth, at time.Time, th Thresholds) {
	for _, d := range devs {
		switch {
		case d.State == "lost" || d.State == "fault":
			kind := AlertDeviceFault
			if d.Sensor() {
				kind = AlertSensorFault
			}
			msg := d.Name + " " + d.State
			if d.Error != "" {
				msg += ": " + d.Error
			}
			f.add(kind, msg)
		case d.Sensor() && !d.LastReading.IsZero() && at.Sub(d.LastReading) > th.SensorSilentAfter:
			f.add(AlertSensorSilent, fmt.Sprintf("%s: no reading since %s", d.Name, d.LastReading.UTC().Format(time.RFC3339)))
		}
		switch d.Paper {
		case "near_end":
			f.add(AlertPaperNearEnd, d.Name+" paper near end")
		case "out":
			f.add(AlertPaperOut, d.Name+" paper out")
		}
	}
}

// oldBacklog notes outbox classes whose oldest record waits longer than
// BacklogMaxAge.
func (f findings) oldBacklog(outbox map[string]api.Backlog, th Thresholds) {
	for class, b := range outbox {
		if age := time.Duration(b.OldestAgeSeconds * float64(time.Second)); b.Count > 0 && age > th.BacklogMaxAge {
			f.add(AlertBacklogOld, fmt.Sprintf("%s: oldest record waits %s", class, age.Round(time.Minute)))
		}
	}
}

func backlogTotal(outbox map[string]api.Backlog) int64 {
	var total int64
	for _, b := range outbox {
		total += b.Count
	}
	return total
}

// backlogTrend returns since when and from which base terminal's backlog
// has been growing (in memory, or in Shared with several processes); a
// backlog at or below its base starts a new trend at (at, total).
// Called with e.mu held.
func (e *Evaluator) backlogTrend(ctx context.Context, terminal string, total int64, at time.Time) (backlogTrend, error) {
	tr, ok := e.growth[terminal]
	if e.o.Shared != nil {
		since, base, err := e.o.Shared.BacklogTrend(ctx, terminal, total, at)
		if err != nil {
			return backlogTrend{}, fmt.Errorf("fleet: %w", err)
		}
		tr, ok = backlogTrend{since: since, base: base}, true
	}
	if !ok || total <= tr.base {
		tr = backlogTrend{since: at, base: total}
		e.growth[terminal] = tr
	}
	return tr, nil
}

// backlogGrowth notes a backlog that grew by BacklogGrowthMin over at
// least BacklogGrowthWindow, and keeps an open backlog_growing alert
// (open, nil if none) open while the backlog stays above where it started
// to grow, until it drains.
func (f findings) backlogGrowth(tr backlogTrend, total int64, at time.Time, th Thresholds, open *openAlert) {
	if at.Sub(tr.since) >= th.BacklogGrowthWindow && total-tr.base >= th.BacklogGrowthMin {
		f.add(AlertBacklogGrowing, fmt.Sprintf("outbox grew from %d to %d records since %s", tr.base, total, tr.since.UTC().Format(time.RFC3339)))
	}
	if open != nil && total > tr.base && !f.holds(AlertBacklogGrowing) {
		f.add(AlertBacklogGrowing, open.detail)
	}
}

// diskLow notes a disk with less than DiskLowBytes or DiskLowPercent free
// (a heartbeat without the disk's size says nothing about it).
func (f findings) diskLow(free, total int64, th Thresholds) {
	if total <= 0 {
		return
	}
	pct := 100 * float64(free) / float64(total)
	if free < th.DiskLowBytes || pct < th.DiskLowPercent {
		f.add(AlertDiskLow, fmt.Sprintf("%d MiB free (%.1f%%)", free>>20, pct))
	}
}

// settle opens or touches the alerts of the kinds shown and resolves the
// other heartbeat kinds. Every kind is written even when one fails; the
// first failure is returned. Called with e.mu held.
func (e *Evaluator) settle(ctx context.Context, terminal string, shown findings, at time.Time) error {
	var first error
	for _, k := range heartbeatKinds {
		if err := e.set(ctx, terminal, k, shown.holds(k), strings.Join(shown[k], "; "), at); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// refresh makes memory hold terminal's open alerts: loaded from the store
// once, and re-read each time when other processes share the store.
// Called with e.mu held.
func (e *Evaluator) refresh(ctx context.Context, terminal string) error {
	if err := e.load(ctx); err != nil {
		return err
	}
	if e.o.Shared != nil {
		return e.reload(ctx, terminal)
	}
	return nil
}

// RevokedCall records that revoked terminal t made a request at at.
func (e *Evaluator) RevokedCall(ctx context.Context, t store.Terminal, at time.Time) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.refresh(ctx, t.ID); err != nil {
		return err
	}
	return e.set(ctx, t.ID, AlertRevokedCalling, true, "revoked "+t.RevokedAt.UTC().Format(time.RFC3339)+", still calling", at)
}

// Raise opens, or keeps open, the alert of kind for terminal on behalf of
// another part (the rollout engine's rollout_halted), with the
// evaluator's de-duplication and notifier kick.
func (e *Evaluator) Raise(ctx context.Context, terminal, kind, detail string, at time.Time) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.refresh(ctx, terminal); err != nil {
		return err
	}
	return e.set(ctx, terminal, kind, true, detail, at)
}

// Resolve resolves the open alert of kind for terminal, if any (Raise's
// counterpart).
func (e *Evaluator) Resolve(ctx context.Context, terminal, kind string, at time.Time) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.refresh(ctx, terminal); err != nil {
		return err
	}
	return e.set(ctx, terminal, kind, false, "", at)
}

// Tick evaluates what needs no heartbeat: terminals gone silent, and
// revoked terminals that stopped calling.
func (e *Evaluator) Tick(ctx context.Context) error {
	now := e.o.Now()
	ts, err := e.st.Terminals(ctx)
	if err != nil {
		return fmt.Errorf("fleet: alerts: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.o.Shared != nil {
		// Other processes open and resolve alerts too: start from the store.
		clear(e.open)
		e.loaded = false
	}
	if err := e.load(ctx); err != nil {
		return err
	}
	th := e.o.Thresholds
	for _, t := range ts {
		seen := t.LastSeenAt
		if seen.IsZero() {
			seen = t.EnrolledAt
		}
		offline := !t.Revoked() && !Online(seen, now, th.OfflineAfter)
		detail := "last seen " + seen.UTC().Format(time.RFC3339)
		if cur := e.open[alertKey{t.ID, AlertOffline}]; offline && cur != nil {
			detail = cur.detail // unchanged: no write each tick
		}
		if err := e.set(ctx, t.ID, AlertOffline, offline, detail, now); err != nil {
			return err
		}
		if cur := e.open[alertKey{t.ID, AlertRevokedCalling}]; cur != nil && now.Sub(cur.seen) >= th.RevokedQuietAfter {
			if err := e.set(ctx, t.ID, AlertRevokedCalling, false, "", now); err != nil {
				return err
			}
		}
	}
	return nil
}

// Run evaluates every Every until ctx ends. Failures are logged, not fatal.
func (e *Evaluator) Run(ctx context.Context) error {
	for {
		if err := e.Tick(ctx); err != nil && ctx.Err() == nil {
			e.o.Logger.Error("alert evaluation failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-e.o.After(e.o.Every):
		}
	}
}
