package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/pressly/goose/v3"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

var _ store.Operable = (*Store)(nil)

// Ready implements store.Operable, through a reader connection so that a
// probe never waits behind the writer.
func (s *Store) Ready(ctx context.Context) error {
	fsys, err := store.MigrationsFS(store.DialectSQLite)
	if err != nil {
		return fmt.Errorf("sqlitestore: ready: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, s.r, fsys)
	if err != nil {
		return fmt.Errorf("sqlitestore: ready: %w", err)
	}
	cur, target, err := p.GetVersions(ctx)
	if err != nil {
		return fmt.Errorf("sqlitestore: ready: %w", err)
	}
	if cur < target {
		return fmt.Errorf("sqlitestore: ready: schema version %d, want %d", cur, target)
	}
	return nil
}

// PoolStats implements store.Operable: the writer and the readers.
func (s *Store) PoolStats() map[string]store.PoolStats {
	conv := func(st sql.DBStats) store.PoolStats {
		return store.PoolStats{Open: st.OpenConnections, InUse: st.InUse, Idle: st.Idle, MaxOpen: st.MaxOpenConnections,
			WaitCount: st.WaitCount, WaitDuration: st.WaitDuration}
	}
	return map[string]store.PoolStats{"writer": conv(s.w.Stats()), "readers": conv(s.r.Stats())}
}
