package pgstore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// The console part: a port of sqlitestore/console.go (same SQL, numbered
// parameters).

// conds collects WHERE conditions; each "?" in a condition becomes the
// next $n.
type conds struct {
	parts []string
	args  []any
}

func (c *conds) add(cond string, args ...any) {
	for _, a := range args {
		c.args = append(c.args, a)
		cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(c.args)), 1)
	}
	c.parts = append(c.parts, cond)
}

func (c *conds) where() string {
	if len(c.parts) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(c.parts, " AND ")
}

func (c *conds) limit(n int) string {
	if n <= 0 {
		return ""
	}
	c.args = append(c.args, n)
	return " LIMIT $" + strconv.Itoa(len(c.args))
}

func nullNanos(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	n := t.UnixNano()
	return &n
}

// rotateTx finishes Enroll for a rotation token: the terminal keeps its
// ID and gets the new key.
func rotateTx(ctx context.Context, tx pgx.Tx, t *store.Terminal, id, hash string, e store.Enrolment) error {
	if err := mustAffect(tx.Exec(ctx, `UPDATE terminals SET public_key = $1, software_version = $2, revoked_at = NULL WHERE id = $3`,
		api.EncodePublicKey(e.PublicKey), e.SoftwareVersion, id)); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return store.ErrTokenUnknown
		}
		return err
	}
	var enrolled int64
	if err := tx.QueryRow(ctx, `SELECT name, quarter, enrolled_at FROM terminals WHERE id = $1`, id).Scan(&t.Name, &t.Quarter, &enrolled); err != nil {
		return err
	}
	t.ID, t.PublicKey, t.SoftwareVersion, t.EnrolledAt = id, e.PublicKey, e.SoftwareVersion, store.FromNanos(enrolled)
	_, err := tx.Exec(ctx, `UPDATE enrol_tokens SET used_at = $1, terminal_id = $2 WHERE hash = $3`, store.Nanos(e.Now), id, hash)
	return err
}

// CreateUser implements store.Store. The unique index on name decides
// between two processes creating the same user.
func (s *Store) CreateUser(ctx context.Context, u store.User, a store.Audit) error {
	return s.tx(ctx, "create user", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO users (id, name, role, password_hash, created_at, updated_at, disabled_at, last_login_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (name) DO NOTHING`, u.ID, u.Name, u.Role, u.PasswordHash,
			store.Nanos(u.CreatedAt), store.Nanos(u.CreatedAt), nullNanos(u.DisabledAt), nullNanos(u.LastLoginAt))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return store.ErrUserExists
		}
		return audit(ctx, tx, a)
	})
}

const userCols = `id, name, role, password_hash, created_at, updated_at, disabled_at, last_login_at, version`

func scanUser(row pgx.Row) (store.User, error) {
	var u store.User
	var created, updated int64
	var disabled, login *int64
	err := row.Scan(&u.ID, &u.Name, &u.Role, &u.PasswordHash, &created, &updated, &disabled, &login, &u.Version)
	u.CreatedAt, u.UpdatedAt = store.FromNanos(created), store.FromNanos(updated)
	u.DisabledAt, u.LastLoginAt = store.FromNanos(nanos(disabled)), store.FromNanos(nanos(login))
	return u, err
}

func (s *Store) userWhere(ctx context.Context, cond string, arg any) (store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE `+cond, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return u, store.ErrNotFound
	}
	if err != nil {
		return u, fmt.Errorf("pgstore: user: %w", err)
	}
	return u, nil
}

// UserByName implements store.Store.
func (s *Store) UserByName(ctx context.Context, name string) (store.User, error) {
	return s.userWhere(ctx, `name = $1`, name)
}

// UserByID implements store.Store.
func (s *Store) UserByID(ctx context.Context, id string) (store.User, error) {
	return s.userWhere(ctx, `id = $1`, id)
}

// Users implements store.Store.
func (s *Store) Users(ctx context.Context) ([]store.User, error) {
	return queryAll(ctx, s, "users", scanUser, `SELECT `+userCols+` FROM users ORDER BY name`)
}

// UpdateUser implements store.Store.
func (s *Store) UpdateUser(ctx context.Context, u store.User, a store.Audit) error {
	return s.tx(ctx, "update user", func(tx pgx.Tx) error {
		old, err := scanUser(tx.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = $1 FOR UPDATE`, u.ID))
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		} else if err != nil {
			return err
		}
		// The row is locked (FOR UPDATE) from here to the commit.
		if old.Version != u.Version {
			return store.ErrVersionConflict
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET role = $1, password_hash = $2, disabled_at = $3, updated_at = $4, version = version + 1 WHERE id = $5`,
			u.Role, u.PasswordHash, nullNanos(u.DisabledAt), store.Nanos(a.At), u.ID); err != nil {
			return err
		}
		if old.Role != u.Role || old.PasswordHash != u.PasswordHash || u.Disabled() {
			if _, err := tx.Exec(ctx, `DELETE FROM console_sessions WHERE user_id = $1`, u.ID); err != nil {
				return err
			}
		}
		return audit(ctx, tx, a)
	})
}

func (s *Store) exec(ctx context.Context, what string, mustRow bool, q string, args ...any) (int64, error) {
	tag, err := s.pool.Exec(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("pgstore: %s: %w", what, err)
	}
	if mustRow && tag.RowsAffected() == 0 {
		return 0, store.ErrNotFound
	}
	return tag.RowsAffected(), nil
}

// SetUserLogin implements store.Store.
func (s *Store) SetUserLogin(ctx context.Context, id string, at time.Time) error {
	_, err := s.exec(ctx, "user login", true, `UPDATE users SET last_login_at = $1 WHERE id = $2`, store.Nanos(at), id)
	return err
}

// CreateSession implements store.Store.
func (s *Store) CreateSession(ctx context.Context, se store.Session) error {
	_, err := s.exec(ctx, "create session", false, `INSERT INTO console_sessions (id_hash, user_id, csrf, created_at, last_seen_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, se.IDHash, se.UserID, se.CSRF, store.Nanos(se.CreatedAt), store.Nanos(se.LastSeenAt), store.Nanos(se.ExpiresAt))
	return err
}

// Session implements store.Store.
func (s *Store) Session(ctx context.Context, idHash string, now time.Time) (store.Session, error) {
	var se store.Session
	var created, seen, expires int64
	err := s.pool.QueryRow(ctx, `SELECT id_hash, user_id, csrf, created_at, last_seen_at, expires_at FROM console_sessions
		WHERE id_hash = $1 AND expires_at > $2`, idHash, store.Nanos(now)).Scan(&se.IDHash, &se.UserID, &se.CSRF, &created, &seen, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return se, store.ErrNotFound
	}
	if err != nil {
		return se, fmt.Errorf("pgstore: session: %w", err)
	}
	se.CreatedAt, se.LastSeenAt, se.ExpiresAt = store.FromNanos(created), store.FromNanos(seen), store.FromNanos(expires)
	return se, nil
}

// TouchSession implements store.Store.
func (s *Store) TouchSession(ctx context.Context, idHash string, lastSeen, expires time.Time) error {
	_, err := s.exec(ctx, "touch session", true, `UPDATE console_sessions SET last_seen_at = $1, expires_at = $2 WHERE id_hash = $3`,
		store.Nanos(lastSeen), store.Nanos(expires), idHash)
	return err
}

// DeleteSession implements store.Store.
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	_, err := s.exec(ctx, "delete session", false, `DELETE FROM console_sessions WHERE id_hash = $1`, idHash)
	return err
}

// DeleteExpiredSessions implements store.Store.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	return s.exec(ctx, "expire sessions", false, `DELETE FROM console_sessions WHERE expires_at <= $1`, store.Nanos(now))
}

// AddLoginFailure implements store.Store: one UPSERT, atomic across
// processes.
func (s *Store) AddLoginFailure(ctx context.Context, key string, at time.Time, window time.Duration) (int64, error) {
	var n int64
	now := store.Nanos(at)
	err := s.pool.QueryRow(ctx, `INSERT INTO login_failures (key, failures, first_at, last_at) VALUES ($1, 1, $2, $2)
		ON CONFLICT (key) DO UPDATE SET
			failures = CASE WHEN excluded.last_at - login_failures.last_at > $3 THEN 1 ELSE login_failures.failures + 1 END,
			first_at = CASE WHEN excluded.last_at - login_failures.last_at > $3 THEN excluded.first_at ELSE login_failures.first_at END,
			last_at = excluded.last_at
		RETURNING failures`, key, now, int64(window)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("pgstore: login failure: %w", err)
	}
	return n, nil
}

// LoginFailures implements store.Store.
func (s *Store) LoginFailures(ctx context.Context, key string) (int64, time.Time, error) {
	var n, last int64
	err := s.pool.QueryRow(ctx, `SELECT failures, last_at FROM login_failures WHERE key = $1`, key).Scan(&n, &last)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("pgstore: login failures: %w", err)
	}
	return n, store.FromNanos(last), nil
}

// ClearLoginFailures implements store.Store.
func (s *Store) ClearLoginFailures(ctx context.Context, key string) error {
	_, err := s.exec(ctx, "clear login failures", false, `DELETE FROM login_failures WHERE key = $1`, key)
	return err
}

// PruneLoginFailures implements store.Store.
func (s *Store) PruneLoginFailures(ctx context.Context, before time.Time) (int64, error) {
	return s.exec(ctx, "prune login failures", false, `DELETE FROM login_failures WHERE last_at < $1`, store.Nanos(before))
}

// AppendAudit implements store.Store.
func (s *Store) AppendAudit(ctx context.Context, a store.Audit) error {
	return s.tx(ctx, "audit", func(tx pgx.Tx) error { return audit(ctx, tx, a) })
}

// AuditEntries implements store.Store.
func (s *Store) AuditEntries(ctx context.Context, f store.AuditFilter) ([]store.Audit, error) {
	var c conds
	if f.Subject != "" {
		c.add("subject = ?", f.Subject)
	}
	if f.Actor != "" {
		c.add("actor = ?", f.Actor)
	}
	if prefix, ok := strings.CutSuffix(f.Action, "."); ok {
		c.add("SUBSTR(action, 1, ?::int) = ?", len(prefix)+1, prefix+".")
	} else if f.Action != "" {
		c.add("action = ?", f.Action)
	}
	q := `SELECT at, actor, action, subject, detail FROM audit_log` + c.where() + ` ORDER BY seq DESC`
	q += c.limit(f.Limit)
	return queryAll(ctx, s, "audit entries", func(row pgx.Row) (store.Audit, error) {
		var a store.Audit
		var at int64
		err := row.Scan(&at, &a.Actor, &a.Action, &a.Subject, &a.Detail)
		a.At = store.FromNanos(at)
		return a, err
	}, q, c.args...)
}

// CreateRotationToken implements store.Store.
func (s *Store) CreateRotationToken(ctx context.Context, tok store.EnrolToken, terminalID string, a store.Audit) error {
	return s.tx(ctx, "create rotation token", func(tx pgx.Tx) error {
		var name, quarter string
		err := tx.QueryRow(ctx, `SELECT name, quarter FROM terminals WHERE id = $1`, terminalID).Scan(&name, &quarter)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		} else if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO enrol_tokens (hash, terminal_name, quarter, created_at, expires_at, rotate_terminal_id) VALUES ($1, $2, $3, $4, $5, $6)`,
			hex.EncodeToString(tok.Hash[:]), name, quarter, store.Nanos(tok.CreatedAt), store.Nanos(tok.ExpiresAt), terminalID); err != nil {
			return err
		}
		return audit(ctx, tx, a)
	})
}

// reportRefExpr must match the expression of index records_report_ref.
const reportRefExpr = `SUBSTR(r.record_id, 19, 8)`

// Reports implements store.Store.
func (s *Store) Reports(ctx context.Context, f store.ReportFilter) ([]store.Report, error) {
	c := conds{parts: []string{`r.class = 'resident'`, `r.type = 'problem_report'`}}
	if f.Ref != "" {
		c.add(reportRefExpr+` = ?`, strings.ReplaceAll(f.Ref, "-", ""))
	}
	if f.TerminalID != "" {
		c.add(`t.id = ?`, f.TerminalID)
	}
	if f.RecordID != "" {
		c.add(`r.record_id = ?`, f.RecordID)
	}
	if f.Quarter != "" {
		c.add(`t.quarter = ?`, f.Quarter)
	}
	if f.Status != "" {
		c.add(`COALESCE(s.status, 'new') = ?`, f.Status)
	}
	q := `SELECT t.id, t.name, t.quarter, r.record_id, r.created_at, r.received_at, r.payload,
			` + reportStatusCols + `
		FROM records r JOIN terminals t ON t.num = r.terminal_num
		LEFT JOIN report_status s ON s.terminal_id = t.id AND s.record_id = r.record_id` +
		c.where() + ` ORDER BY r.received_at DESC, r.record_id DESC`
	q += c.limit(f.Limit)
	return queryAll(ctx, s, "reports", scanReport, q, c.args...)
}

// reportStatusCols are a report's workflow columns, "new" and zero
// without a status row.
const reportStatusCols = `COALESCE(s.status, 'new'), COALESCE(s.public_note, ''), COALESCE(s.publish_text, 0), COALESCE(s.updated_at, 0),
	COALESCE(s.updated_by, ''), COALESCE(s.version, 0)`

// scanReport reads t.id, t.name, t.quarter, r.record_id, r.created_at,
// r.received_at, r.payload and reportStatusCols.
func scanReport(row pgx.Row) (store.Report, error) {
	var r store.Report
	var created, received, updated, publish int64
	var payload string
	err := row.Scan(&r.TerminalID, &r.TerminalName, &r.Quarter, &r.RecordID, &created, &received, &payload,
		&r.Status, &r.PublicNote, &publish, &updated, &r.UpdatedBy, &r.Version)
	r.ReportStatus.TerminalID, r.ReportStatus.RecordID = r.TerminalID, r.RecordID
	r.Ref, r.CreatedAt, r.ReceivedAt, r.Payload = api.ReportReference(r.RecordID), store.FromNanos(created), store.FromNanos(received), []byte(payload)
	r.PublishText, r.UpdatedAt = publish != 0, store.FromNanos(updated)
	return r, err
}

// SetReportStatus implements store.Store.
func (s *Store) SetReportStatus(ctx context.Context, st store.ReportStatus, a store.Audit) error {
	return s.tx(ctx, "set report status", func(tx pgx.Tx) error {
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM records r JOIN terminals t ON t.num = r.terminal_num
			WHERE t.id = $1 AND r.record_id = $2 AND r.type = 'problem_report')`, st.TerminalID, st.RecordID).Scan(&ok); err != nil {
			return err
		}
		if !ok {
			return store.ErrNotFound
		}
		publish := 0
		if st.PublishText {
			publish = 1
		}
		// One statement each way, so the check of the version and the
		// write cannot be split (an UPDATE that waited for another
		// transaction's row lock checks the version again on the new row):
		// the first state inserts (a row there already is a conflict), a
		// later one updates only its version.
		var tag pgconn.CommandTag
		var err error
		if st.Version == 0 {
			tag, err = tx.Exec(ctx, `INSERT INTO report_status (terminal_id, record_id, status, public_note, publish_text, updated_at, updated_by, version)
				VALUES ($1, $2, $3, $4, $5, $6, $7, 1) ON CONFLICT (terminal_id, record_id) DO NOTHING`,
				st.TerminalID, st.RecordID, st.Status, validText([]byte(st.PublicNote)), publish, store.Nanos(st.UpdatedAt), st.UpdatedBy)
		} else {
			tag, err = tx.Exec(ctx, `UPDATE report_status SET status = $1, public_note = $2, publish_text = $3, updated_at = $4, updated_by = $5,
				version = version + 1 WHERE terminal_id = $6 AND record_id = $7 AND version = $8`,
				st.Status, validText([]byte(st.PublicNote)), publish, store.Nanos(st.UpdatedAt), st.UpdatedBy, st.TerminalID, st.RecordID, st.Version)
		}
		if err := mustAffect(tag, err); errors.Is(err, store.ErrNotFound) {
			return store.ErrVersionConflict
		} else if err != nil {
			return err
		}
		return audit(ctx, tx, a)
	})
}

// Records implements store.Store.
func (s *Store) Records(ctx context.Context, f store.RecordFilter, fn func(*store.RecordRow) error) error {
	var c conds
	if f.Class != "" {
		c.add(`r.class = ?`, f.Class)
	}
	if f.Type != "" {
		c.add(`r.type = ?`, f.Type)
	}
	if f.TerminalID != "" {
		c.add(`t.id = ?`, f.TerminalID)
	}
	q := `SELECT t.id, t.name, t.quarter, r.record_id, r.type, r.created_at, r.received_at, r.payload
		FROM records r JOIN terminals t ON t.num = r.terminal_num` + c.where() + ` ORDER BY r.received_at, r.record_id`
	q += c.limit(f.Limit)
	rows, err := s.pool.Query(ctx, q, c.args...)
	if err != nil {
		return fmt.Errorf("pgstore: records: %w", err)
	}
	defer rows.Close()
	var rec store.RecordRow
	var created, received int64
	for rows.Next() {
		if err := rows.Scan(&rec.TerminalID, &rec.TerminalName, &rec.Quarter, &rec.ID, &rec.Type, &created, &received, &rec.Payload); err != nil {
			return fmt.Errorf("pgstore: records: %w", err)
		}
		rec.CreatedAt, rec.ReceivedAt = store.FromNanos(created), store.FromNanos(received)
		if err := fn(&rec); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("pgstore: records: %w", err)
	}
	return nil
}
