package pgstore

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// Console actions with their audit entry in the same transaction.

// StartSession implements store.Store.
func (s *Store) StartSession(ctx context.Context, se store.Session, a store.Audit) error {
	return s.tx(ctx, "start session", func(tx pgx.Tx) error {
		if err := mustAffect(tx.Exec(ctx, `UPDATE users SET last_login_at = $1 WHERE id = $2`, store.Nanos(se.CreatedAt), se.UserID)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO console_sessions (id_hash, user_id, csrf, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			se.IDHash, se.UserID, se.CSRF, store.Nanos(se.CreatedAt), store.Nanos(se.LastSeenAt), store.Nanos(se.ExpiresAt)); err != nil {
			return err
		}
		return audit(ctx, tx, a)
	})
}

// EndSession implements store.Store.
func (s *Store) EndSession(ctx context.Context, idHash string, a store.Audit) error {
	return s.tx(ctx, "end session", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM console_sessions WHERE id_hash = $1`, idHash); err != nil {
			return err
		}
		return audit(ctx, tx, a)
	})
}

// CreateEnrolTokenAudited implements store.Store.
func (s *Store) CreateEnrolTokenAudited(ctx context.Context, tok store.EnrolToken, a store.Audit) error {
	return s.tx(ctx, "create token", func(tx pgx.Tx) error {
		if err := createEnrolToken(ctx, tx, tok); err != nil {
			return err
		}
		return audit(ctx, tx, a)
	})
}

// RevokeTerminalAudited implements store.Store.
func (s *Store) RevokeTerminalAudited(ctx context.Context, id string, at time.Time, a store.Audit) error {
	return s.tx(ctx, "revoke", func(tx pgx.Tx) error {
		if err := revokeTerminal(ctx, tx, id, at); err != nil {
			return err
		}
		return audit(ctx, tx, a)
	})
}

// ReportByRef implements store.Store: the first two reports in the
// owner's order tell the owner and whether it shares its reference.
func (s *Store) ReportByRef(ctx context.Context, ref string) (store.Report, bool, error) {
	rs, err := queryAll(ctx, s, "report by reference", scanReport, `SELECT t.id, t.name, t.quarter, r.record_id, r.created_at, r.received_at, r.payload,
			`+reportStatusCols+`
		FROM records r JOIN terminals t ON t.num = r.terminal_num
		LEFT JOIN report_status s ON s.terminal_id = t.id AND s.record_id = r.record_id
		WHERE r.class = 'resident' AND r.type = 'problem_report' AND `+reportRefExpr+` = $1
		ORDER BY r.received_at, r.terminal_num, r.record_id LIMIT 2`, strings.ReplaceAll(ref, "-", ""))
	if err != nil {
		return store.Report{}, false, err
	}
	if len(rs) == 0 {
		return store.Report{}, false, store.ErrNotFound
	}
	return rs[0], len(rs) > 1, nil
}
