package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// Acknowledging and muting alerts, and listing diagnostics bundles. The
// SQL is the same in pgstore/alerts_ack.go (with $n parameters).

// mutedAtSQL is true when a mute of alert row a's terminal and kind covers
// the time given by its two "?" parameters (pass the time twice).
const mutedAtSQL = `EXISTS (SELECT 1 FROM alert_mutes m WHERE m.terminal_id = a.terminal_id
	AND (m.kind = '' OR m.kind = a.kind) AND m.created_at <= ? AND ? < m.ends_at)`

// Queries (pgstore/alerts_ack.go has the same).
const (
	alertEntryCols = `a.id, a.terminal_id, a.kind, a.state, a.detail, a.first_seen, a.last_seen, a.resolved_at,
		a.notified_open_at, a.notified_resolved_at, a.acked_at, a.acked_by, a.ack_note, CASE WHEN ` + mutedAtSQL + ` THEN 1 ELSE 0 END`
	// pendingNoticesSQL takes (now, now, limit).
	pendingNoticesSQL = `SELECT a.id, a.terminal_id, a.kind, a.state, a.detail, a.first_seen, a.last_seen, a.resolved_at,
		a.notified_open_at, a.notified_resolved_at,
		CASE WHEN a.notified_open_at IS NULL AND a.state = 'resolved' AND EXISTS (SELECT 1 FROM alert_mutes m
			WHERE m.terminal_id = a.terminal_id AND (m.kind = '' OR m.kind = a.kind) AND m.created_at <= a.resolved_at AND a.resolved_at < m.ends_at)
		THEN 1 ELSE 0 END
		FROM alerts a
		WHERE (a.notified_open_at IS NULL OR (a.state = 'resolved' AND a.notified_resolved_at IS NULL))
		AND NOT (a.state = 'open' AND a.notified_open_at IS NULL AND ` + mutedAtSQL + `)
		ORDER BY a.first_seen, a.id LIMIT ?`
	muteCols = `id, terminal_id, kind, reason, created_at, created_by, until_at, lifted_at, lifted_by`
)

// scanAlertEntry scans alertEntryCols.
func scanAlertEntry(sc interface{ Scan(...any) error }) (store.AlertEntry, error) {
	var e store.AlertEntry
	var first, last int64
	var resolved, nOpen, nRes, acked sql.NullInt64
	var muted int64
	err := sc.Scan(&e.ID, &e.TerminalID, &e.Kind, &e.State, &e.Detail, &first, &last, &resolved, &nOpen, &nRes,
		&acked, &e.Ack.By, &e.Ack.Note, &muted)
	e.FirstSeen, e.LastSeen, e.ResolvedAt = store.FromNanos(first), store.FromNanos(last), store.FromNanos(resolved.Int64)
	e.NotifiedOpenAt, e.NotifiedResolvedAt = store.FromNanos(nOpen.Int64), store.FromNanos(nRes.Int64)
	e.Ack.At, e.Muted = store.FromNanos(acked.Int64), muted != 0
	return e, err
}

// scanNotice scans pendingNoticesSQL's columns.
func scanNotice(sc interface{ Scan(...any) error }) (store.AlertNotice, error) {
	var n store.AlertNotice
	var first, last int64
	var resolved, nOpen, nRes sql.NullInt64
	var suppress int64
	err := sc.Scan(&n.ID, &n.TerminalID, &n.Kind, &n.State, &n.Detail, &first, &last, &resolved, &nOpen, &nRes, &suppress)
	n.FirstSeen, n.LastSeen, n.ResolvedAt = store.FromNanos(first), store.FromNanos(last), store.FromNanos(resolved.Int64)
	n.NotifiedOpenAt, n.NotifiedResolvedAt = store.FromNanos(nOpen.Int64), store.FromNanos(nRes.Int64)
	n.Suppress = suppress != 0
	return n, err
}

// scanMute scans muteCols.
func scanMute(sc interface{ Scan(...any) error }) (store.AlertMute, error) {
	var m store.AlertMute
	var created, until int64
	var lifted sql.NullInt64
	err := sc.Scan(&m.ID, &m.TerminalID, &m.Kind, &m.Reason, &created, &m.CreatedBy, &until, &lifted, &m.LiftedBy)
	m.CreatedAt, m.Until, m.LiftedAt = store.FromNanos(created), store.FromNanos(until), store.FromNanos(lifted.Int64)
	return m, err
}

// alertFilterSQL turns f into conditions on alerts a, in order.
func alertFilterSQL(f store.AlertFilter) (conds []string, args []any) {
	for _, c := range []struct{ col, v string }{{"a.state", f.State}, {"a.terminal_id", f.TerminalID}, {"a.kind", f.Kind}} {
		if c.v != "" {
			conds = append(conds, c.col+" = ?")
			args = append(args, c.v)
		}
	}
	return conds, args
}

// muteFilterSQL turns f into conditions on alert_mutes, in order.
func muteFilterSQL(f store.MuteFilter) (conds []string, args []any) {
	if f.TerminalID != "" {
		conds = append(conds, "terminal_id = ?")
		args = append(args, f.TerminalID)
	}
	if !f.ActiveAt.IsZero() {
		conds = append(conds, "created_at <= ? AND ? < ends_at")
		args = append(args, store.Nanos(f.ActiveAt), store.Nanos(f.ActiveAt))
	}
	return conds, args
}

// AckAlert implements store.Store.
func (s *Store) AckAlert(ctx context.Context, terminalID, id string, ack store.AlertAck, a store.Audit) error {
	return s.writeTx(ctx, "ack alert", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE alerts SET acked_at = ?, acked_by = ?, ack_note = ? WHERE id = ? AND terminal_id = ? AND state = 'open'`,
			store.Nanos(ack.At), ack.By, ack.Note, id, terminalID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			var state string
			err := tx.QueryRowContext(ctx, `SELECT state FROM alerts WHERE id = ? AND terminal_id = ?`, id, terminalID).Scan(&state)
			if errors.Is(err, sql.ErrNoRows) {
				return store.ErrNotFound
			}
			if err != nil {
				return err
			}
			return store.ErrAlertResolved
		}
		return audit(ctx, tx, a)
	})
}

// AlertEntries implements store.Store.
func (s *Store) AlertEntries(ctx context.Context, f store.AlertFilter, now time.Time) ([]store.AlertEntry, error) {
	conds, args := alertFilterSQL(f)
	args = append([]any{store.Nanos(now), store.Nanos(now)}, args...)
	q := `SELECT ` + alertEntryCols + ` FROM alerts a` + whereClause(conds) + ` ORDER BY a.first_seen DESC, a.id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	return queryAll(ctx, s.r, "alert entries", scanAlertEntry, q, args...)
}

// CreateAlertMute implements store.Store.
func (s *Store) CreateAlertMute(ctx context.Context, m store.AlertMute, a store.Audit) error {
	return s.writeTx(ctx, "mute alerts", func(tx *sql.Tx) error {
		if err := mustAffect(tx.ExecContext(ctx, `INSERT INTO alert_mutes (id, terminal_id, kind, reason, created_at, created_by, until_at, ends_at)
			SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM terminals WHERE id = ?)`,
			m.ID, m.TerminalID, m.Kind, m.Reason, store.Nanos(m.CreatedAt), m.CreatedBy, store.Nanos(m.Until), store.Nanos(m.Until), m.TerminalID)); err != nil {
			return err
		}
		return audit(ctx, tx, a)
	})
}

// AlertMutes implements store.Store.
func (s *Store) AlertMutes(ctx context.Context, f store.MuteFilter) ([]store.AlertMute, error) {
	conds, args := muteFilterSQL(f)
	q := `SELECT ` + muteCols + ` FROM alert_mutes` + whereClause(conds) + ` ORDER BY created_at DESC, id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	return queryAll(ctx, s.r, "alert mutes", scanMute, q, args...)
}

// LiftAlertMute implements store.Store.
func (s *Store) LiftAlertMute(ctx context.Context, terminalID, id string, at time.Time, by string, a store.Audit) error {
	return s.writeTx(ctx, "lift mute", func(tx *sql.Tx) error {
		if err := mustAffect(tx.ExecContext(ctx, `UPDATE alert_mutes SET ends_at = ?, lifted_at = ?, lifted_by = ? WHERE id = ? AND terminal_id = ? AND ends_at > ?`,
			store.Nanos(at), store.Nanos(at), by, id, terminalID, store.Nanos(at))); err != nil {
			return err
		}
		return audit(ctx, tx, a)
	})
}

// PendingAlertNotices implements store.Store.
func (s *Store) PendingAlertNotices(ctx context.Context, now time.Time, limit int) ([]store.AlertNotice, error) {
	return queryAll(ctx, s.r, "pending notices", scanNotice, pendingNoticesSQL, store.Nanos(now), store.Nanos(now), limit)
}

// DiagnosticsList implements store.Store.
func (s *Store) DiagnosticsList(ctx context.Context, terminalID string, limit int) ([]store.DiagnosticsInfo, error) {
	q := `SELECT id, terminal_id, command_id, received_at, LENGTH(CAST(bundle AS BLOB)) FROM diagnostics WHERE terminal_id = ? ORDER BY received_at DESC, id DESC`
	args := []any{terminalID}
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	return queryAll(ctx, s.r, "diagnostics list", scanDiagnosticsInfo, q, args...)
}

func scanDiagnosticsInfo(sc interface{ Scan(...any) error }) (store.DiagnosticsInfo, error) {
	var d store.DiagnosticsInfo
	var recv int64
	err := sc.Scan(&d.ID, &d.TerminalID, &d.CommandID, &recv, &d.Size)
	d.ReceivedAt = store.FromNanos(recv)
	if err != nil {
		return d, fmt.Errorf("diagnostics info: %w", err)
	}
	return d, nil
}
