package opendata

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A hub killed while writing a day file leaves atomicfile's temporary
// file; the next run removes it once it is old, and never a finished file
// or one being written now.
func TestSweepRemovesLeftovers(t *testing.T) {
	dir := t.TempDir()
	c := &dirCache{dir: dir}
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	day := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	finished := c.path(day)
	airDir := filepath.Dir(finished)
	if err := os.MkdirAll(airDir, 0o750); err != nil {
		t.Fatal(err)
	}
	files := map[string]time.Time{
		finished: now.Add(-48 * time.Hour),
		filepath.Join(airDir, ".2026-12-05.csv.gz123456"): now.Add(-2 * time.Hour), // a leftover
		filepath.Join(airDir, ".2026-12-06.csv.gz987654"): now.Add(-time.Minute),   // being written
	}
	for p, mod := range files {
		if err := os.WriteFile(p, []byte("x"), 0o640); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	n, err := c.sweep(now.Add(-staleTemp))
	if err != nil || n != 1 {
		t.Fatalf("sweep = %d, %v; want 1 removed", n, err)
	}
	for p := range files {
		_, err := os.Stat(p)
		if gone := os.IsNotExist(err); gone != (filepath.Base(p) == ".2026-12-05.csv.gz123456") {
			t.Errorf("%s: gone = %v", filepath.Base(p), gone)
		}
	}
	// A cache directory not made yet is nothing to sweep.
	if n, err := (&dirCache{dir: filepath.Join(dir, "none")}).sweep(now); err != nil || n != 0 {
		t.Errorf("empty cache: %d, %v", n, err)
	}
}
