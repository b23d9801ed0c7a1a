package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// TerminalByName implements store.Store.
func (s *Store) TerminalByName(ctx context.Context, name string) (store.Terminal, error) {
	return s.terminalWhere(ctx, "terminal by name", `t.name = $1`, name)
}

// audit appends to the audit log; its seq is numbered under lockAudit.
func audit(ctx context.Context, tx pgx.Tx, a store.Audit) error {
	if err := xactLock(ctx, tx, lockAudit); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO audit_log (seq, at, actor, action, subject, detail)
		VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_log), $1, $2, $3, $4, $5)`,
		store.Nanos(a.At), a.Actor, a.Action, a.Subject, a.Detail)
	return err
}

// SetTerminalTags implements store.Store.
func (s *Store) SetTerminalTags(ctx context.Context, id string, tags []string, a store.Audit) error {
	norm, err := store.NormalizeTags(tags)
	if err != nil {
		return err
	}
	return s.tx(ctx, "set tags", func(tx pgx.Tx) error {
		if err := mustAffect(tx.Exec(ctx, `UPDATE terminals SET tags = $1 WHERE id = $2`, store.EncodeTags(norm), id)); err != nil {
			return err
		}
		return audit(ctx, tx, a)
	})
}

// heartbeatSQL is sqlitestore's UPSERT with typed parameters.
const heartbeatSQL = `INSERT INTO terminal_health (terminal_id, received_at, digest, history_at, history_reason, software_version, state)
	SELECT $1::text, $2::bigint, $3::text, $2::bigint, 'first', $4::text, $5::text WHERE EXISTS (SELECT 1 FROM terminals WHERE id = $1)
	ON CONFLICT (terminal_id) DO UPDATE SET
		history_at = CASE
			WHEN terminal_health.digest <> excluded.digest OR excluded.received_at - terminal_health.history_at >= $6::bigint THEN excluded.received_at
			ELSE terminal_health.history_at END,
		history_reason = CASE
			WHEN terminal_health.digest <> excluded.digest THEN 'change'
			WHEN excluded.received_at - terminal_health.history_at >= $6::bigint THEN 'sample'
			ELSE terminal_health.history_reason END,
		received_at = excluded.received_at,
		digest = excluded.digest,
		software_version = excluded.software_version,
		state = excluded.state
	RETURNING history_at, history_reason`

// SaveHeartbeats implements store.Store: the UPSERTs of a group go in one
// round trip (a pgx batch), then the history rows in another.
func (s *Store) SaveHeartbeats(ctx context.Context, ws []store.HeartbeatWrite, sampleEvery time.Duration) ([]bool, error) {
	hist := make([]bool, len(ws))
	// Sorted by terminal (stable: one terminal's heartbeats keep their
	// order), so two processes' groups lock rows in the same order.
	order := make([]int, len(ws))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(ws[a].TerminalID, ws[b].TerminalID) })
	err := s.tx(ctx, "heartbeats", func(tx pgx.Tx) error {
		clear(hist)
		var b pgx.Batch
		for _, i := range order {
			w := &ws[i]
			b.Queue(heartbeatSQL, w.TerminalID, store.Nanos(w.At), w.Digest, w.SoftwareVersion, validText(w.State), int64(sampleEvery))
		}
		reasons := make([]string, len(ws))
		br := tx.SendBatch(ctx, &b)
		for _, i := range order {
			var histAt int64
			err := br.QueryRow().Scan(&histAt, &reasons[i])
			if errors.Is(err, pgx.ErrNoRows) {
				continue // unknown terminal
			}
			if err != nil {
				br.Close()
				return err
			}
			hist[i] = histAt == store.Nanos(ws[i].At)
		}
		if err := br.Close(); err != nil {
			return err
		}
		var hb pgx.Batch
		for _, i := range order {
			if hist[i] {
				w := &ws[i]
				hb.Queue(`INSERT INTO health_history (terminal_id, at, reason, state) VALUES ($1, $2, $3, $4) ON CONFLICT (terminal_id, at) DO NOTHING`,
					w.TerminalID, store.Nanos(w.At), reasons[i], validText(w.State))
			}
		}
		if hb.Len() == 0 {
			return nil
		}
		return tx.SendBatch(ctx, &hb).Close()
	})
	if err != nil {
		return nil, err
	}
	return hist, nil
}

const healthCols = `terminal_id, received_at, digest, history_at, software_version, state`

func scanHealth(row pgx.Row) (store.Health, error) {
	var h store.Health
	var recv, hist int64
	var state string
	if err := row.Scan(&h.TerminalID, &recv, &h.Digest, &hist, &h.SoftwareVersion, &state); err != nil {
		return h, err
	}
	h.ReceivedAt, h.HistoryAt, h.State = store.FromNanos(recv), store.FromNanos(hist), []byte(state)
	return h, nil
}

// Health implements store.Store.
func (s *Store) Health(ctx context.Context, terminalID string) (store.Health, error) {
	h, err := scanHealth(s.pool.QueryRow(ctx, `SELECT `+healthCols+` FROM terminal_health WHERE terminal_id = $1`, terminalID))
	if errors.Is(err, pgx.ErrNoRows) {
		return h, store.ErrNotFound
	}
	if err != nil {
		return h, fmt.Errorf("pgstore: health: %w", err)
	}
	return h, nil
}

// Healths implements store.Store.
func (s *Store) Healths(ctx context.Context) ([]store.Health, error) {
	return queryAll(ctx, s, "healths", scanHealth, `SELECT `+healthCols+` FROM terminal_health ORDER BY terminal_id`)
}

// HealthHistory implements store.Store.
func (s *Store) HealthHistory(ctx context.Context, terminalID string, since time.Time, limit int) ([]store.HealthSample, error) {
	q := `SELECT at, reason, state FROM health_history WHERE terminal_id = $1 AND at >= $2 ORDER BY at`
	args := []any{terminalID, store.Nanos(since)}
	if limit > 0 {
		q += ` LIMIT $3`
		args = append(args, limit)
	}
	return queryAll(ctx, s, "health history", func(row pgx.Row) (store.HealthSample, error) {
		var h store.HealthSample
		var at int64
		var state string
		err := row.Scan(&at, &h.Reason, &state)
		h.At, h.State = store.FromNanos(at), []byte(state)
		return h, err
	}, q, args...)
}

// PruneHealthHistory implements store.Store.
func (s *Store) PruneHealthHistory(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM health_history WHERE at < $1`, store.Nanos(before))
	if err != nil {
		return 0, fmt.Errorf("pgstore: prune history: %w", err)
	}
	return tag.RowsAffected(), nil
}

// PutConfigLayer implements store.Store.
func (s *Store) PutConfigLayer(ctx context.Context, scope string, doc []byte, a store.Audit) (int64, error) {
	return s.putConfigLayer(ctx, scope, doc, -1, a)
}

// PutConfigLayerIf implements store.Store.
func (s *Store) PutConfigLayerIf(ctx context.Context, scope string, doc []byte, base int64, a store.Audit) (int64, error) {
	if base < 0 {
		return 0, fmt.Errorf("pgstore: put config: base version %d", base)
	}
	return s.putConfigLayer(ctx, scope, doc, base, a)
}

// putConfigLayer stores scope's next version if the current one is base
// (any when base is -1). The advisory lock on config_layers is held from
// the check to the commit, so no other process writes in between.
func (s *Store) putConfigLayer(ctx context.Context, scope string, doc []byte, base int64, a store.Audit) (int64, error) {
	if !store.ValidScope(scope) {
		return 0, fmt.Errorf("pgstore: invalid scope %q", scope)
	}
	var version int64
	err := s.tx(ctx, "put config", func(tx pgx.Tx) error {
		if err := xactLock(ctx, tx, lockConfig); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) + 1 FROM config_layers WHERE scope = $1`, scope).Scan(&version); err != nil {
			return err
		}
		if base >= 0 && version-1 != base {
			return store.ErrVersionConflict
		}
		if _, err := tx.Exec(ctx, `INSERT INTO config_layers (scope, version, seq, document, created_at, created_by)
			VALUES ($1, $2, (SELECT COALESCE(MAX(seq), 0) + 1 FROM config_layers), $3, $4, $5)`,
			scope, version, validText(doc), store.Nanos(a.At), a.Actor); err != nil {
			return err
		}
		aa := a
		if aa.Detail == "" {
			aa.Detail = fmt.Sprintf("version %d, %d bytes", version, len(doc))
		}
		return audit(ctx, tx, aa)
	})
	return version, err
}

// ConfigLayers implements store.Store.
func (s *Store) ConfigLayers(ctx context.Context) ([]store.ConfigLayer, error) {
	return queryAll(ctx, s, "config layers", func(row pgx.Row) (store.ConfigLayer, error) {
		var l store.ConfigLayer
		var at int64
		var doc string
		err := row.Scan(&l.Scope, &l.Version, &l.Seq, &doc, &at, &l.CreatedBy)
		l.Document, l.CreatedAt = []byte(doc), store.FromNanos(at)
		return l, err
	}, `SELECT c.scope, c.version, c.seq, c.document, c.created_at, c.created_by FROM config_layers c
		WHERE c.version = (SELECT MAX(version) FROM config_layers m WHERE m.scope = c.scope) ORDER BY c.scope`)
}

// ConfigGeneration implements store.Store.
func (s *Store) ConfigGeneration(ctx context.Context) (int64, error) {
	var g int64
	if err := s.pool.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM config_layers`).Scan(&g); err != nil {
		return 0, fmt.Errorf("pgstore: config generation: %w", err)
	}
	return g, nil
}

// CreateCommands implements store.Store.
func (s *Store) CreateCommands(ctx context.Context, cmds []store.Command, a store.Audit) error {
	return s.tx(ctx, "create commands", func(tx pgx.Tx) error {
		var b pgx.Batch
		for _, c := range cmds {
			b.Queue(`INSERT INTO commands (id, group_id, terminal_id, kind, message, target, state, created_at, created_by, expires_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, c.ID, c.GroupID, c.TerminalID, c.Kind, c.Message, c.Target, api.CommandQueued,
				store.Nanos(c.CreatedAt), c.CreatedBy, store.Nanos(c.ExpiresAt))
		}
		if b.Len() > 0 {
			if err := tx.SendBatch(ctx, &b).Close(); err != nil {
				return err
			}
		}
		return audit(ctx, tx, a)
	})
}

const commandCols = `id, group_id, terminal_id, kind, message, target, state, created_at, created_by, expires_at, delivered_at, finished_at, result`

func scanCommand(row pgx.Row) (store.Command, error) {
	var c store.Command
	var created, expires int64
	var delivered, finished *int64
	err := row.Scan(&c.ID, &c.GroupID, &c.TerminalID, &c.Kind, &c.Message, &c.Target, &c.State, &created, &c.CreatedBy, &expires,
		&delivered, &finished, &c.Result)
	c.CreatedAt, c.ExpiresAt = store.FromNanos(created), store.FromNanos(expires)
	c.DeliveredAt, c.FinishedAt = store.FromNanos(nanos(delivered)), store.FromNanos(nanos(finished))
	return c, err
}

// OpenCommands implements store.Store.
func (s *Store) OpenCommands(ctx context.Context, terminalID string, now time.Time) ([]store.Command, error) {
	return queryAll(ctx, s, "open commands", scanCommand, `SELECT `+commandCols+` FROM commands
		WHERE terminal_id = $1 AND state IN ('queued', 'delivered') AND expires_at > $2 ORDER BY created_at, id`,
		terminalID, store.Nanos(now))
}

// commandTx loads and locks the terminal's command id in tx.
func commandTx(ctx context.Context, tx pgx.Tx, terminalID, id string) (store.Command, error) {
	c, err := scanCommand(tx.QueryRow(ctx, `SELECT `+commandCols+` FROM commands WHERE id = $1 AND terminal_id = $2 FOR UPDATE`, id, terminalID))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, store.ErrNotFound
	}
	return c, err
}

// AckCommand implements store.Store.
func (s *Store) AckCommand(ctx context.Context, terminalID, id string, at time.Time) (store.Command, error) {
	var c store.Command
	err := s.tx(ctx, "ack command", func(tx pgx.Tx) error {
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
			if _, err := tx.Exec(ctx, `UPDATE commands SET state = 'expired' WHERE id = $1`, id); err != nil {
				return err
			}
			c.State = api.CommandExpired
			return nil
		}
		c.State, c.DeliveredAt = api.CommandDelivered, at.UTC()
		_, err = tx.Exec(ctx, `UPDATE commands SET state = 'delivered', delivered_at = $1 WHERE id = $2`, store.Nanos(at), id)
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
	err := s.tx(ctx, "finish command", func(tx pgx.Tx) error {
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
		if c.DeliveredAt.IsZero() {
			c.DeliveredAt = at.UTC()
		}
		c.State, c.FinishedAt, c.Result = want, at.UTC(), result
		_, err = tx.Exec(ctx, `UPDATE commands SET state = $1, delivered_at = $2, finished_at = $3, result = $4 WHERE id = $5`,
			want, store.Nanos(c.DeliveredAt), store.Nanos(at), validText([]byte(result)), id)
		return err
	})
	return c, err
}

// ExpireCommands implements store.Store.
func (s *Store) ExpireCommands(ctx context.Context, now time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE commands SET state = 'expired' WHERE state IN ('queued', 'delivered') AND expires_at <= $1`, store.Nanos(now))
	if err != nil {
		return 0, fmt.Errorf("pgstore: expire commands: %w", err)
	}
	return tag.RowsAffected(), nil
}

// where builds " WHERE a = $1 AND …" from the non-empty values.
func where(conds ...string) (string, []any) {
	var parts []string
	var args []any
	for i := 0; i+1 < len(conds); i += 2 {
		if conds[i+1] != "" {
			args = append(args, conds[i+1])
			parts = append(parts, conds[i]+" = $"+strconv.Itoa(len(args)))
		}
	}
	if len(parts) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(parts, " AND "), args
}

func limit(q string, args []any, n int) (string, []any) {
	if n > 0 {
		args = append(args, n)
		q += ` LIMIT $` + strconv.Itoa(len(args))
	}
	return q, args
}

// Commands implements store.Store.
func (s *Store) Commands(ctx context.Context, f store.CommandFilter) ([]store.Command, error) {
	w, args := where("terminal_id", f.TerminalID, "state", f.State, "group_id", f.GroupID)
	q, args := limit(`SELECT `+commandCols+` FROM commands`+w+` ORDER BY created_at DESC, id DESC`, args, f.Limit)
	return queryAll(ctx, s, "commands", scanCommand, q, args...)
}

// Diagnostics implements store.Store.
func (s *Store) Diagnostics(ctx context.Context, id string) (store.Diagnostics, error) {
	var d store.Diagnostics
	var recv int64
	var bundle string
	err := s.pool.QueryRow(ctx, `SELECT id, terminal_id, command_id, received_at, bundle FROM diagnostics WHERE id = $1`, id).
		Scan(&d.ID, &d.TerminalID, &d.CommandID, &recv, &bundle)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, store.ErrNotFound
	}
	if err != nil {
		return d, fmt.Errorf("pgstore: diagnostics: %w", err)
	}
	d.ReceivedAt, d.Bundle = store.FromNanos(recv), []byte(bundle)
	return d, nil
}

// OpenAlert implements store.Store: one statement on the partial unique
// index of open alerts, so concurrent processes agree on one open alert.
// xmax = 0 tells an inserted row from an updated one.
func (s *Store) OpenAlert(ctx context.Context, al store.Alert) (bool, error) {
	var opened bool
	err := s.pool.QueryRow(ctx, `INSERT INTO alerts (id, terminal_id, kind, state, detail, first_seen, last_seen)
		VALUES ($1, $2, $3, 'open', $4, $5, $6)
		ON CONFLICT (terminal_id, kind) WHERE state = 'open' DO UPDATE SET detail = excluded.detail, last_seen = excluded.last_seen
		RETURNING xmax = 0`, al.ID, al.TerminalID, al.Kind, validText([]byte(al.Detail)), store.Nanos(al.FirstSeen), store.Nanos(al.LastSeen)).Scan(&opened)
	if err != nil {
		return false, fmt.Errorf("pgstore: open alert: %w", err)
	}
	return opened, nil
}

// ResolveAlert implements store.Store.
func (s *Store) ResolveAlert(ctx context.Context, terminalID, kind string, at time.Time) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE alerts SET state = 'resolved', resolved_at = $1 WHERE terminal_id = $2 AND kind = $3 AND state = 'open'`,
		store.Nanos(at), terminalID, kind)
	if err != nil {
		return false, fmt.Errorf("pgstore: resolve alert: %w", err)
	}
	return tag.RowsAffected() > 0, nil
}

const alertCols = `id, terminal_id, kind, state, detail, first_seen, last_seen, resolved_at, notified_open_at, notified_resolved_at`

func scanAlert(row pgx.Row) (store.Alert, error) {
	var a store.Alert
	var first, last int64
	var resolved, nOpen, nRes *int64
	err := row.Scan(&a.ID, &a.TerminalID, &a.Kind, &a.State, &a.Detail, &first, &last, &resolved, &nOpen, &nRes)
	a.FirstSeen, a.LastSeen, a.ResolvedAt = store.FromNanos(first), store.FromNanos(last), store.FromNanos(nanos(resolved))
	a.NotifiedOpenAt, a.NotifiedResolvedAt = store.FromNanos(nanos(nOpen)), store.FromNanos(nanos(nRes))
	return a, err
}

// Alerts implements store.Store.
func (s *Store) Alerts(ctx context.Context, f store.AlertFilter) ([]store.Alert, error) {
	w, args := where("state", f.State, "terminal_id", f.TerminalID, "kind", f.Kind)
	q, args := limit(`SELECT `+alertCols+` FROM alerts`+w+` ORDER BY first_seen DESC, id DESC`, args, f.Limit)
	return queryAll(ctx, s, "alerts", scanAlert, q, args...)
}

// UnnotifiedAlerts implements store.Store.
func (s *Store) UnnotifiedAlerts(ctx context.Context, n int) ([]store.Alert, error) {
	return queryAll(ctx, s, "unnotified alerts", scanAlert, `SELECT `+alertCols+` FROM alerts
		WHERE notified_open_at IS NULL OR (state = 'resolved' AND notified_resolved_at IS NULL)
		ORDER BY first_seen, id LIMIT $1`, n)
}

// MarkAlertNotified implements store.Store.
func (s *Store) MarkAlertNotified(ctx context.Context, id string, resolved bool, at time.Time) error {
	col := "notified_open_at"
	if resolved {
		col = "notified_resolved_at"
	}
	err := mustAffect(s.pool.Exec(ctx, `UPDATE alerts SET `+col+` = $1 WHERE id = $2`, store.Nanos(at), id))
	if err != nil && !isStoreErr(err) {
		return fmt.Errorf("pgstore: mark alert notified: %w", err)
	}
	return err
}

// AuditLog implements store.Store.
func (s *Store) AuditLog(ctx context.Context, n int) ([]store.Audit, error) {
	q, args := limit(`SELECT at, actor, action, subject, detail FROM audit_log ORDER BY seq DESC`, nil, n)
	return queryAll(ctx, s, "audit log", func(row pgx.Row) (store.Audit, error) {
		var a store.Audit
		var at int64
		err := row.Scan(&at, &a.Actor, &a.Action, &a.Subject, &a.Detail)
		a.At = store.FromNanos(at)
		return a, err
	}, q, args...)
}
