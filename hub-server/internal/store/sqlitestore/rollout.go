package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// AddRelease implements store.Store.
func (s *Store) AddRelease(ctx context.Context, r store.Release, a store.Audit) error {
	return s.writeTx(ctx, "add release", func(tx *sql.Tx) error {
		var target string
		err := tx.QueryRowContext(ctx, `SELECT target FROM rollout_releases WHERE version = ?`, r.Version).Scan(&target)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := tx.ExecContext(ctx, `INSERT INTO rollout_releases (version, target, added_at, added_by) VALUES (?, ?, ?, ?)`,
				r.Version, r.Target, store.Nanos(r.AddedAt), r.AddedBy); err != nil {
				return err
			}
		case err != nil:
			return err
		case target != r.Target:
			return store.ErrVersionConflict
		}
		return audit(ctx, tx, a)
	})
}

// Releases implements store.Store.
func (s *Store) Releases(ctx context.Context) ([]store.Release, error) {
	return queryAll(ctx, s.r, "releases", func(sc interface{ Scan(...any) error }) (store.Release, error) {
		var r store.Release
		err := sc.Scan(&r.Version, &r.Target, nanosInto{&r.AddedAt}, &r.AddedBy)
		return r, err
	}, `SELECT version, target, added_at, added_by FROM rollout_releases ORDER BY added_at DESC, version DESC`)
}

const rolloutCols = `id, version, target, state, stages, stage, stage_started_at, success_percent, fail_count, fail_percent, failures_since,
	reason, alert_terminal, created_at, created_by, updated_at, version_seq`

func scanRollout(sc interface{ Scan(...any) error }) (store.Rollout, error) {
	var r store.Rollout
	var stages string
	if err := sc.Scan(&r.ID, &r.Version, &r.Target, &r.State, &stages, &r.Stage, nanosInto{&r.StageStartedAt}, &r.SuccessPercent,
		&r.FailCount, &r.FailPercent, nanosInto{&r.FailuresSince}, &r.Reason, &r.AlertTerminal, nanosInto{&r.CreatedAt}, &r.CreatedBy, nanosInto{&r.UpdatedAt}, &r.Seq); err != nil {
		return r, err
	}
	var err error
	r.Stages, err = store.DecodeStages(stages)
	return r, err
}

// activeStates is the SQL list of store.Rollout.Active's states.
const activeStates = `('` + store.RolloutRunning + `', '` + store.RolloutPaused + `', '` + store.RolloutHalted + `')`

// StartRollout implements store.Store.
func (s *Store) StartRollout(ctx context.Context, r store.Rollout, members []store.RolloutMember, a store.Audit) error {
	return s.writeTx(ctx, "start rollout", func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM rollout_releases WHERE version = ?`, r.Version).Scan(&n); err != nil {
			return err
		} else if n == 0 {
			return store.ErrNotFound
		}
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM rollouts WHERE state IN `+activeStates).Scan(&n); err != nil {
			return err
		} else if n > 0 {
			return store.ErrRolloutActive
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO rollouts (`+rolloutCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
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

// Rollout implements store.Store.
func (s *Store) Rollout(ctx context.Context, id string) (store.Rollout, error) {
	r, err := scanRollout(s.r.QueryRowContext(ctx, `SELECT `+rolloutCols+` FROM rollouts WHERE id = ?`, id))
	return r, rowErr("rollout", err)
}

// ActiveRollout implements store.Store.
func (s *Store) ActiveRollout(ctx context.Context) (store.Rollout, error) {
	r, err := scanRollout(s.r.QueryRowContext(ctx, `SELECT `+rolloutCols+` FROM rollouts WHERE state IN `+activeStates+` ORDER BY created_at DESC LIMIT 1`))
	return r, rowErr("active rollout", err)
}

func rowErr(what string, err error) error {
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.ErrNotFound
	case err != nil:
		return fmt.Errorf("sqlitestore: %s: %w", what, err)
	}
	return nil
}

// Rollouts implements store.Store.
func (s *Store) Rollouts(ctx context.Context, limit int) ([]store.Rollout, error) {
	q := `SELECT ` + rolloutCols + ` FROM rollouts ORDER BY created_at DESC, id DESC`
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	return queryAll(ctx, s.r, "rollouts", scanRollout, q)
}

// UpdateRollout implements store.Store.
func (s *Store) UpdateRollout(ctx context.Context, r store.Rollout, a store.Audit) (store.Rollout, error) {
	err := s.writeTx(ctx, "update rollout", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE rollouts SET state = ?, stage = ?, stage_started_at = ?, failures_since = ?, reason = ?, alert_terminal = ?,
			updated_at = ?, version_seq = version_seq + 1 WHERE id = ? AND version_seq = ?`,
			r.State, r.Stage, store.Nanos(r.StageStartedAt), store.Nanos(r.FailuresSince), r.Reason, r.AlertTerminal, store.Nanos(r.UpdatedAt), r.ID, r.Seq)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM rollouts WHERE id = ?`, r.ID).Scan(&one); errors.Is(err, sql.ErrNoRows) {
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
	return queryAll(ctx, s.r, "rollout members", func(sc interface{ Scan(...any) error }) (store.RolloutMember, error) {
		var m store.RolloutMember
		err := sc.Scan(&m.RolloutID, &m.TerminalID, &m.Stage, &m.State, nanosInto{&m.Since}, nanosInto{&m.OfferedAt}, &m.Detail)
		return m, err
	}, `SELECT rollout_id, terminal_id, stage, state, since, offered_at, detail FROM rollout_terminals
		WHERE rollout_id = ? ORDER BY stage, terminal_id`, rolloutID)
}

// SaveRolloutMembers implements store.Store.
func (s *Store) SaveRolloutMembers(ctx context.Context, ms []store.RolloutMember) error {
	return s.writeTx(ctx, "save rollout members", func(tx *sql.Tx) error { return saveMembers(ctx, tx, ms) })
}

func saveMembers(ctx context.Context, tx *sql.Tx, ms []store.RolloutMember) error {
	for _, m := range ms {
		if _, err := tx.ExecContext(ctx, `INSERT INTO rollout_terminals (rollout_id, terminal_id, stage, state, since, offered_at, detail)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (rollout_id, terminal_id) DO UPDATE SET stage = excluded.stage, state = excluded.state,
			since = excluded.since, offered_at = excluded.offered_at, detail = excluded.detail`,
			m.RolloutID, m.TerminalID, m.Stage, m.State, store.Nanos(m.Since), store.Nanos(m.OfferedAt), m.Detail); err != nil {
			return err
		}
	}
	return nil
}

// PutMaintenanceWindow implements store.Store.
func (s *Store) PutMaintenanceWindow(ctx context.Context, w store.MaintenanceWindow, a store.Audit) error {
	if err := w.Validate(); err != nil {
		return err
	}
	return s.writeTx(ctx, "put window", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO maintenance_windows (quarter, days, start, duration_minutes, time_zone, updated_at, updated_by)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (quarter) DO UPDATE SET days = excluded.days, start = excluded.start,
			duration_minutes = excluded.duration_minutes, time_zone = excluded.time_zone, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
			w.Quarter, strings.Join(w.Days, ","), w.Start, w.DurationMinutes, w.TimeZone, store.Nanos(w.UpdatedAt), w.UpdatedBy); err != nil {
			return err
		}
		return audit(ctx, tx, a)
	})
}

// DeleteMaintenanceWindow implements store.Store.
func (s *Store) DeleteMaintenanceWindow(ctx context.Context, quarter string, a store.Audit) error {
	return s.writeTx(ctx, "delete window", func(tx *sql.Tx) error {
		if err := mustAffect(tx.ExecContext(ctx, `DELETE FROM maintenance_windows WHERE quarter = ?`, quarter)); err != nil {
			return err
		}
		return audit(ctx, tx, a)
	})
}

// MaintenanceWindows implements store.Store.
func (s *Store) MaintenanceWindows(ctx context.Context) ([]store.MaintenanceWindow, error) {
	return queryAll(ctx, s.r, "windows", func(sc interface{ Scan(...any) error }) (store.MaintenanceWindow, error) {
		var w store.MaintenanceWindow
		var days string
		err := sc.Scan(&w.Quarter, &days, &w.Start, &w.DurationMinutes, &w.TimeZone, nanosInto{&w.UpdatedAt}, &w.UpdatedBy)
		w.Days = strings.Split(days, ",")
		return w, err
	}, `SELECT quarter, days, start, duration_minutes, time_zone, updated_at, updated_by FROM maintenance_windows ORDER BY quarter`)
}
