package cli_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/quartierhub/quartierhub/hub-server/internal/cli"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/sqlitestore"
)

// A backup taken while the hub's database is open holds what was stored,
// refuses to overwrite a file, and is refused for PostgreSQL.
func TestBackup(t *testing.T) {
	data := filepath.Join(t.TempDir(), "hub")
	if err := mkHub(data); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := runIn(t, "a long enough secret\n", "user", "add", "--data", data, "--name", "anna", "--role", "admin", "--password-stdin"); code != 0 {
		t.Fatalf("user add: %s", errs)
	}
	// Hold the database open as a running hub would.
	live, err := sqlitestore.Open(context.Background(), cli.DBPath(data), sqlitestore.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()

	to := filepath.Join(t.TempDir(), "hub-backup.db")
	if out, errs, code := run(t, "backup", "--data", data, "--to", to); code != 0 || !strings.Contains(out, "backup written") {
		t.Fatalf("backup: %d %q %q", code, out, errs)
	}
	if fi, err := os.Stat(to); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("backup file mode: %v, %v; want 0600 (it holds password hashes and reports)", fi.Mode(), err)
	}
	copyDB, err := sqlitestore.Open(context.Background(), to, sqlitestore.Opts{})
	if err != nil {
		t.Fatalf("open the backup: %v", err)
	}
	defer copyDB.Close()
	users, err := copyDB.Users(context.Background())
	if err != nil || len(users) != 1 || users[0].Name != "anna" {
		t.Fatalf("users in the backup: %+v %v", users, err)
	}

	if _, errs, code := run(t, "backup", "--data", data, "--to", to); code == 0 || !strings.Contains(errs, "exists already") {
		t.Errorf("second backup to the same file: %d %q", code, errs)
	}
	if _, errs, code := run(t, "backup", "--db", "postgres://x@localhost/hub", "--to", to); code == 0 || !strings.Contains(errs, "pg_dump") {
		t.Errorf("backup with --db: %d %q", code, errs)
	}
}

// Backups taken at once to the same file never share a temporary file:
// each finishes, the file is a complete database, and nothing is left
// beside it.
func TestConcurrentBackupsDoNotCollide(t *testing.T) {
	data := filepath.Join(t.TempDir(), "hub")
	if err := mkHub(data); err != nil {
		t.Fatal(err)
	}
	live, err := sqlitestore.Open(context.Background(), cli.DBPath(data), sqlitestore.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	dir := t.TempDir()
	to := filepath.Join(dir, "hub-backup.db")
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() { errs <- live.Backup(context.Background(), to) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil && !strings.Contains(err.Error(), "exists already") {
			t.Errorf("backup: %v", err)
		}
	}
	copyDB, err := sqlitestore.Open(context.Background(), to, sqlitestore.Opts{})
	if err != nil {
		t.Fatalf("open the backup: %v", err)
	}
	copyDB.Close()
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("backup directory holds %v, want only the backup", entries)
	}
}
