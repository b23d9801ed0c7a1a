package pgstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// Acknowledging and muting alerts, and listing diagnostics bundles: the
// SQL of sqlitestore/alerts_ack.go, written with "?" and numbered by rebind.

// rebind numbers the "?" placeholders of q ($1, $2, …); q has no "?" in
// literals.
func rebind(q string) string {
	var b strings.Builder
	n := 0
	for {
		before, after, ok := strings.Cut(q, "?")
		b.WriteString(before)
		if !ok {
			return b.String()
		}
		n++
		b.WriteString("$" + strconv.Itoa(n))
		q = after
	}
}

// mutedAtSQL is true when a mute of alert row a's terminal and kind covers
// the time given by its two "?" parameters (pass the time twice).
const mutedAtSQL = `EXISTS (SELECT 1 FROM alert_mutes m WHERE m.terminal_id = a.terminal_id
	AND (m.kind = '' OR m.kind = a.kind) AND m.created_at <= ? AND ? < m.ends_at)`

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

func scanAlertEntry(row pgx.Row) (store.AlertEntry, error) {
	var e store.AlertEntry
	var first, last int64
	var resolved, nOpen, nRes, acked sql.NullInt64
	var muted int64
	err := row.Scan(&e.ID, &e.TerminalID, &e.Kind, &e.State, &e.Detail, &first, &last, &resolved, &nOpen, &nRes,
		&acked, &e.Ack.By, &e.Ack.Note, &muted)
	e.FirstSeen, e.LastSeen, e.ResolvedAt = store.FromNanos(first), store.FromNanos(last), store.FromNanos(resolved.Int64)
	e.NotifiedOpenAt, e.NotifiedResolvedAt = store.FromNanos(nOpen.Int64), store.FromNanos(nRes.Int64)
	e.Ack.At, e.Muted = store.FromNanos(acked.Int64), muted != 0
	return e, err
}

func scanNotice(row pgx.Row) (store.AlertNotice, error) {
	var n store.AlertNotice
	var first, last int64
	var resolved, nOpen, nRes sql.NullInt64
	var suppress int64
	err := row.Scan(&n.ID, &n.TerminalID, &n.Kind, &n.State, &n.Detail, &first, &last, &resolved, &nOpen, &nRes, &suppress)
	n.FirstSeen, n.LastSeen, n.ResolvedAt = store.FromNanos(first), store.FromNanos(last), store.FromNanos(resolved.Int64)
	n.NotifiedOpenAt, n.NotifiedResolvedAt = store.FromNanos(nOpen.Int64), store.FromNanos(nRes.Int64)
	n.Suppress = suppress != 0
	return n, err
}

func scanMute(row pgx.Row) (store.AlertMute, error) {
	var m store.AlertMute
	var created, until int64
	var lifted sql.NullInt64
	err := row.Scan(&m.ID, &m.TerminalID, &m.Kind, &m.Reason, &created, &m.CreatedBy, &until, &lifted, &m.LiftedBy)
	m.CreatedAt, m.Until, m.LiftedAt = store.FromNanos(created), store.FromNanos(until), store.FromNanos(lifted.Int64)
	return m, err
}

func whereAnd(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// AckAlert implements store.Store.
func (s *Store) AckAlert(ctx context.Context, terminalID, id string, ack store.AlertAck, a store.Audit) error {
	return s.tx(ctx, "ack alert", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE alerts SET acked_at = $1, acked_by = $2, ack_note = $3 WHERE id = $4 AND terminal_id = $5 AND state = 'open'`,
			store.Nanos(ack.At), validText([]byte(ack.By)), validText([]byte(ack.Note)), id, terminalID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			var state string
			err := tx.QueryRow(ctx, `SELECT state FROM alerts WHERE id = $1 AND terminal_id = $2`, id, terminalID).Scan(&state)
			if errors.Is(err, pgx.ErrNoRows) {
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
	args := []any{store.Nanos(now), store.Nanos(now)}
	var conds []string
	for _, c := range []struct{ col, v string }{{"a.state", f.State}, {"a.terminal_id", f.TerminalID}, {"a.kind", f.Kind}} {
		if c.v != "" {
			conds = append(conds, c.col+" = ?")
			args = append(args, c.v)
		}
	}
	q := `SELECT ` + alertEntryCols + ` FROM alerts a` + whereAnd(conds) + ` ORDER BY a.first_seen DESC, a.id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	return queryAll(ctx, s, "alert entries", scanAlertEntry, rebind(q), args...)
}

// CreateAlertMute implements store.Store.
func (s *Store) CreateAlertMute(ctx context.Context, m store.AlertMute, a store.Audit) error {
	return s.tx(ctx, "mute alerts", func(tx pgx.Tx) error {
		if err := mustAffect(tx.Exec(ctx, `INSERT INTO alert_mutes (id, terminal_id, kind, reason, created_at, created_by, until_at, ends_at)
			SELECT $1::text, $2::text, $3::text, $4::text, $5::bigint, $6::text, $7::bigint, $7::bigint WHERE EXISTS (SELECT 1 FROM terminals WHERE id = $2)`,
			m.ID, m.TerminalID, m.Kind, validText([]byte(m.Reason)), store.Nanos(m.CreatedAt), validText([]byte(m.CreatedBy)), store.Nanos(m.Until))); err != nil {
			return err
		}
		return audit(ctx, tx, a)
	})
}

// AlertMutes implements store.Store.
func (s *Store) AlertMutes(ctx context.Context, f store.MuteFilter) ([]store.AlertMute, error) {
	var conds []string
	var args []any
	if f.TerminalID != "" {
		conds = append(conds, "terminal_id = ?")
		args = append(args, f.TerminalID)
	}
	if !f.ActiveAt.IsZero() {
		conds = append(conds, "created_at <= ? AND ? < ends_at")
		args = append(args, store.Nanos(f.ActiveAt), store.Nanos(f.ActiveAt))
	}
	q := `SELECT ` + muteCols + ` FROM alert_mutes` + whereAnd(conds) + ` ORDER BY created_at DESC, id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	return queryAll(ctx, s, "alert mutes", scanMute, rebind(q), args...)
}

// LiftAlertMute implements store.Store.
func (s *Store) LiftAlertMute(ctx context.Context, terminalID, id string, at time.Time, by string, a store.Audit) error {
	return s.tx(ctx, "lift mute", func(tx pgx.Tx) error {
		if err := mustAffect(tx.Exec(ctx, `UPDATE alert_mutes SET ends_at = $1, lifted_at = $1, lifted_by = $2 WHERE id = $3 AND terminal_id = $4 AND ends_at > $1`,
			store.Nanos(at), validText([]byte(by)), id, terminalID)); err != nil {
			return err
		}
		return audit(ctx, tx, a)
	})
}

// PendingAlertNotices implements store.Store.
func (s *Store) PendingAlertNotices(ctx context.Context, now time.Time, limit int) ([]store.AlertNotice, error) {
	return queryAll(ctx, s, "pending notices", scanNotice, rebind(pendingNoticesSQL), store.Nanos(now), store.Nanos(now), limit)
}

// DiagnosticsList implements store.Store.
func (s *Store) DiagnosticsList(ctx context.Context, terminalID string, limit int) ([]store.DiagnosticsInfo, error) {
	q := `SELECT id, terminal_id, command_id, received_at, octet_length(bundle) FROM diagnostics WHERE terminal_id = $1 ORDER BY received_at DESC, id DESC`
	args := []any{terminalID}
	if limit > 0 {
		q += ` LIMIT $2`
		args = append(args, limit)
	}
	return queryAll(ctx, s, "diagnostics list", func(row pgx.Row) (store.DiagnosticsInfo, error) {
		var d store.DiagnosticsInfo
		var recv int64
		err := row.Scan(&d.ID, &d.TerminalID, &d.CommandID, &recv, &d.Size)
		d.ReceivedAt = store.FromNanos(recv)
		if err != nil {
			return d, fmt.Errorf("diagnostics info: %w", err)
		}
		return d, nil
	}, q, args...)
}
