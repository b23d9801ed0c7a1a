// Package aggregate reduces sensor readings on the terminal to one record
// per sensor, quantity and minute (mean, min, max, count) before they enter
// the outbox.
//
// A minute closes when a reading of the same sensor and quantity arrives
// for a later minute, or when Flush is called at least Opts.Grace after the
// minute ended (Run does this every Opts.Tick). Closed minutes are handed
// to an Emitter in order; if it fails, they stay queued and are retried at
// the next Flush. Close (and Run, when its context ends) emits the minutes
// still open, marked Partial, so a clean shutdown loses nothing.
//
// Readings taken while a sensor warms up are excluded from the statistics
// but counted (WarmUp); so are non-finite values (Invalid). A reading for a
// minute that was already closed is dropped and counted (Stats.Late).
package aggregate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"
)

// Reading is one measurement from a sensor driver.
type Reading struct {
	Sensor   string    // sensor id, e.g. "sds011-0"
	Quantity string    // e.g. "pm25", "pm10", "co2"
	Unit     string    // e.g. "ug/m3", "ppm"
	Value    float64   //
	At       time.Time // when it was measured
	WarmUp   bool      // taken while the sensor warms up: excluded, counted
	// Model is the device kind ("sds011", "mhz19") and Expected the
	// readings a full minute holds at the configured rate; the hub reads
	// both to flag incomplete minutes (internal/air). Taken from a
	// minute's first reading.
	Model    string
	Expected int
}

// Aggregate summarises one sensor's quantity over one minute. Mean, Min and
// Max are meaningful only when Count > 0.
type Aggregate struct {
	Sensor   string    `json:"sensor"`
	Quantity string    `json:"quantity"`
	Unit     string    `json:"unit"`
	Minute   time.Time `json:"minute"` // start of the minute, UTC
	Count    int       `json:"count"`  // readings in the statistics
	Mean     float64   `json:"mean"`
	Min      float64   `json:"min"`
	Max      float64   `json:"max"`
	WarmUp   int       `json:"warmup,omitempty"`  // readings excluded: sensor warming up
	Invalid  int       `json:"invalid,omitempty"` // readings excluded: NaN or infinite
	// Partial marks a minute emitted before it ended (shutdown). Another
	// Aggregate for the same minute may follow after a restart.
	Partial bool `json:"partial,omitempty"`
	// Model is the device kind, e.g. "sds011" (internal/air's model IDs).
	Model string `json:"model,omitempty"`
	// Expected is the readings a full minute holds at the configured rate
	// (SDS011 active 60; query mode 60 s / interval; MH-Z19B 60 s / poll
	// interval, 12 by default); 0 if unknown.
	Expected int `json:"expected,omitempty"`
}

func (a Aggregate) String() string {
	return fmt.Sprintf("%s/%s %s n=%d mean=%g min=%g max=%g %s",
		a.Sensor, a.Quantity, a.Minute.Format(time.RFC3339), a.Count, a.Mean, a.Min, a.Max, a.Unit)
}

// Emitter receives closed minutes; the terminal's implementation submits
// them to the outbox as ClassSensor records.
type Emitter interface {
	Emit(ctx context.Context, a Aggregate) error
}

// EmitFunc adapts a function to Emitter.
type EmitFunc func(ctx context.Context, a Aggregate) error

// Emit calls f.
func (f EmitFunc) Emit(ctx context.Context, a Aggregate) error { return f(ctx, a) }

// Defaults for zero Opts fields.
const (
	DefaultGrace           = 5 * time.Second
	DefaultTick            = time.Second
	DefaultMaxPending      = 10000
	DefaultShutdownTimeout = 5 * time.Second
)

// Opts configures an Aggregator. Zero values select the defaults.
type Opts struct {
	// Grace is how long after a minute ends Flush waits for late readings
	// before closing it. Default 5 s.
	Grace time.Duration
	// Tick is how often Run flushes. Default 1 s.
	Tick time.Duration
	// Ticks, if set, replaces Run's ticker (for tests).
	Ticks <-chan time.Time
	// Now is the clock Run flushes by. Default time.Now.
	Now func() time.Time
	// MaxPending bounds closed minutes waiting for a failing Emitter; the
	// oldest beyond it are dropped and counted. Default 10000 (about a
	// week for one sensor with three quantities).
	MaxPending int
	// ShutdownTimeout bounds the final flush when Run's context ends.
	// Default 5 s.
	ShutdownTimeout time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Stats counts what the Aggregator did not emit.
type Stats struct {
	Open    int   // minutes being collected
	Pending int   // closed minutes not yet emitted
	Late    int64 // readings for an already closed minute, dropped
	Dropped int64 // closed minutes dropped because MaxPending was exceeded
}

type key struct{ sensor, quantity, unit string }

type pending struct {
	seq uint64
	Aggregate
}

type acc struct {
	Aggregate
	sum float64
}

// Aggregator collects readings. It is safe for concurrent use.
type Aggregator struct {
	emit Emitter
	opts Opts
	log  *slog.Logger

	mu         sync.Mutex
	open       map[key]*acc
	lastClosed map[key]time.Time // latest closed minute per key
	pending    []pending
	seq        uint64
	late       int64
	dropped    int64

	flushMu sync.Mutex // one emitter call sequence at a time keeps order
}

// New returns an Aggregator that hands closed minutes to emit.
func New(emit Emitter, opts Opts) *Aggregator {
	if opts.Grace <= 0 {
		opts.Grace = DefaultGrace
	}
	if opts.Tick <= 0 {
		opts.Tick = DefaultTick
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = DefaultMaxPending
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = DefaultShutdownTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Aggregator{
		emit:       emit,
		opts:       opts,
		log:        opts.Logger.With("component", "aggregate"),
		open:       map[key]*acc{},
		lastClosed: map[key]time.Time{},
	}
}

// Add records a reading. It never blocks on the Emitter.
func (g *Aggregator) Add(r Reading) {
	minute := r.At.UTC().Truncate(time.Minute)
	k := key{r.Sensor, r.Quantity, r.Unit}
	g.mu.Lock()
	defer g.mu.Unlock()
	a := g.open[k]
	if a != nil && minute.After(a.Minute) {
		g.closeLocked(k, a, false)
		a = nil
	}
	if (a != nil && minute.Before(a.Minute)) || (a == nil && !minute.After(g.lastClosed[k]) && !g.lastClosed[k].IsZero()) {
		g.late++
		return
	}
	if a == nil {
		a = &acc{Aggregate: Aggregate{Sensor: r.Sensor, Quantity: r.Quantity, Unit: r.Unit, Minute: minute, Model: r.Model, Expected: r.Expected}}
		g.open[k] = a
	}
	switch {
	case r.WarmUp:
		a.WarmUp++
	case math.IsNaN(r.Value) || math.IsInf(r.Value, 0):
		a.Invalid++
	default:
		if a.Count == 0 || r.Value < a.Min {
			a.Min = r.Value
		}
		if a.Count == 0 || r.Value > a.Max {
			a.Max = r.Value
		}
		a.Count++
		a.sum += r.Value
	}
}

func (g *Aggregator) closeLocked(k key, a *acc, partial bool) {
	delete(g.open, k)
	if a.Minute.After(g.lastClosed[k]) {
		g.lastClosed[k] = a.Minute
	}
	out := a.Aggregate
	if out.Count > 0 {
		out.Mean = a.sum / float64(out.Count)
	}
	out.Partial = partial
	g.seq++
	g.pending = append(g.pending, pending{g.seq, out})
	if over := len(g.pending) - g.opts.MaxPending; over > 0 {
		g.pending = slices.Delete(g.pending, 0, over)
		g.dropped += int64(over)
		g.log.Warn("aggregate backlog full; dropped oldest minutes", "dropped", over)
	}
}

// Flush closes every minute that ended at least Grace before now and emits
// all closed minutes. On an Emitter error the rest stay queued for the next
// Flush, and the error is returned.
func (g *Aggregator) Flush(ctx context.Context, now time.Time) error {
	g.mu.Lock()
	g.closeWhereLocked(func(a *acc) bool { return !now.Before(a.Minute.Add(time.Minute + g.opts.Grace)) }, now)
	g.mu.Unlock()
	return g.emitPending(ctx)
}

// Close emits every minute, including those still open (marked Partial
// when they have not ended by Opts.Now). Call it on shutdown, before the
// outbox closes.
func (g *Aggregator) Close(ctx context.Context) error {
	g.mu.Lock()
	g.closeWhereLocked(func(*acc) bool { return true }, g.opts.Now())
	g.mu.Unlock()
	return g.emitPending(ctx)
}

// closeWhereLocked closes matching open minutes in a stable order: by
// minute, then sensor, quantity and unit.
func (g *Aggregator) closeWhereLocked(match func(*acc) bool, now time.Time) {
	var keys []key
	for k, a := range g.open {
		if match(a) {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(x, y key) int {
		return cmp.Or(g.open[x].Minute.Compare(g.open[y].Minute),
			cmp.Compare(x.sensor, y.sensor), cmp.Compare(x.quantity, y.quantity), cmp.Compare(x.unit, y.unit))
	})
	for _, k := range keys {
		a := g.open[k]
		g.closeLocked(k, a, now.Before(a.Minute.Add(time.Minute)))
	}
}

func (g *Aggregator) emitPending(ctx context.Context) error {
	g.flushMu.Lock()
	defer g.flushMu.Unlock()
	for {
		g.mu.Lock()
		if len(g.pending) == 0 {
			g.mu.Unlock()
			return nil
		}
		p := g.pending[0]
		g.mu.Unlock()
		if err := g.emit.Emit(ctx, p.Aggregate); err != nil {
			a := p.Aggregate
			return fmt.Errorf("aggregate: emit %s/%s %s: %w", a.Sensor, a.Quantity, a.Minute.Format(time.RFC3339), err)
		}
		g.mu.Lock()
		// Only emitPending removes from the front, and it holds flushMu;
		// trimming for MaxPending may have removed p already.
		if len(g.pending) > 0 && g.pending[0].seq == p.seq {
			g.pending = g.pending[1:]
		}
		g.mu.Unlock()
	}
}

// Stats reports what is open, pending and lost.
func (g *Aggregator) Stats() Stats {
	g.mu.Lock()
	defer g.mu.Unlock()
	return Stats{Open: len(g.open), Pending: len(g.pending), Late: g.late, Dropped: g.dropped}
}

// Run flushes every Opts.Tick until ctx ends, then emits everything still
// open (see Close) within Opts.ShutdownTimeout.
func (g *Aggregator) Run(ctx context.Context) error {
	ticks := g.opts.Ticks
	if ticks == nil {
		t := time.NewTicker(g.opts.Tick)
		defer t.Stop()
		ticks = t.C
	}
	for {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.opts.ShutdownTimeout)
			defer cancel()
			if err := g.Close(sctx); err != nil {
				return fmt.Errorf("aggregate: final flush: %w", err)
			}
			return nil
		case <-ticks:
			if err := g.Flush(ctx, g.opts.Now()); err != nil && !errors.Is(err, context.Canceled) {
				g.log.Warn("aggregate flush failed; will retry", "err", err, "pending", g.Stats().Pending)
			}
		}
	}
}
