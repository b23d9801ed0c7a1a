package sqlitestore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Backup writes a consistent copy of the database to path while the hub
// keeps running: VACUUM INTO reads one snapshot (WAL readers do not block
// the writer) into a fresh, compacted file. The copy is written beside
// path and renamed into place only when complete, so a failed backup never
// leaves a truncated file under the final name. path must not exist.
func (s *Store) Backup(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("sqlitestore: backup: %s exists already", path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("sqlitestore: backup: %w", err)
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".partial")
	_ = os.Remove(tmp) // left by an interrupted backup
	// The readers are opened read-only, and VACUUM INTO writes a file; on
	// the writer connection it still takes no write lock on the database,
	// so a hub in another process keeps writing meanwhile.
	if _, err := s.w.ExecContext(ctx, "VACUUM INTO ?", tmp); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("sqlitestore: backup: %w", err)
	}
	if err := syncFile(tmp); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("sqlitestore: backup: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("sqlitestore: backup: %w", err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync() // make the rename durable
		d.Close()
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
