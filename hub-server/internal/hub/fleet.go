package hub

import (
	"context"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/fleet"
	"github.com/quartierhub/quartierhub/hub-server/internal/rollout"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/pgstore"
	"github.com/quartierhub/quartierhub/hub-server/internal/terminalapi"
)

// FleetConfig tunes the fleet machinery. Zero values are the parts'
// defaults (package fleet).
type FleetConfig struct {
	// Webhook receives alerts as JSON POSTs. Empty: none are sent.
	Webhook string
	// WebhookPoll is how often, with several processes on one database,
	// the leading process looks for alerts the others opened.
	WebhookPoll time.Duration
	// SampleEvery is how often an unchanged terminal health is still
	// written to the history.
	SampleEvery time.Duration
	// HistoryRetention is how long health history is kept.
	HistoryRetention time.Duration
	// Thresholds say when a condition becomes an alert.
	Thresholds fleet.Thresholds
}

// leaseFleetSingletons is the PostgreSQL lease under which one of
// several hub processes runs the fleet's singletons.
const leaseFleetSingletons = "fleet-singletons"

// buildFleet makes the batcher, the notifier, the evaluator (which kicks
// the notifier on every change), the janitor and the rollout engine
// (which raises its alert through the evaluator).
func (h *Hub) buildFleet() {
	cfg, fc, log := h.cfg, h.cfg.Fleet, h.log
	h.Batcher = fleet.NewBatcher(h.Store, fleet.BatcherOpts{SampleEvery: fc.SampleEvery, Logger: log})
	no := fleet.NotifierOpts{URL: fc.Webhook, Now: cfg.Now, Logger: log}
	eo := fleet.EvaluatorOpts{Thresholds: fc.Thresholds, Now: cfg.Now, Rand: cfg.Rand, Logger: log}
	if shared, ok := h.opened.(fleet.TrendStore); ok {
		// Several processes may share this store: alerts opened by a
		// process that does not run the notifier are found by polling.
		eo.Shared, no.Poll = shared, fc.WebhookPoll
	}
	h.Notifier = fleet.NewNotifier(h.Store, no)
	eo.OnChange = h.Notifier.Kick
	h.Evaluator = fleet.NewEvaluator(h.Store, eo)
	h.Janitor = fleet.NewJanitor(h.Store, fleet.JanitorOpts{HistoryRetention: fc.HistoryRetention, Now: cfg.Now, Logger: log})
	h.Rollouts = rollout.New(h.Store, rollout.Opts{Alerts: h.Evaluator, OfflineAfter: h.Evaluator.Thresholds().OfflineAfter,
		Now: cfg.Now, Rand: cfg.Rand, Logger: log})
}

// fleetHandlerOpts wires the terminal API's fleet endpoints: heartbeats
// go to the batcher, are evaluated for alerts and answered with the
// rollout's offer; calls of revoked terminals are evaluated too.
func (h *Hub) fleetHandlerOpts() terminalapi.FleetOpts {
	return terminalapi.FleetOpts{
		Heartbeats: h.Batcher,
		Updates:    h.Rollouts,
		OnHeartbeat: func(t store.Terminal, hb *api.Heartbeat, at time.Time) {
			if err := h.Evaluator.Heartbeat(context.Background(), t, hb, at); err != nil {
				h.log.Error("alert evaluation", "terminal", t.ID, "err", err)
			}
		},
		OnRevokedCall: func(t store.Terminal, at time.Time) {
			if err := h.Evaluator.RevokedCall(context.Background(), t, at); err != nil {
				h.log.Error("alert evaluation", "terminal", t.ID, "err", err)
			}
		},
	}
}

// runSingletons runs the evaluator's ticks, the notifier, the janitor,
// the TUF timestamp refresher, the rollout engine's ticks and the fleet
// trend sampler: with PostgreSQL only while this process holds the
// lease, else always.
func (h *Hub) runSingletons(ctx context.Context) error {
	sampler := fleet.NewSampler(h.Store, fleet.SamplerOpts{Now: h.cfg.Now, Logger: h.log})
	singletons := func(ctx context.Context) error {
		g, gctx := errgroup.WithContext(ctx)
		for _, run := range []func(context.Context) error{h.Evaluator.Run, h.Notifier.Run, h.Janitor.Run, h.TUFRefresher.Run, h.Rollouts.Run, sampler.Run} {
			g.Go(func() error { return run(gctx) })
		}
		return g.Wait()
	}
	pg, ok := h.opened.(*pgstore.Store)
	if !ok {
		return singletons(ctx)
	}
	return pg.Lead(ctx, leaseFleetSingletons, singletons, pgstore.LeadOpts{Logger: h.log, OnChange: func(leading bool) {
		h.log.Info("fleet singletons", "leading", leading)
	}})
}
