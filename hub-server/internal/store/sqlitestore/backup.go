package sqlitestore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/quartierhub/quartierhub/internal/atomicfile"
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
	// VACUUM INTO needs a name that does not exist: a fresh directory beside
	// path gives each backup its own, so two backups to the same file never
	// write into one temporary file.
	tmpDir, err := os.MkdirTemp(filepath.Dir(path), "."+filepath.Base(path)+".partial-")
	if err != nil {
		return fmt.Errorf("sqlitestore: backup: %w", err)
	}
	defer os.RemoveAll(tmpDir)
	tmp := filepath.Join(tmpDir, filepath.Base(path))
	// The readers are opened read-only, and VACUUM INTO writes a file; on
	// the writer connection it still takes no write lock on the database,
	// so a hub in another process keeps writing meanwhile.
	if _, err := s.w.ExecContext(ctx, "VACUUM INTO ?", tmp); err != nil {
		return fmt.Errorf("sqlitestore: backup: %w", err)
	}
	// The copy holds what hub.db holds (password hashes, residents'
	// reports): its owner's only, whatever the umask of whoever ran it.
	if err := os.Chmod(tmp, 0o600); err != nil {
		return fmt.Errorf("sqlitestore: backup: %w", err)
	}
	if err := syncFile(tmp); err != nil {
		return fmt.Errorf("sqlitestore: backup: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("sqlitestore: backup: %w", err)
	}
	// The rename is durable once the directory is synced.
	if err := atomicfile.SyncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("sqlitestore: backup: %w", err)
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
