package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// AddFleetTrend implements store.FleetTrends.
func (s *Store) AddFleetTrend(ctx context.Context, t store.FleetTrend) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO fleet_trends (sampled_at, terminals, online, offline, never, revoked,
		unsent, open_alerts, unacked_alerts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (sampled_at) DO NOTHING`,
		store.Nanos(t.SampledAt), t.Terminals, t.Online, t.Offline, t.Never, t.Revoked, t.Unsent, t.OpenAlerts, t.UnackedAlerts)
	if err != nil {
		return fmt.Errorf("pgstore: add fleet trend: %w", err)
	}
	return nil
}

// FleetTrendsBetween implements store.FleetTrends.
func (s *Store) FleetTrendsBetween(ctx context.Context, from, to time.Time) ([]store.FleetTrend, error) {
	return queryAll(ctx, s, "fleet trends", func(row pgx.Row) (store.FleetTrend, error) {
		var t store.FleetTrend
		var at int64
		err := row.Scan(&at, &t.Terminals, &t.Online, &t.Offline, &t.Never, &t.Revoked, &t.Unsent, &t.OpenAlerts, &t.UnackedAlerts)
		t.SampledAt = store.FromNanos(at)
		return t, err
	}, `SELECT sampled_at, terminals, online, offline, never, revoked, unsent, open_alerts, unacked_alerts
		FROM fleet_trends WHERE sampled_at >= $1 AND sampled_at < $2 ORDER BY sampled_at`, store.Nanos(from), store.Nanos(to))
}

// PruneFleetTrends implements store.FleetTrends.
func (s *Store) PruneFleetTrends(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM fleet_trends WHERE sampled_at < $1`, store.Nanos(before))
	if err != nil {
		return 0, fmt.Errorf("pgstore: prune fleet trends: %w", err)
	}
	return tag.RowsAffected(), nil
}
