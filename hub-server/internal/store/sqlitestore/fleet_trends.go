package sqlitestore

import (
	"context"
	"database/sql"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// AddFleetTrend implements store.FleetTrends.
func (s *Store) AddFleetTrend(ctx context.Context, t store.FleetTrend) error {
	return s.writeTx(ctx, "add fleet trend", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO fleet_trends (sampled_at, terminals, online, offline, never, revoked,
			unsent, open_alerts, unacked_alerts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sampled_at) DO NOTHING`,
			store.Nanos(t.SampledAt), t.Terminals, t.Online, t.Offline, t.Never, t.Revoked, t.Unsent, t.OpenAlerts, t.UnackedAlerts)
		return err
	})
}

// FleetTrendsBetween implements store.FleetTrends.
func (s *Store) FleetTrendsBetween(ctx context.Context, from, to time.Time) ([]store.FleetTrend, error) {
	return queryAll(ctx, s.r, "fleet trends", func(sc interface{ Scan(...any) error }) (store.FleetTrend, error) {
		var t store.FleetTrend
		var at int64
		err := sc.Scan(&at, &t.Terminals, &t.Online, &t.Offline, &t.Never, &t.Revoked, &t.Unsent, &t.OpenAlerts, &t.UnackedAlerts)
		t.SampledAt = store.FromNanos(at)
		return t, err
	}, `SELECT sampled_at, terminals, online, offline, never, revoked, unsent, open_alerts, unacked_alerts
		FROM fleet_trends WHERE sampled_at >= ? AND sampled_at < ? ORDER BY sampled_at`, store.Nanos(from), store.Nanos(to))
}

// PruneFleetTrends implements store.FleetTrends.
func (s *Store) PruneFleetTrends(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.writeTx(ctx, "prune fleet trends", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM fleet_trends WHERE sampled_at < ?`, store.Nanos(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
