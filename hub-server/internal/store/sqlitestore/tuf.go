package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// PublishTUF implements store.TUF in one write transaction.
func (s *Store) PublishTUF(ctx context.Context, metas []store.TUFMetadata, target *store.TUFTarget) error {
	return s.writeTx(ctx, "publish tuf", func(tx *sql.Tx) error {
		for _, m := range metas {
			var newest int64
			if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM tuf_metadata WHERE role = ?`, m.Role).Scan(&newest); err != nil {
				return err
			}
			if m.Version <= newest {
				return store.ErrVersionConflict
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO tuf_metadata (role, version, body, added_at) VALUES (?, ?, ?, ?)`,
				m.Role, m.Version, m.Body, store.Nanos(m.AddedAt)); err != nil {
				return err
			}
			if m.Role == "timestamp" {
				if _, err := tx.ExecContext(ctx, `DELETE FROM tuf_metadata WHERE role = 'timestamp' AND version <= ?`,
					m.Version-store.TUFTimestampsKept); err != nil {
					return err
				}
			}
		}
		if target == nil {
			return nil
		}
		var sum string
		err := tx.QueryRowContext(ctx, `SELECT sha256 FROM tuf_targets WHERE name = ?`, target.Name).Scan(&sum)
		switch {
		case err == nil && sum == target.SHA256:
			return nil
		case err == nil:
			return store.ErrVersionConflict
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO tuf_targets (name, sha256, length, body, added_at) VALUES (?, ?, ?, ?, ?)`,
			target.Name, target.SHA256, len(target.Body), target.Body, store.Nanos(target.AddedAt))
		return err
	})
}

// TUFMetadata implements store.TUF.
func (s *Store) TUFMetadata(ctx context.Context, role string, version int64) (store.TUFMetadata, error) {
	m := store.TUFMetadata{Role: role}
	q := `SELECT version, body, added_at FROM tuf_metadata WHERE role = ? AND version = ?`
	args := []any{role, version}
	if version == 0 {
		q, args = `SELECT version, body, added_at FROM tuf_metadata WHERE role = ? ORDER BY version DESC LIMIT 1`, []any{role}
	}
	err := s.r.QueryRowContext(ctx, q, args...).Scan(&m.Version, &m.Body, nanosInto{&m.AddedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return m, store.ErrNotFound
	}
	if err != nil {
		return m, fmt.Errorf("sqlitestore: tuf metadata: %w", err)
	}
	return m, nil
}

// TUFTarget implements store.TUF.
func (s *Store) TUFTarget(ctx context.Context, name string) (store.TUFTarget, error) {
	var t store.TUFTarget
	err := s.r.QueryRowContext(ctx, `SELECT name, sha256, length, added_at, body FROM tuf_targets WHERE name = ?`, name).
		Scan(&t.Name, &t.SHA256, &t.Length, nanosInto{&t.AddedAt}, &t.Body)
	if errors.Is(err, sql.ErrNoRows) {
		return t, store.ErrNotFound
	}
	if err != nil {
		return t, fmt.Errorf("sqlitestore: tuf target: %w", err)
	}
	return t, nil
}

// TUFTargets implements store.TUF.
func (s *Store) TUFTargets(ctx context.Context) ([]store.TUFTargetInfo, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, sha256, length, added_at FROM tuf_targets ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: tuf targets: %w", err)
	}
	defer rows.Close()
	var out []store.TUFTargetInfo
	for rows.Next() {
		var t store.TUFTargetInfo
		if err := rows.Scan(&t.Name, &t.SHA256, &t.Length, nanosInto{&t.AddedAt}); err != nil {
			return nil, fmt.Errorf("sqlitestore: tuf targets: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: tuf targets: %w", err)
	}
	return out, nil
}
