package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// SamplerStore is what the trend sampler needs of the store.
type SamplerStore interface {
	Terminals(ctx context.Context) ([]store.Terminal, error)
	Healths(ctx context.Context) ([]store.Health, error)
	AlertEntries(ctx context.Context, f store.AlertFilter, now time.Time) ([]store.AlertEntry, error)
	AddFleetTrend(ctx context.Context, s store.FleetTrend) error
	PruneFleetTrends(ctx context.Context, before time.Time) (int64, error)
}

// SamplerOpts configures a Sampler. Zero values are the defaults.
type SamplerOpts struct {
	// Every is the sample period. Default 5 minutes. Samples are taken
	// on its grid (SampledAt is a multiple of Every), so a second process
	// taking over the lease within a period adds nothing twice.
	Every time.Duration
	// Retention is how long samples are kept. Default 400 days: a year
	// compared with the one before. At one row per 5 minutes that is
	// about 115,000 rows.
	Retention time.Duration
	// OnlineWithin: a terminal seen this recently is online, as on the
	// console's fleet page. Default 90 s.
	OnlineWithin time.Duration
	Now          func() time.Time
	After        func(time.Duration) <-chan time.Time
	Logger       *slog.Logger
}

// Sampler records the fleet's health every period (store.FleetTrend):
// the console draws its charts from these samples. A fleet singleton.
type Sampler struct {
	st SamplerStore
	o  SamplerOpts
}

// NewSampler returns a sampler on st.
func NewSampler(st SamplerStore, o SamplerOpts) *Sampler {
	if o.Every <= 0 {
		o.Every = 5 * time.Minute
	}
	if o.Retention <= 0 {
		o.Retention = 400 * 24 * time.Hour
	}
	if o.OnlineWithin <= 0 {
		o.OnlineWithin = 90 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.After == nil {
		o.After = time.After
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Sampler{st: st, o: o}
}

// outboxOnly is the part of a stored heartbeat the sampler reads:
// decoding only the backlog counts keeps a sample of 10,000 terminals
// cheap.
type outboxOnly struct {
	Outbox map[string]struct {
		Count int64 `json:"count"`
	} `json:"outbox"`
}

// Measure computes the fleet's health at now without storing it.
func (s *Sampler) Measure(ctx context.Context, now time.Time) (store.FleetTrend, error) {
	tr := store.FleetTrend{SampledAt: now.UTC()}
	ts, err := s.st.Terminals(ctx)
	if err != nil {
		return tr, fmt.Errorf("fleet trends: terminals: %w", err)
	}
	counted := make(map[string]bool, len(ts))
	for i := range ts {
		t := &ts[i]
		tr.Terminals++
		switch {
		case t.Revoked():
			tr.Revoked++
			continue
		case t.LastSeenAt.IsZero():
			tr.Never++
		case Online(t.LastSeenAt, now, s.o.OnlineWithin):
			tr.Online++
		default:
			tr.Offline++
		}
		counted[t.ID] = true
	}
	hs, err := s.st.Healths(ctx)
	if err != nil {
		return tr, fmt.Errorf("fleet trends: health: %w", err)
	}
	for _, h := range hs {
		if !counted[h.TerminalID] {
			continue
		}
		var ob outboxOnly
		if json.Unmarshal(h.State, &ob) != nil {
			continue // stored heartbeats were validated; a bad one counts nothing
		}
		for _, b := range ob.Outbox {
			if b.Count > 0 {
				tr.Unsent += b.Count
			}
		}
	}
	es, err := s.st.AlertEntries(ctx, store.AlertFilter{State: store.AlertOpen}, now)
	if err != nil {
		return tr, fmt.Errorf("fleet trends: alerts: %w", err)
	}
	for i := range es {
		tr.OpenAlerts++
		if !es[i].Acked() {
			tr.UnackedAlerts++
		}
	}
	return tr, nil
}

// Tick takes the sample of the current period and prunes old ones.
func (s *Sampler) Tick(ctx context.Context) (store.FleetTrend, error) {
	now := s.o.Now()
	tr, err := s.Measure(ctx, now)
	if err != nil {
		return tr, err
	}
	tr.SampledAt = now.UTC().Truncate(s.o.Every)
	if err := s.st.AddFleetTrend(ctx, tr); err != nil {
		return tr, fmt.Errorf("fleet trends: %w", err)
	}
	if _, err := s.st.PruneFleetTrends(ctx, now.Add(-s.o.Retention)); err != nil {
		return tr, fmt.Errorf("fleet trends: %w", err)
	}
	return tr, nil
}

// Run samples every Every until ctx ends; failures are logged.
func (s *Sampler) Run(ctx context.Context) error {
	for {
		if _, err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.o.Logger.Error("fleet trend sampler", "err", err)
		}
		// The next sample at the next point of the grid, not Every after
		// this one: ticks that took a while do not drift.
		now := s.o.Now()
		select {
		case <-ctx.Done():
			return nil
		case <-s.o.After(now.Truncate(s.o.Every).Add(s.o.Every).Sub(now)):
		}
	}
}
