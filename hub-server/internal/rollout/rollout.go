// Package rollout is the hub's staged rollout engine: it rolls a release
// out to the fleet in stages (canary terminals, then growing shares of the
// others), offers the release in heartbeat answers to the terminals whose
// stage is open, follows what their updaters report, opens the next stage
// when a stage succeeded and soaked, and halts by itself, with a
// rollout_halted alert, when too many terminals roll back, fail or fall
// silent. Staff start, pause, resume and stop rollouts (the console).
//
// It has no HTTP: the terminal API calls Observe for each heartbeat, the
// console the staff actions, and the hub runs Run (with PostgreSQL only
// in the process holding the singletons' lease). Every change of a
// rollout is audited, the engine's as actor "system"; staff and engine
// change a rollout only by compare-and-swap on its Seq.
package rollout

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// Store is what the engine needs of the store.
type Store interface {
	Releases(ctx context.Context) ([]store.Release, error)
	StartRollout(ctx context.Context, r store.Rollout, members []store.RolloutMember, a store.Audit) error
	Rollout(ctx context.Context, id string) (store.Rollout, error)
	ActiveRollout(ctx context.Context) (store.Rollout, error)
	UpdateRollout(ctx context.Context, r store.Rollout, a store.Audit) (store.Rollout, error)
	RolloutMembers(ctx context.Context, rolloutID string) ([]store.RolloutMember, error)
	SaveRolloutMembers(ctx context.Context, ms []store.RolloutMember) error
	MaintenanceWindows(ctx context.Context) ([]store.MaintenanceWindow, error)
	Terminals(ctx context.Context) ([]store.Terminal, error)
}

// Alerts raises and resolves the rollout_halted alert (fleet.Evaluator).
type Alerts interface {
	Raise(ctx context.Context, terminal, kind, detail string, at time.Time) error
	Resolve(ctx context.Context, terminal, kind string, at time.Time) error
}

// AlertKind is the kind of the alert a halt raises (fleet.AlertRolloutHalted;
// not imported, so the engine does not depend on the fleet package).
const AlertKind = "rollout_halted"

// SystemActor is the audit actor of the engine's own changes.
const SystemActor = "system"

// Opts configures an Engine. Zero values are the defaults.
type Opts struct {
	// Alerts raises the halt alert; nil raises none.
	Alerts Alerts
	// OfflineAfter is the fleet's offline threshold: a terminal of an
	// open stage, not in a final state, unheard for longer is silent.
	// Default 10 minutes (fleet.Thresholds' default).
	OfflineAfter time.Duration
	// Soak is each default stage's soak time. Default 1 hour.
	Soak time.Duration
	// Every is Run's period. Default 30 seconds.
	Every time.Duration
	// CacheFor is how long Observe trusts its copy of the active rollout
	// and its members before reading them again (heartbeats are the hot
	// path; other processes' changes show after at most this long).
	// Default 5 seconds.
	CacheFor time.Duration
	Now      func() time.Time
	// After waits like time.After (tests drive Run with their own ticks).
	After func(time.Duration) <-chan time.Time
	// Rand is the entropy of rollout IDs. Default crypto/rand.
	Rand   io.Reader
	Logger *slog.Logger
}

// Engine runs staged rollouts on a store. Safe for concurrent use.
type Engine struct {
	st Store
	o  Opts

	mu    sync.Mutex
	cache *snapshot // nil: read again
}

// snapshot is Observe's copy of the active rollout.
type snapshot struct {
	loaded  time.Time
	active  bool
	r       store.Rollout
	members map[string]store.RolloutMember
	windows []store.MaintenanceWindow
}

// New returns an engine on st.
func New(st Store, o Opts) *Engine {
	if o.OfflineAfter <= 0 {
		o.OfflineAfter = 10 * time.Minute
	}
	if o.Soak <= 0 {
		o.Soak = time.Hour
	}
	if o.Every <= 0 {
		o.Every = 30 * time.Second
	}
	if o.CacheFor <= 0 {
		o.CacheFor = 5 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.After == nil {
		o.After = time.After
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Engine{st: st, o: o}
}

// forget makes Observe read the store again.
func (e *Engine) forget() {
	e.mu.Lock()
	e.cache = nil
	e.mu.Unlock()
}

// Run ticks every Opts.Every until ctx ends. A failed tick is logged, not
// fatal: the next one starts from the store again.
func (e *Engine) Run(ctx context.Context) error {
	for {
		if err := e.Tick(ctx); err != nil && ctx.Err() == nil {
			e.o.Logger.Error("rollout tick failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-e.o.After(e.o.Every):
		}
	}
}

// update stores r's change by compare-and-swap and forgets Observe's copy.
func (e *Engine) update(ctx context.Context, r store.Rollout, a store.Audit) (store.Rollout, error) {
	r.UpdatedAt = a.At
	out, err := e.st.UpdateRollout(ctx, r, a)
	e.forget()
	return out, err
}
