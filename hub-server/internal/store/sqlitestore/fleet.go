package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// TerminalByName implements store.Store.
func (s *Store) TerminalByName(ctx context.Context, name string) (store.Terminal, error) {
	t, err := scanTerminal(s.r.QueryRowContext(ctx, `SELECT `+terminalCols+terminalFrom+` WHERE t.name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return t, store.ErrNotFound
	}
	if err != nil {
		return t, fmt.Errorf("sqlitestore: terminal by name: %w", err)
	}
	return t, nil
}

func audit(ctx context.Context, tx *sql.Tx, a store.Audit) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_log (seq, at, actor, action, subject, detail)
		VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_log), ?, ?, ?, ?, ?)`,
		store.Nanos(a.At), a.Actor, a.Action, a.Subject, a.Detail)
	return err
}

// SetTerminalTags implements store.Store.
func (s *Store) SetTerminalTags(ctx context.Context, id string, tags []string, a store.Audit) error {
	norm, err := store.NormalizeTags(tags)
	if err != nil {
		return err
	}
	return s.writeTx(ctx, "set tags", func(tx *sql.Tx) error {
		if err := mustAffect(tx.ExecContext(ctx, `UPDATE terminals SET tags = ? WHERE id = ?`, store.EncodeTags(norm), id)); err != nil {
			return err
		}
		return audit(ctx, tx, a)
	})
}

// The heartbeat UPSERT decides in SQL whether a history row is due, so
// several hub processes sharing one database agree, and a heartbeat costs
// one statement. Column references in SET are the old row's values.
const heartbeatSQL = `INSERT INTO terminal_health (terminal_id, received_at, digest, history_at, history_reason, software_version, state)
	SELECT ?, ?, ?, ?, 'first', ?, ? WHERE EXISTS (SELECT 1 FROM terminals WHERE id = ?)
	ON CONFLICT (terminal_id) DO UPDATE SET
		history_at = CASE
			WHEN terminal_health.digest <> excluded.digest OR excluded.received_at - terminal_health.history_at >= ? THEN excluded.received_at
			ELSE terminal_health.history_at END,
		history_reason = CASE
			WHEN terminal_health.digest <> excluded.digest THEN 'change'
			WHEN excluded.received_at - terminal_health.history_at >= ? THEN 'sample'
			ELSE terminal_health.history_reason END,
		received_at = excluded.received_at,
		digest = excluded.digest,
		software_version = excluded.software_version,
		state = excluded.state
	RETURNING history_at, history_reason`

// SaveHeartbeats implements store.Store.
func (s *Store) SaveHeartbeats(ctx context.Context, ws []store.HeartbeatWrite, sampleEvery time.Duration) ([]bool, error) {
	hist := make([]bool, len(ws))
	err := s.writeTx(ctx, "heartbeats", func(tx *sql.Tx) error {
		up := tx.StmtContext(ctx, s.hot.heartbeat)
		defer up.Close()
		var ins *sql.Stmt
		for i, w := range ws {
			at := store.Nanos(w.At)
			var histAt int64
			var reason string
			err := up.QueryRowContext(ctx, w.TerminalID, at, w.Digest, at, w.SoftwareVersion, string(w.State), w.TerminalID,
				int64(sampleEvery), int64(sampleEvery)).Scan(&histAt, &reason)
			if errors.Is(err, sql.ErrNoRows) {
				continue // unknown terminal
			}
			if err != nil {
				return err
			}
			if histAt != at {
				continue
			}
			if ins == nil {
				ins = tx.StmtContext(ctx, s.hot.history)
				defer ins.Close()
			}
			if _, err := ins.ExecContext(ctx, w.TerminalID, at, reason, string(w.State)); err != nil {
				return err
			}
			hist[i] = true
		}
		return nil
	})
	return hist, err
}

const healthCols = `terminal_id, received_at, digest, history_at, software_version, state`

func scanHealth(sc interface{ Scan(...any) error }) (store.Health, error) {
	var h store.Health
	var recv, hist int64
	var state string
	if err := sc.Scan(&h.TerminalID, &recv, &h.Digest, &hist, &h.SoftwareVersion, &state); err != nil {
		return h, err
	}
	h.ReceivedAt, h.HistoryAt, h.State = store.FromNanos(recv), store.FromNanos(hist), []byte(state)
	return h, nil
}

// Health implements store.Store.
func (s *Store) Health(ctx context.Context, terminalID string) (store.Health, error) {
	h, err := scanHealth(s.r.QueryRowContext(ctx, `SELECT `+healthCols+` FROM terminal_health WHERE terminal_id = ?`, terminalID))
	if errors.Is(err, sql.ErrNoRows) {
		return h, store.ErrNotFound
	}
	if err != nil {
		return h, fmt.Errorf("sqlitestore: health: %w", err)
	}
	return h, nil
}

// Healths implements store.Store.
func (s *Store) Healths(ctx context.Context) ([]store.Health, error) {
	return queryAll(ctx, s.r, "healths", scanHealth, `SELECT `+healthCols+` FROM terminal_health ORDER BY terminal_id`)
}

// HealthHistory implements store.Store.
func (s *Store) HealthHistory(ctx context.Context, terminalID string, since time.Time, limit int) ([]store.HealthSample, error) {
	q := `SELECT at, reason, state FROM health_history WHERE terminal_id = ? AND at >= ? ORDER BY at`
	args := []any{terminalID, store.Nanos(since)}
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	return queryAll(ctx, s.r, "health history", func(sc interface{ Scan(...any) error }) (store.HealthSample, error) {
		var h store.HealthSample
		var at int64
		var state string
		err := sc.Scan(&at, &h.Reason, &state)
		h.At, h.State = store.FromNanos(at), []byte(state)
		return h, err
	}, q, args...)
}

// PruneHealthHistory implements store.Store.
func (s *Store) PruneHealthHistory(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.writeTx(ctx, "prune history", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM health_history WHERE at < ?`, store.Nanos(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// PutConfigLayer implements store.Store.
func (s *Store) PutConfigLayer(ctx context.Context, scope string, doc []byte, a store.Audit) (int64, error) {
	return s.putConfigLayer(ctx, scope, doc, -1, a)
}

// PutConfigLayerIf implements store.Store.
func (s *Store) PutConfigLayerIf(ctx context.Context, scope string, doc []byte, base int64, a store.Audit) (int64, error) {
	if base < 0 {
		return 0, fmt.Errorf("sqlitestore: put config: base version %d", base)
	}
	return s.putConfigLayer(ctx, scope, doc, base, a)
}

// putConfigLayer stores scope's next version if the current one is base
// (any when base is -1). The write transaction holds SQLite's one write
// lock from the check to the commit.
func (s *Store) putConfigLayer(ctx context.Context, scope string, doc []byte, base int64, a store.Audit) (int64, error) {
	if !store.ValidScope(scope) {
		return 0, fmt.Errorf("sqlitestore: invalid scope %q", scope)
	}
	var version int64
	err := s.writeTx(ctx, "put config", func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) + 1 FROM config_layers WHERE scope = ?`, scope).Scan(&version); err != nil {
			return err
		}
		if base >= 0 && version-1 != base {
			return store.ErrVersionConflict
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO config_layers (scope, version, seq, document, created_at, created_by)
			VALUES (?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM config_layers), ?, ?, ?)`,
			scope, version, string(doc), store.Nanos(a.At), a.Actor); err != nil {
			return err
		}
		if a.Detail == "" {
			a.Detail = fmt.Sprintf("version %d, %d bytes", version, len(doc))
		}
		return audit(ctx, tx, a)
	})
	return version, err
}

// ConfigLayers implements store.Store.
func (s *Store) ConfigLayers(ctx context.Context) ([]store.ConfigLayer, error) {
	return queryAll(ctx, s.r, "config layers", func(sc interface{ Scan(...any) error }) (store.ConfigLayer, error) {
		var l store.ConfigLayer
		var at int64
		var doc string
		err := sc.Scan(&l.Scope, &l.Version, &l.Seq, &doc, &at, &l.CreatedBy)
		l.Document, l.CreatedAt = []byte(doc), store.FromNanos(at)
		return l, err
	}, `SELECT c.scope, c.version, c.seq, c.document, c.created_at, c.created_by FROM config_layers c
		WHERE c.version = (SELECT MAX(version) FROM config_layers m WHERE m.scope = c.scope) ORDER BY c.scope`)
}

// ConfigGeneration implements store.Store.
func (s *Store) ConfigGeneration(ctx context.Context) (int64, error) {
	var g int64
	if err := s.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM config_layers`).Scan(&g); err != nil {
		return 0, fmt.Errorf("sqlitestore: config generation: %w", err)
	}
	return g, nil
}

// CreateCommands implements store.Store.
func (s *Store) CreateCommands(ctx context.Context, cmds []store.Command, a store.Audit) error {
	return s.writeTx(ctx, "create commands", func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO commands (id, group_id, terminal_id, kind, message, target, state, created_at, created_by, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, c := range cmds {
			if _, err := stmt.ExecContext(ctx, c.ID, c.GroupID, c.TerminalID, c.Kind, c.Message, c.Target, api.CommandQueued,
				store.Nanos(c.CreatedAt), c.CreatedBy, store.Nanos(c.ExpiresAt)); err != nil {
				return err
			}
		}
		return audit(ctx, tx, a)
	})
}

const commandCols = `id, group_id, terminal_id, kind, message, target, state, created_at, created_by, expires_at, delivered_at, finished_at, result`

func scanCommand(sc interface{ Scan(...any) error }) (store.Command, error) {
	var c store.Command
	var created, expires int64
	var delivered, finished sql.NullInt64
	err := sc.Scan(&c.ID, &c.GroupID, &c.TerminalID, &c.Kind, &c.Message, &c.Target, &c.State, &created, &c.CreatedBy, &expires,
		&delivered, &finished, &c.Result)
	c.CreatedAt, c.ExpiresAt = store.FromNanos(created), store.FromNanos(expires)
	c.DeliveredAt, c.FinishedAt = store.FromNanos(delivered.Int64), store.FromNanos(finished.Int64)
	return c, err
}

// OpenCommands implements store.Store.
func (s *Store) OpenCommands(ctx context.Context, terminalID string, now time.Time) ([]store.Command, error) {
	return queryStmt(ctx, s.hot.openCommands, "open commands", scanCommand, terminalID, store.Nanos(now))
}

// commandTx loads the terminal's command id for update in tx.
func commandTx(ctx context.Context, tx *sql.Tx, terminalID, id string) (store.Command, error) {
	c, err := scanCommand(tx.QueryRowContext(ctx, `SELECT `+commandCols+` FROM commands WHERE id = ? AND terminal_id = ?`, id, terminalID))
	if errors.Is(err, sql.ErrNoRows) {
		return c, store.ErrNotFound
	}
	return c, err
}

// AckCommand implements store.Store.
func (s *Store) AckCommand(ctx context.Context, terminalID, id string, at time.Time) (store.Command, error) {
	var c store.Command
	err := s.writeTx(ctx, "ack command", func(tx *sql.Tx) error {
		var err error
		if c, err = commandTx(ctx, tx, terminalID, id); err != nil {
			return err
		}
		switch {
		case c.State == api.CommandDelivered:
			return nil
		case c.State != api.CommandQueued:
			return store.ErrCommandClosed
		case !at.Before(c.ExpiresAt):
			if _, err := tx.ExecContext(ctx, `UPDATE commands SET state = 'expired' WHERE id = ?`, id); err != nil {
				return err
			}
			c.State = api.CommandExpired
			return nil
		}
		c.State, c.DeliveredAt = api.CommandDelivered, at.UTC()
		_, err = tx.ExecContext(ctx, `UPDATE commands SET state = 'delivered', delivered_at = ? WHERE id = ?`, store.Nanos(at), id)
		return err
	})
	if err == nil && c.State == api.CommandExpired {
		err = store.ErrCommandClosed
	}
	return c, err
}

// FinishCommand implements store.Store.
func (s *Store) FinishCommand(ctx context.Context, terminalID, id string, ok bool, result string, at time.Time) (store.Command, error) {
	want := api.CommandFailed
	if ok {
		want = api.CommandDone
	}
	var c store.Command
	err := s.writeTx(ctx, "finish command", func(tx *sql.Tx) error {
		var err error
		if c, err = commandTx(ctx, tx, terminalID, id); err != nil {
			return err
		}
		switch c.State {
		case want:
			return nil // a repeated report
		case api.CommandQueued, api.CommandDelivered:
		default:
			return store.ErrCommandClosed
		}
		// A result for a command past its expiry still counts: the
		// terminal did it, the report was late.
		if c.DeliveredAt.IsZero() {
			c.DeliveredAt = at.UTC()
		}
		c.State, c.FinishedAt, c.Result = want, at.UTC(), result
		_, err = tx.ExecContext(ctx, `UPDATE commands SET state = ?, delivered_at = ?, finished_at = ?, result = ? WHERE id = ?`,
			want, store.Nanos(c.DeliveredAt), store.Nanos(at), result, id)
		return err
	})
	return c, err
}

// ExpireCommands implements store.Store.
func (s *Store) ExpireCommands(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := s.writeTx(ctx, "expire commands", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE commands SET state = 'expired' WHERE state IN ('queued', 'delivered') AND expires_at <= ?`, store.Nanos(now))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// Commands implements store.Store.
func (s *Store) Commands(ctx context.Context, f store.CommandFilter) ([]store.Command, error) {
	var where []string
	var args []any
	for _, c := range []struct{ col, v string }{{"terminal_id", f.TerminalID}, {"state", f.State}, {"group_id", f.GroupID}} {
		if c.v != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.v)
		}
	}
	q := `SELECT ` + commandCols + ` FROM commands` + whereClause(where) + ` ORDER BY created_at DESC, id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	return queryAll(ctx, s.r, "commands", scanCommand, q, args...)
}

func whereClause(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// Diagnostics implements store.Store.
func (s *Store) Diagnostics(ctx context.Context, id string) (store.Diagnostics, error) {
	var d store.Diagnostics
	var recv int64
	var bundle string
	err := s.r.QueryRowContext(ctx, `SELECT id, terminal_id, command_id, received_at, bundle FROM diagnostics WHERE id = ?`, id).
		Scan(&d.ID, &d.TerminalID, &d.CommandID, &recv, &bundle)
	if errors.Is(err, sql.ErrNoRows) {
		return d, store.ErrNotFound
	}
	if err != nil {
		return d, fmt.Errorf("sqlitestore: diagnostics: %w", err)
	}
	d.ReceivedAt, d.Bundle = store.FromNanos(recv), []byte(bundle)
	return d, nil
}

// OpenAlert implements store.Store.
func (s *Store) OpenAlert(ctx context.Context, al store.Alert) (bool, error) {
	var opened bool
	err := s.writeTx(ctx, "open alert", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE alerts SET detail = ?, last_seen = ? WHERE terminal_id = ? AND kind = ? AND state = 'open'`,
			al.Detail, store.Nanos(al.LastSeen), al.TerminalID, al.Kind)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		opened = true
		_, err = tx.ExecContext(ctx, `INSERT INTO alerts (id, terminal_id, kind, state, detail, first_seen, last_seen) VALUES (?, ?, ?, 'open', ?, ?, ?)`,
			al.ID, al.TerminalID, al.Kind, al.Detail, store.Nanos(al.FirstSeen), store.Nanos(al.LastSeen))
		return err
	})
	return opened, err
}

// ResolveAlert implements store.Store.
func (s *Store) ResolveAlert(ctx context.Context, terminalID, kind string, at time.Time) (bool, error) {
	var resolved bool
	err := s.writeTx(ctx, "resolve alert", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE alerts SET state = 'resolved', resolved_at = ? WHERE terminal_id = ? AND kind = ? AND state = 'open'`,
			store.Nanos(at), terminalID, kind)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		resolved = n > 0
		return err
	})
	return resolved, err
}

const alertCols = `id, terminal_id, kind, state, detail, first_seen, last_seen, resolved_at, notified_open_at, notified_resolved_at`

func scanAlert(sc interface{ Scan(...any) error }) (store.Alert, error) {
	var a store.Alert
	var first, last int64
	var resolved, nOpen, nRes sql.NullInt64
	err := sc.Scan(&a.ID, &a.TerminalID, &a.Kind, &a.State, &a.Detail, &first, &last, &resolved, &nOpen, &nRes)
	a.FirstSeen, a.LastSeen, a.ResolvedAt = store.FromNanos(first), store.FromNanos(last), store.FromNanos(resolved.Int64)
	a.NotifiedOpenAt, a.NotifiedResolvedAt = store.FromNanos(nOpen.Int64), store.FromNanos(nRes.Int64)
	return a, err
}

// Alerts implements store.Store.
func (s *Store) Alerts(ctx context.Context, f store.AlertFilter) ([]store.Alert, error) {
	var where []string
	var args []any
	for _, c := range []struct{ col, v string }{{"state", f.State}, {"terminal_id", f.TerminalID}, {"kind", f.Kind}} {
		if c.v != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.v)
		}
	}
	q := `SELECT ` + alertCols + ` FROM alerts` + whereClause(where) + ` ORDER BY first_seen DESC, id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	return queryAll(ctx, s.r, "alerts", scanAlert, q, args...)
}

// UnnotifiedAlerts implements store.Store.
func (s *Store) UnnotifiedAlerts(ctx context.Context, limit int) ([]store.Alert, error) {
	return queryAll(ctx, s.r, "unnotified alerts", scanAlert, `SELECT `+alertCols+` FROM alerts
		WHERE notified_open_at IS NULL OR (state = 'resolved' AND notified_resolved_at IS NULL)
		ORDER BY first_seen, id LIMIT ?`, limit)
}

// MarkAlertNotified implements store.Store.
func (s *Store) MarkAlertNotified(ctx context.Context, id string, resolved bool, at time.Time) error {
	col := "notified_open_at"
	if resolved {
		col = "notified_resolved_at"
	}
	return s.writeTx(ctx, "mark alert notified", func(tx *sql.Tx) error {
		return mustAffect(tx.ExecContext(ctx, `UPDATE alerts SET `+col+` = ? WHERE id = ?`, store.Nanos(at), id))
	})
}

// AuditLog implements store.Store.
func (s *Store) AuditLog(ctx context.Context, limit int) ([]store.Audit, error) {
	q := `SELECT at, actor, action, subject, detail FROM audit_log ORDER BY seq DESC`
	var args []any
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	return queryAll(ctx, s.r, "audit log", func(sc interface{ Scan(...any) error }) (store.Audit, error) {
		var a store.Audit
		var at int64
		err := sc.Scan(&at, &a.Actor, &a.Action, &a.Subject, &a.Detail)
		a.At = store.FromNanos(at)
		return a, err
	}, q, args...)
}

func queryAll[T any](ctx context.Context, db *sql.DB, what string, scan func(interface{ Scan(...any) error }) (T, error), q string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	return scanAll(rows, err, what, scan)
}

// scanAll reads every row of a query (err is the query's own) with scan.
func scanAll[T any](rows *sql.Rows, err error, what string, scan func(interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: %s: %w", what, err)
	}
	return out, nil
}
