package store

import (
	"context"
	"time"
)

// FleetTrend is one sample of the fleet's health (migration 00015).
type FleetTrend struct {
	SampledAt time.Time
	// Terminals = Online + Offline + Never + Revoked.
	Terminals, Online, Offline, Never, Revoked int
	// Unsent is the sum of the outbox backlogs the terminals' latest
	// heartbeats reported (revoked terminals left out).
	Unsent int64
	// OpenAlerts counts open alerts, UnackedAlerts those of them nobody
	// acknowledged.
	OpenAlerts, UnackedAlerts int
}

// FleetTrends is the fleet's health over time. Part of Store.
type FleetTrends interface {
	// AddFleetTrend stores a sample. A second sample at the same
	// SampledAt (another process, a retried tick) is ignored.
	AddFleetTrend(ctx context.Context, s FleetTrend) error
	// FleetTrendsBetween returns the samples with from <= SampledAt < to,
	// oldest first.
	FleetTrendsBetween(ctx context.Context, from, to time.Time) ([]FleetTrend, error)
	// PruneFleetTrends deletes samples older than before.
	PruneFleetTrends(ctx context.Context, before time.Time) (int64, error)
}
