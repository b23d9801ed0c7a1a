package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// LeadOpts configures Lead. Zero values are the defaults.
type LeadOpts struct {
	// Retry is how often a process that does not lead tries to take the
	// lease. Default 5s.
	Retry time.Duration
	// Check is how often the leader checks the connection that holds the
	// lease. Default 2s.
	Check time.Duration
	// OnChange, if set, is told when this process starts and stops
	// leading (metrics, tests).
	OnChange func(leading bool)
	Logger   *slog.Logger
}

// Lead runs fn only while this process holds the lease name: a
// session-level advisory lock (pg_try_advisory_lock) on a connection of
// its own, outside the pool. Of several hub processes on one database,
// one runs fn; the others try again every Retry. When the leader's
// connection fails (or its session is ended), fn's context is cancelled
// and Lead competes again, so another process takes over. The database
// releases the lock of a dead session by itself; until the old leader's
// Check notices, both may briefly run fn, so fn's work must tolerate a
// rare repeat (the webhook notifier may then repeat one notice).
//
// Lead returns nil when ctx ends, or fn's error if fn fails on its own.
func (s *Store) Lead(ctx context.Context, name string, fn func(context.Context) error, o LeadOpts) error {
	if o.Retry <= 0 {
		o.Retry = 5 * time.Second
	}
	if o.Check <= 0 {
		o.Check = 2 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	key := leaseKey(name)
	for {
		led, err := s.leadOnce(ctx, key, fn, o)
		if ctx.Err() != nil {
			return nil
		}
		var lost errLeaseLost
		switch {
		case errors.As(err, &lost):
			o.Logger.Warn("lease lost", "lease", name, "err", lost.err)
		case err != nil && led:
			return fmt.Errorf("pgstore: lead %s: %w", name, err)
		case err != nil:
			o.Logger.Warn("lease: cannot compete", "lease", name, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(o.Retry):
		}
	}
}

type errLeaseLost struct{ err error }

func (e errLeaseLost) Error() string { return "lease lost: " + e.err.Error() }

func (s *Store) leadOnce(ctx context.Context, key int32, fn func(context.Context) error, o LeadOpts) (led bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return false, err
	}
	defer conn.Close(context.Background())
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, $2)`, lockSpace, key).Scan(&got); err != nil || !got {
		return false, err
	}
	if o.OnChange != nil {
		o.OnChange(true)
		defer o.OnChange(false)
	}
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- fn(lctx) }()
	tick := time.NewTicker(o.Check)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return true, err
		case <-tick.C:
			pctx, pcancel := context.WithTimeout(ctx, max(o.Check, 5*time.Second))
			err := conn.Ping(pctx)
			pcancel()
			if err != nil && ctx.Err() == nil {
				cancel()
				<-done
				return true, errLeaseLost{err}
			}
		}
	}
}

// BacklogTrend implements fleet.TrendStore: in one statement, a terminal
// without a trend, or whose backlog total fell to or below its base,
// starts a new trend at (at, total); the trend is returned.
func (s *Store) BacklogTrend(ctx context.Context, terminalID string, total int64, at time.Time) (time.Time, int64, error) {
	var since, base int64
	err := s.pool.QueryRow(ctx, `INSERT INTO backlog_trends (terminal_id, since, base) VALUES ($1, $2, $3)
		ON CONFLICT (terminal_id) DO UPDATE SET
			since = CASE WHEN excluded.base <= backlog_trends.base THEN excluded.since ELSE backlog_trends.since END,
			base = CASE WHEN excluded.base <= backlog_trends.base THEN excluded.base ELSE backlog_trends.base END
		RETURNING since, base`, terminalID, at.UnixNano(), total).Scan(&since, &base)
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("pgstore: backlog trend: %w", err)
	}
	return time.Unix(0, since).UTC(), base, nil
}
