// Package atomicfile writes the small files a terminal keeps (its private
// key, the cached configuration, the card key, the ticket counter) so that
// a power cut leaves either the old or the new content, never a torn file
// or none. github.com/google/renameio/v2 writes a uniquely named temporary
// file beside the target, fsyncs it and renames it over the target; the
// directory is fsynced afterwards (renameio does not), so that the rename
// itself survives the cut.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/google/renameio/v2"
)

// WriteFile replaces path with data atomically and durably. The file gets
// exactly perm, whatever the umask and the mode of the file it replaces:
// these files are private, and a key once readable by others must not stay
// so.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	pf, err := pending(path, perm)
	if err != nil {
		return err
	}
	defer pf.Cleanup()
	if _, err := pf.Write(data); err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	if err := pf.CloseAtomicallyReplace(); err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	return SyncDir(filepath.Dir(path))
}

// Stream replaces path atomically and durably with what write writes,
// for files too large to hold in memory (the hub's open data day files).
// If write fails, path is left as it was.
func Stream(path string, perm os.FileMode, write func(io.Writer) error) error {
	pf, err := pending(path, perm)
	if err != nil {
		return err
	}
	defer pf.Cleanup()
	if err := write(pf); err != nil {
		return err
	}
	if err := pf.CloseAtomicallyReplace(); err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	return SyncDir(filepath.Dir(path))
}

// Create writes data to path atomically and durably unless path exists
// already; then it leaves that file alone and reports created false. Of
// several processes creating the same file at once exactly one succeeds,
// and the others can read its complete content.
func Create(path string, data []byte, perm os.FileMode) (created bool, err error) {
	pf, err := pending(path, perm)
	if err != nil {
		return false, err
	}
	defer pf.Cleanup()
	if _, err := pf.Write(data); err != nil {
		return false, fmt.Errorf("atomicfile: %w", err)
	}
	if err := pf.Sync(); err != nil {
		return false, fmt.Errorf("atomicfile: %w", err)
	}
	// A hard link, unlike a rename, fails when the target exists.
	if err := os.Link(pf.Name(), path); errors.Is(err, os.ErrExist) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("atomicfile: %w", err)
	}
	return true, SyncDir(filepath.Dir(path))
}

func pending(path string, perm os.FileMode) (*renameio.PendingFile, error) {
	// The temporary file lies beside the target: renameio would otherwise
	// probe $TMPDIR with trial files on every write.
	pf, err := renameio.NewPendingFile(path, renameio.WithTempDir(filepath.Dir(path)),
		renameio.WithPermissions(perm), renameio.WithStaticPermissions(perm))
	if err != nil {
		return nil, fmt.Errorf("atomicfile: %w", err)
	}
	return pf, nil
}

// SyncDir fsyncs a directory, making the creation, renaming or removal of
// its entries durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("atomicfile: sync %s: %w", dir, err)
	}
	return nil
}
