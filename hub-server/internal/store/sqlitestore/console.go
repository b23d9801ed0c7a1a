package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// rotateTx finishes Enroll for a rotation token: the terminal keeps its
// ID and gets the new key.
func rotateTx(ctx context.Context, tx *sql.Tx, t *store.Terminal, id, hash string, e store.Enrolment) error {
	if err := mustAffect(tx.ExecContext(ctx, `UPDATE terminals SET public_key = ?, software_version = ?, revoked_at = NULL WHERE id = ?`,
		api.EncodePublicKey(e.PublicKey), e.SoftwareVersion, id)); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return store.ErrTokenUnknown
		}
		return err
	}
	var enrolled int64
	if err := tx.QueryRowContext(ctx, `SELECT name, quarter, enrolled_at FROM terminals WHERE id = ?`, id).Scan(&t.Name, &t.Quarter, &enrolled); err != nil {
		return err
	}
	t.ID, t.PublicKey, t.SoftwareVersion, t.EnrolledAt = id, e.PublicKey, e.SoftwareVersion, store.FromNanos(enrolled)
	_, err := tx.ExecContext(ctx, `UPDATE enrol_tokens SET used_at = ?, terminal_id = ? WHERE hash = ?`, store.Nanos(e.Now), id, hash)
	return err
}

func nullNanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

// CreateUser implements store.Store.
func (s *Store) CreateUser(ctx context.Context, u store.User, a store.Audit) error {
	return s.writeTx(ctx, "create user", func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE name = ?`, u.Name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return store.ErrUserExists
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, name, role, password_hash, created_at, updated_at, disabled_at, last_login_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, u.ID, u.Name, u.Role, u.PasswordHash, store.Nanos(u.CreatedAt), store.Nanos(u.CreatedAt),
			nullNanos(u.DisabledAt), nullNanos(u.LastLoginAt)); err != nil {
			return err
		}
		return audit(ctx, tx, a)
	})
}

const userCols = `id, name, role, password_hash, created_at, updated_at, disabled_at, last_login_at, version`

func scanUser(sc interface{ Scan(...any) error }) (store.User, error) {
	var u store.User
	var created, updated int64
	var disabled, login sql.NullInt64
	err := sc.Scan(&u.ID, &u.Name, &u.Role, &u.PasswordHash, &created, &updated, &disabled, &login, &u.Version)
	u.CreatedAt, u.UpdatedAt = store.FromNanos(created), store.FromNanos(updated)
	u.DisabledAt, u.LastLoginAt = store.FromNanos(disabled.Int64), store.FromNanos(login.Int64)
	return u, err
}

func (s *Store) userWhere(ctx context.Context, cond string, arg any) (store.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE `+cond, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return u, store.ErrNotFound
	}
	if err != nil {
		return u, fmt.Errorf("sqlitestore: user: %w", err)
	}
	return u, nil
}

// UserByName implements store.Store.
func (s *Store) UserByName(ctx context.Context, name string) (store.User, error) {
	return s.userWhere(ctx, `name = ?`, name)
}

// UserByID implements store.Store.
func (s *Store) UserByID(ctx context.Context, id string) (store.User, error) {
	return s.userWhere(ctx, `id = ?`, id)
}

// Users implements store.Store.
func (s *Store) Users(ctx context.Context) ([]store.User, error) {
	return queryAll(ctx, s.r, "users", scanUser, `SELECT `+userCols+` FROM users ORDER BY name`)
}

// UpdateUser implements store.Store.
func (s *Store) UpdateUser(ctx context.Context, u store.User, a store.Audit) error {
	return s.writeTx(ctx, "update user", func(tx *sql.Tx) error {
		old, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, u.ID))
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		} else if err != nil {
			return err
		}
		if old.Version != u.Version {
			return store.ErrVersionConflict
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET role = ?, password_hash = ?, disabled_at = ?, updated_at = ?, version = version + 1 WHERE id = ?`,
			u.Role, u.PasswordHash, nullNanos(u.DisabledAt), store.Nanos(a.At), u.ID); err != nil {
			return err
		}
		if old.Role != u.Role || old.PasswordHash != u.PasswordHash || u.Disabled() {
			if _, err := tx.ExecContext(ctx, `DELETE FROM console_sessions WHERE user_id = ?`, u.ID); err != nil {
				return err
			}
		}
		return audit(ctx, tx, a)
	})
}

// SetUserLogin implements store.Store.
func (s *Store) SetUserLogin(ctx context.Context, id string, at time.Time) error {
	return s.writeTx(ctx, "user login", func(tx *sql.Tx) error {
		return mustAffect(tx.ExecContext(ctx, `UPDATE users SET last_login_at = ? WHERE id = ?`, store.Nanos(at), id))
	})
}

// CreateSession implements store.Store.
func (s *Store) CreateSession(ctx context.Context, se store.Session) error {
	return s.writeTx(ctx, "create session", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO console_sessions (id_hash, user_id, csrf, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
			se.IDHash, se.UserID, se.CSRF, store.Nanos(se.CreatedAt), store.Nanos(se.LastSeenAt), store.Nanos(se.ExpiresAt))
		return err
	})
}

// Session implements store.Store.
func (s *Store) Session(ctx context.Context, idHash string, now time.Time) (store.Session, error) {
	var se store.Session
	var created, seen, expires int64
	err := s.r.QueryRowContext(ctx, `SELECT id_hash, user_id, csrf, created_at, last_seen_at, expires_at FROM console_sessions
		WHERE id_hash = ? AND expires_at > ?`, idHash, store.Nanos(now)).Scan(&se.IDHash, &se.UserID, &se.CSRF, &created, &seen, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return se, store.ErrNotFound
	}
	if err != nil {
		return se, fmt.Errorf("sqlitestore: session: %w", err)
	}
	se.CreatedAt, se.LastSeenAt, se.ExpiresAt = store.FromNanos(created), store.FromNanos(seen), store.FromNanos(expires)
	return se, nil
}

// TouchSession implements store.Store.
func (s *Store) TouchSession(ctx context.Context, idHash string, lastSeen, expires time.Time) error {
	return s.writeTx(ctx, "touch session", func(tx *sql.Tx) error {
		return mustAffect(tx.ExecContext(ctx, `UPDATE console_sessions SET last_seen_at = ?, expires_at = ? WHERE id_hash = ?`,
			store.Nanos(lastSeen), store.Nanos(expires), idHash))
	})
}

// DeleteSession implements store.Store.
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	return s.writeTx(ctx, "delete session", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM console_sessions WHERE id_hash = ?`, idHash)
		return err
	})
}

func (s *Store) deleteCount(ctx context.Context, what, q string, args ...any) (int64, error) {
	var n int64
	err := s.writeTx(ctx, what, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// DeleteExpiredSessions implements store.Store.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	return s.deleteCount(ctx, "expire sessions", `DELETE FROM console_sessions WHERE expires_at <= ?`, store.Nanos(now))
}

// AddLoginFailure implements store.Store. One UPSERT: a count whose last
// failure is older than window restarts at 1.
func (s *Store) AddLoginFailure(ctx context.Context, key string, at time.Time, window time.Duration) (int64, error) {
	var n int64
	err := s.writeTx(ctx, "login failure", func(tx *sql.Tx) error {
		now := store.Nanos(at)
		return tx.QueryRowContext(ctx, `INSERT INTO login_failures (key, failures, first_at, last_at) VALUES (?, 1, ?, ?)
			ON CONFLICT (key) DO UPDATE SET
				failures = CASE WHEN excluded.last_at - login_failures.last_at > ? THEN 1 ELSE login_failures.failures + 1 END,
				first_at = CASE WHEN excluded.last_at - login_failures.last_at > ? THEN excluded.first_at ELSE login_failures.first_at END,
				last_at = excluded.last_at
			RETURNING failures`, key, now, now, int64(window), int64(window)).Scan(&n)
	})
	return n, err
}

// LoginFailures implements store.Store.
func (s *Store) LoginFailures(ctx context.Context, key string) (int64, time.Time, error) {
	var n, last int64
	err := s.r.QueryRowContext(ctx, `SELECT failures, last_at FROM login_failures WHERE key = ?`, key).Scan(&n, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("sqlitestore: login failures: %w", err)
	}
	return n, store.FromNanos(last), nil
}

// ClearLoginFailures implements store.Store.
func (s *Store) ClearLoginFailures(ctx context.Context, key string) error {
	_, err := s.deleteCount(ctx, "clear login failures", `DELETE FROM login_failures WHERE key = ?`, key)
	return err
}

// PruneLoginFailures implements store.Store.
func (s *Store) PruneLoginFailures(ctx context.Context, before time.Time) (int64, error) {
	return s.deleteCount(ctx, "prune login failures", `DELETE FROM login_failures WHERE last_at < ?`, store.Nanos(before))
}

// AppendAudit implements store.Store.
func (s *Store) AppendAudit(ctx context.Context, a store.Audit) error {
	return s.writeTx(ctx, "audit", func(tx *sql.Tx) error { return audit(ctx, tx, a) })
}

// AuditEntries implements store.Store.
func (s *Store) AuditEntries(ctx context.Context, f store.AuditFilter) ([]store.Audit, error) {
	var where []string
	var args []any
	if f.Subject != "" {
		where, args = append(where, "subject = ?"), append(args, f.Subject)
	}
	if f.Actor != "" {
		where, args = append(where, "actor = ?"), append(args, f.Actor)
	}
	if prefix, ok := strings.CutSuffix(f.Action, "."); ok {
		where, args = append(where, "SUBSTR(action, 1, ?) = ?"), append(args, len(prefix)+1, prefix+".")
	} else if f.Action != "" {
		where, args = append(where, "action = ?"), append(args, f.Action)
	}
	q := `SELECT at, actor, action, subject, detail FROM audit_log` + whereClause(where) + ` ORDER BY seq DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	return queryAll(ctx, s.r, "audit entries", func(sc interface{ Scan(...any) error }) (store.Audit, error) {
		var a store.Audit
		var at int64
		err := sc.Scan(&at, &a.Actor, &a.Action, &a.Subject, &a.Detail)
		a.At = store.FromNanos(at)
		return a, err
	}, q, args...)
}

// CreateRotationToken implements store.Store.
func (s *Store) CreateRotationToken(ctx context.Context, tok store.EnrolToken, terminalID string, a store.Audit) error {
	return s.writeTx(ctx, "create rotation token", func(tx *sql.Tx) error {
		var name, quarter string
		err := tx.QueryRowContext(ctx, `SELECT name, quarter FROM terminals WHERE id = ?`, terminalID).Scan(&name, &quarter)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		} else if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO enrol_tokens (hash, terminal_name, quarter, created_at, expires_at, rotate_terminal_id) VALUES (?, ?, ?, ?, ?, ?)`,
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
	where := []string{`r.class = 'resident'`, `r.type = 'problem_report'`}
	var args []any
	if f.Ref != "" {
		where, args = append(where, reportRefExpr+` = ?`), append(args, strings.ReplaceAll(f.Ref, "-", ""))
	}
	if f.TerminalID != "" {
		where, args = append(where, `t.id = ?`), append(args, f.TerminalID)
	}
	if f.RecordID != "" {
		where, args = append(where, `r.record_id = ?`), append(args, f.RecordID)
	}
	if f.Quarter != "" {
		where, args = append(where, `t.quarter = ?`), append(args, f.Quarter)
	}
	if f.Status != "" {
		where, args = append(where, `COALESCE(s.status, 'new') = ?`), append(args, f.Status)
	}
	q := `SELECT t.id, t.name, t.quarter, r.record_id, r.created_at, r.received_at, r.payload,
			` + reportStatusCols + `
		FROM records r JOIN terminals t ON t.num = r.terminal_num
		LEFT JOIN report_status s ON s.terminal_id = t.id AND s.record_id = r.record_id` +
		whereClause(where) + ` ORDER BY r.received_at DESC, r.record_id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	return queryAll(ctx, s.r, "reports", scanReport, q, args...)
}

// reportStatusCols are a report's workflow columns, "new" and zero
// without a status row.
const reportStatusCols = `COALESCE(s.status, 'new'), COALESCE(s.public_note, ''), COALESCE(s.publish_text, 0), COALESCE(s.updated_at, 0),
	COALESCE(s.updated_by, ''), COALESCE(s.version, 0)`

// scanReport reads t.id, t.name, t.quarter, r.record_id, r.created_at,
// r.received_at, r.payload and reportStatusCols.
func scanReport(sc interface{ Scan(...any) error }) (store.Report, error) {
	var r store.Report
	var created, received, updated, publish int64
	var payload string
	err := sc.Scan(&r.TerminalID, &r.TerminalName, &r.Quarter, &r.RecordID, &created, &received, &payload,
		&r.Status, &r.PublicNote, &publish, &updated, &r.UpdatedBy, &r.Version)
	r.ReportStatus.TerminalID, r.ReportStatus.RecordID = r.TerminalID, r.RecordID
	r.Ref, r.CreatedAt, r.ReceivedAt, r.Payload = api.ReportReference(r.RecordID), store.FromNanos(created), store.FromNanos(received), []byte(payload)
	r.PublishText, r.UpdatedAt = publish != 0, store.FromNanos(updated)
	return r, err
}

// SetReportStatus implements store.Store.
func (s *Store) SetReportStatus(ctx context.Context, st store.ReportStatus, a store.Audit) error {
	return s.writeTx(ctx, "set report status", func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM records r JOIN terminals t ON t.num = r.terminal_num
			WHERE t.id = ? AND r.record_id = ? AND r.type = 'problem_report'`, st.TerminalID, st.RecordID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		publish := 0
		if st.PublishText {
			publish = 1
		}
		// One statement each way, so the check of the version and the
		// write cannot be split: the first state inserts (a row there
		// already is a conflict), a later one updates only its version.
		var res sql.Result
		var err error
		if st.Version == 0 {
			res, err = tx.ExecContext(ctx, `INSERT INTO report_status (terminal_id, record_id, status, public_note, publish_text, updated_at, updated_by, version)
				VALUES (?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT (terminal_id, record_id) DO NOTHING`,
				st.TerminalID, st.RecordID, st.Status, st.PublicNote, publish, store.Nanos(st.UpdatedAt), st.UpdatedBy)
		} else {
			res, err = tx.ExecContext(ctx, `UPDATE report_status SET status = ?, public_note = ?, publish_text = ?, updated_at = ?, updated_by = ?,
				version = version + 1 WHERE terminal_id = ? AND record_id = ? AND version = ?`,
				st.Status, st.PublicNote, publish, store.Nanos(st.UpdatedAt), st.UpdatedBy, st.TerminalID, st.RecordID, st.Version)
		}
		if err := mustAffect(res, err); errors.Is(err, store.ErrNotFound) {
			return store.ErrVersionConflict
		} else if err != nil {
			return err
		}
		return audit(ctx, tx, a)
	})
}

// Records implements store.Store.
func (s *Store) Records(ctx context.Context, f store.RecordFilter, fn func(*store.RecordRow) error) error {
	var where []string
	var args []any
	if f.Class != "" {
		where, args = append(where, `r.class = ?`), append(args, f.Class)
	}
	if f.Type != "" {
		where, args = append(where, `r.type = ?`), append(args, f.Type)
	}
	if f.TerminalID != "" {
		where, args = append(where, `t.id = ?`), append(args, f.TerminalID)
	}
	q := `SELECT t.id, t.name, t.quarter, r.record_id, r.type, r.created_at, r.received_at, r.payload
		FROM records r JOIN terminals t ON t.num = r.terminal_num` + whereClause(where) + ` ORDER BY r.received_at, r.record_id`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("sqlitestore: records: %w", err)
	}
	defer rows.Close()
	var rec store.RecordRow
	var payload sql.RawBytes
	var created, received int64
	for rows.Next() {
		if err := rows.Scan(&rec.TerminalID, &rec.TerminalName, &rec.Quarter, &rec.ID, &rec.Type, &created, &received, &payload); err != nil {
			return fmt.Errorf("sqlitestore: records: %w", err)
		}
		rec.CreatedAt, rec.ReceivedAt, rec.Payload = store.FromNanos(created), store.FromNanos(received), payload
		if err := fn(&rec); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlitestore: records: %w", err)
	}
	return nil
}
