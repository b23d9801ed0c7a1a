package atomicfile_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/quartierhub/quartierhub/internal/atomicfile"
)

// Writers of the same file at once never share a temporary file: each
// write succeeds, the file ends whole with one writer's content, and no
// temporary file is left behind.
func TestConcurrentWritersDoNotCollide(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ticket.json")
	const writers = 16
	contents := make([][]byte, writers)
	for i := range contents {
		contents[i] = bytes.Repeat([]byte(fmt.Sprintf("writer %02d;", i)), 2000)
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers*10)
	for i := range writers {
		wg.Go(func() {
			for range 10 {
				if err := atomicfile.WriteFile(path, contents[i], 0o600); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	whole := false
	for _, c := range contents {
		whole = whole || bytes.Equal(got, c)
	}
	if !whole {
		t.Fatalf("the file holds %d bytes that are no writer's content", len(got))
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only the file: %v", len(entries), entries)
	}
}

// The file gets exactly the mode asked for, even under a permissive umask
// and over a file that was readable by others.
func TestModeIsExact(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "identity.json")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.WriteFile(path, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
}

// Of creators racing for one file exactly one wins, and every loser finds
// the winner's complete content.
func TestCreateHasOneWinner(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "card-key")
	const n = 16
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins []int
	)
	for i := range n {
		wg.Go(func() {
			created, err := atomicfile.Create(path, []byte(fmt.Sprintf("key %02d", i)), 0o600)
			if err != nil {
				t.Error(err)
				return
			}
			if created {
				mu.Lock()
				wins = append(wins, i)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(wins) != 1 {
		t.Fatalf("%d creators won, want 1", len(wins))
	}
	got, _ := os.ReadFile(path)
	if want := fmt.Sprintf("key %02d", wins[0]); string(got) != want {
		t.Fatalf("file holds %q, the winner wrote %q", got, want)
	}
	if created, err := atomicfile.Create(path, []byte("late"), 0o600); created || err != nil {
		t.Fatalf("Create over an existing file: created %v, %v", created, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("directory holds %v, want only the file", entries)
	}
}

// A failed Stream leaves the old file and no temporary one; a finished one
// replaces it.
func TestStreamKeepsOldFileOnFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "day.csv.gz")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := atomicfile.Stream(path, 0o644, func(w io.Writer) error {
		if _, err := io.WriteString(w, "half"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Stream = %v, want the writer's error", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Fatalf("after a failed Stream the file holds %q", b)
	}
	if err := atomicfile.Stream(path, 0o644, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Fatalf("after Stream the file holds %q", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only the file", len(entries))
	}
}
