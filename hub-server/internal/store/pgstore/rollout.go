package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// lockRollouts serialises starting rollouts, so two processes cannot
// both find no active rollout and start one each. Apart from the
// transaction locks of pgstore.go (small numbers) and leases (≥ 1000).
const lockRollouts int32 = 0x52

// AddRelease implements store.Store.
func (s *Store) AddRelease(ctx context.Context, r store.Release, a store.Audit) error {
	return s.tx(ctx, "add release", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO rollout_releases (version, target, added_at, added_by) VALUES ($1, $2, $3, $4)
			ON CONFLICT (version) DO NOTHING`, r.Version, r.Target, store.Nanos(r.AddedAt), r.AddedBy)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			var target string
			if err := tx.QueryRow(ctx, `SELECT target FROM rollout_releases WHERE version = $1`, r.Version).Scan(&target); err != nil {
				return err
			}
			if target != r.Target {
				return store.ErrVersionConflict
			}
		}
		return audit(ctx, tx, a)
	})
}

// Releases implements store.Store.
func (s *Store) Releases(ctx context.Context) ([]store.Release, error) {
	return queryAll(ctx, s, "releases", func(row pgx.Row) (store.Release, error) {
		var r store.Release
		var at int64
		err := row.Scan(&r.Version, &r.Target, &at, &r.AddedBy)
		r.AddedAt = store.FromNanos(at)
		return r, err
	}, `SELECT version, target, added_at, added_by FROM rollout_releases ORDER BY added_at DESC, version DESC`)
}

const rolloutCols = `id, version, target, state, stages, stage, stage_started_at, success_percent, fail_count, fail_percent, failures_since,
	reason, alert_terminal, created_at, created_by, updated_at, version_seq`

func scanRollout(row pgx.Row) (store.Rollout, error) {
	var r store.Rollout
	var stages string
	var started, since, created, updated int64
	if err := row.Scan(&r.ID, &r.Version, &r.Target, &r.State, &stages, &r.Stage, &started, &r.SuccessPercent,
		&r.FailCount, &r.FailPercent, &since, &r.Reason, &r.AlertTerminal, &created, &r.CreatedBy, &updated, &r.Seq); err != nil {
		return r, err
	}
	r.StageStartedAt, r.FailuresSince = store.FromNanos(started), store.FromNanos(since)
	r.CreatedAt, r.UpdatedAt = store.FromNanos(created), store.FromNanos(updated)
	var err error
	r.Stages, err = store.DecodeStages(stages)
	return r, err
}

const activeStates = `('` + store.RolloutRunning + `', '` + store.RolloutPaused + `', '` + store.RolloutHalted + `')`

// StartRollout implements store.Store.
func (s *Store) StartRollout(ctx context.Context, r store.Rollout, members []store.RolloutMember, a store.Audit) error {
	return s.tx(ctx, "start rollout", func(tx pgx.Tx) error {
		if err := xactLock(ctx, tx, lockRollouts); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM rollout_releases WHERE version = $1`, r.Version).Scan(&n); err != nil {
			return err
		} else if n == 0 {
			return store.ErrNotFound
		}
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM rollouts WHERE state IN `+activeStates).Scan(&n); err != nil {
			return err
		} else if n > 0 {
			return store.ErrRolloutActive
		}
		if _, err := tx.Exec(ctx, `INSERT INTO rollouts (`+rolloutCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 1)`,
			r.ID, r.Version, r.Target, r.State, store.EncodeStages(r.Stages), r.Stage, store.Nanos(r.StageStartedAt), r.SuccessPercent,
			r.FailCount, r.FailPercent, store.Nanos(r.FailuresSince), r.Reason, r.AlertTerminal, store.Nanos(r.CreatedAt), r.CreatedBy, store.Nanos(r.UpdatedAt)); err != nil {
			return err
		}
		if err := saveMembers(ctx, tx, members); err != nil {
			return err
		}
		return audit(ctx, tx, a)
	})
}

func rowErr(what string, err error) error {
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return store.ErrNotFound
	case err != nil:
		return fmt.Errorf("pgstore: %s: %w", what, err)
	}
	return nil
}

// Rollout implements store.Store.
func (s *Store) Rollout(ctx context.Context, id string) (store.Rollout, error) {
	r, err := scanRollout(s.pool.QueryRow(ctx, `SELECT `+rolloutCols+` FROM rollouts WHERE id = $1`, id))
	return r, rowErr("rollout", err)
}

// ActiveRollout implements store.Store.
func (s *Store) ActiveRollout(ctx context.Context) (store.Rollout, error) {
	r, err := scanRollout(s.pool.QueryRow(ctx, `SELECT `+rolloutCols+` FROM rollouts WHERE state IN `+activeStates+` ORDER BY created_at DESC LIMIT 1`))
	return r, rowErr("active rollout", err)
}

// Rollouts implements store.Store.
func (s *Store) Rollouts(ctx context.Context, limit int) ([]store.Rollout, error) {
	q := `SELECT ` + rolloutCols + ` FROM rollouts ORDER BY created_at DESC, id DESC`
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	return queryAll(ctx, s, "rollouts", scanRollout, q)
}

// UpdateRollout implements store.Store.
func (s *Store) UpdateRollout(ctx context.Context, r store.Rollout, a store.Audit) (store.Rollout, error) {
	err := s.tx(ctx, "update rollout", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE rollouts SET state = $1, stage = $2, stage_started_at = $3, failures_since = $4, reason = $5, alert_terminal = $6,
			updated_at = $7, version_seq = version_seq + 1 WHERE id = $8 AND version_seq = $9`,
			r.State, r.Stage, store.Nanos(r.StageStartedAt), store.Nanos(r.FailuresSince), r.Reason, r.AlertTerminal, store.Nanos(r.UpdatedAt), r.ID, r.Seq)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			var one int
			if err := tx.QueryRow(ctx, `SELECT 1 FROM rollouts WHERE id = $1`, r.ID).Scan(&one); errors.Is(err, pgx.ErrNoRows) {
				return store.ErrNotFound
			}
			return store.ErrVersionConflict
		}
		if a.Action == "" {
			return nil
		}
		return audit(ctx, tx, a)
	})
	if err == nil {
		r.Seq++
	}
	return r, err
}

// RolloutMembers implements store.Store.
func (s *Store) RolloutMembers(ctx context.Context, rolloutID string) ([]store.RolloutMember, error) {
	return queryAll(ctx, s, "rollout members", func(row pgx.Row) (store.RolloutMember, error) {
		var m store.RolloutMember
		var since, offered int64
		err := row.Scan(&m.RolloutID, &m.TerminalID, &m.Stage, &m.State, &since, &offered, &m.Detail)
		m.Since, m.OfferedAt = store.FromNanos(since), store.FromNanos(offered)
		return m, err
	}, `SELECT rollout_id, terminal_id, stage, state, since, offered_at, detail FROM rollout_terminals
		WHERE rollout_id = $1 ORDER BY stage, terminal_id`, rolloutID)
}

// SaveRolloutMembers implements store.Store.
func (s *Store) SaveRolloutMembers(ctx context.Context, ms []store.RolloutMember) error {
	return s.tx(ctx, "save rollout members", func(tx pgx.Tx) error { return saveMembers(ctx, tx, ms) })
}

func saveMembers(ctx context.Context, tx pgx.Tx, ms []store.RolloutMember) error {
	b := &pgx.Batch{}
	for _, m := range ms {
		b.Queue(`INSERT INTO rollout_terminals (rollout_id, terminal_id, stage, state, since, offered_at, detail)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (rollout_id, terminal_id) DO UPDATE SET stage = excluded.stage, state = excluded.state,
			since = excluded.since, offered_at = excluded.offered_at, detail = excluded.detail`,
			m.RolloutID, m.TerminalID, m.Stage, m.State, store.Nanos(m.Since), store.Nanos(m.OfferedAt), m.Detail)
	}
	return tx.SendBatch(ctx, b).Close()
}

// PutMaintenanceWindow implements store.Store.
func (s *Store) PutMaintenanceWindow(ctx context.Context, w store.MaintenanceWindow, a store.Audit) error {
	if err := w.Validate(); err != nil {
		return err
	}
	return s.tx(ctx, "put window", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO maintenance_windows (quarter, days, start, duration_minutes, time_zone, updated_at, updated_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (quarter) DO UPDATE SET days = excluded.days, start = excluded.start,
			duration_minutes = excluded.duration_minutes, time_zone = excluded.time_zone, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
			w.Quarter, strings.Join(w.Days, ","), w.Start, w.DurationMinutes, w.TimeZone, store.Nanos(w.UpdatedAt), w.UpdatedBy); err != nil {
			return err
		}
		return audit(ctx, tx, a)
	})
}

// DeleteMaintenanceWindow implements store.Store.
func (s *Store) DeleteMaintenanceWindow(ctx context.Context, quarter string, a store.Audit) error {
	return s.tx(ctx, "delete window", func(tx pgx.Tx) error {
		if err := mustAffect(tx.Exec(ctx, `DELETE FROM maintenance_windows WHERE quarter = $1`, quarter)); err != nil {
			return err
		}
		return audit(ctx, tx, a)
	})
}

// MaintenanceWindows implements store.Store.
func (s *Store) MaintenanceWindows(ctx context.Context) ([]store.MaintenanceWindow, error) {
	return queryAll(ctx, s, "windows", func(row pgx.Row) (store.MaintenanceWindow, error) {
		var w store.MaintenanceWindow
		var days string
		var at int64
		err := row.Scan(&w.Quarter, &days, &w.Start, &w.DurationMinutes, &w.TimeZone, &at, &w.UpdatedBy)
		w.Days, w.UpdatedAt = strings.Split(days, ","), store.FromNanos(at)
		return w, err
	}, `SELECT quarter, days, start, duration_minutes, time_zone, updated_at, updated_by FROM maintenance_windows ORDER BY quarter`)
}
