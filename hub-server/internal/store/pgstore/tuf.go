package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// PublishTUF implements store.TUF in one transaction. A transaction-scoped
// advisory lock serialises publications of all hub processes, so the
// version checks below see every earlier publication.
func (s *Store) PublishTUF(ctx context.Context, metas []store.TUFMetadata, target *store.TUFTarget) error {
	return s.tx(ctx, "publish tuf", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('quartierhub.tuf'))`); err != nil {
			return err
		}
		for _, m := range metas {
			var newest int64
			if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM tuf_metadata WHERE role = $1`, m.Role).Scan(&newest); err != nil {
				return err
			}
			if m.Version <= newest {
				return store.ErrVersionConflict
			}
			if _, err := tx.Exec(ctx, `INSERT INTO tuf_metadata (role, version, body, added_at) VALUES ($1, $2, $3, $4)`,
				m.Role, m.Version, m.Body, store.Nanos(m.AddedAt)); err != nil {
				return err
			}
			if m.Role == "timestamp" {
				if _, err := tx.Exec(ctx, `DELETE FROM tuf_metadata WHERE role = 'timestamp' AND version <= $1`,
					m.Version-store.TUFTimestampsKept); err != nil {
					return err
				}
			}
		}
		if target == nil {
			return nil
		}
		var sum string
		err := tx.QueryRow(ctx, `SELECT sha256 FROM tuf_targets WHERE name = $1`, target.Name).Scan(&sum)
		switch {
		case err == nil && sum == target.SHA256:
			return nil
		case err == nil:
			return store.ErrVersionConflict
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO tuf_targets (name, sha256, length, body, added_at) VALUES ($1, $2, $3, $4, $5)`,
			target.Name, target.SHA256, len(target.Body), target.Body, store.Nanos(target.AddedAt))
		return err
	})
}

// TUFMetadata implements store.TUF.
func (s *Store) TUFMetadata(ctx context.Context, role string, version int64) (store.TUFMetadata, error) {
	m := store.TUFMetadata{Role: role}
	q := `SELECT version, body, added_at FROM tuf_metadata WHERE role = $1 AND version = $2`
	args := []any{role, version}
	if version == 0 {
		q, args = `SELECT version, body, added_at FROM tuf_metadata WHERE role = $1 ORDER BY version DESC LIMIT 1`, []any{role}
	}
	var added int64
	err := s.pool.QueryRow(ctx, q, args...).Scan(&m.Version, &m.Body, &added)
	if errors.Is(err, pgx.ErrNoRows) {
		return m, store.ErrNotFound
	}
	if err != nil {
		return m, fmt.Errorf("pgstore: tuf metadata: %w", err)
	}
	m.AddedAt = store.FromNanos(added)
	return m, nil
}

// TUFTarget implements store.TUF.
func (s *Store) TUFTarget(ctx context.Context, name string) (store.TUFTarget, error) {
	var t store.TUFTarget
	var added int64
	err := s.pool.QueryRow(ctx, `SELECT name, sha256, length, added_at, body FROM tuf_targets WHERE name = $1`, name).
		Scan(&t.Name, &t.SHA256, &t.Length, &added, &t.Body)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, store.ErrNotFound
	}
	if err != nil {
		return t, fmt.Errorf("pgstore: tuf target: %w", err)
	}
	t.AddedAt = store.FromNanos(added)
	return t, nil
}

// TUFTargets implements store.TUF.
func (s *Store) TUFTargets(ctx context.Context) ([]store.TUFTargetInfo, error) {
	return queryAll(ctx, s, "tuf targets", func(row pgx.Row) (store.TUFTargetInfo, error) {
		var t store.TUFTargetInfo
		var added int64
		err := row.Scan(&t.Name, &t.SHA256, &t.Length, &added)
		t.AddedAt = store.FromNanos(added)
		return t, err
	}, `SELECT name, sha256, length, added_at FROM tuf_targets ORDER BY name`)
}
