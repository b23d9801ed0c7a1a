package outbox

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// fakeClock is a settable clock for Opts.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// seeded is deterministic ULID entropy.
type seeded struct{ r *rand.ChaCha8 }

func newEntropy() *seeded {
	return &seeded{rand.NewChaCha8([32]byte{1, 2, 3})}
}

func (s *seeded) Read(p []byte) (int, error) { return s.r.Read(p) }

// dbPath returns a file in a fresh temp dir whose bbolt consistency is
// checked at cleanup, after every outbox opened on it is closed (cleanups
// run last-registered first).
func dbPath(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "outbox.db")
	t.Cleanup(func() { checkFile(t, path) })
	return path
}

// checkFile runs bbolt's consistency check on a closed outbox file.
func checkFile(t testing.TB, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		t.Errorf("check %s: open: %v", path, err)
		return
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			t.Errorf("check %s: %v", path, err)
		}
		return nil
	})
	if err != nil {
		t.Errorf("check %s: %v", path, err)
	}
}

// open opens an outbox and closes it at cleanup.
func open(t testing.TB, path string, opts Opts) *Outbox {
	t.Helper()
	if opts.Entropy == nil {
		opts.Entropy = newEntropy()
	}
	o, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := o.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return o
}

// payload returns a JSON object of exactly n bytes (n >= 20).
func payload(i, n int) []byte {
	head := fmt.Sprintf(`{"i":%d,"pad":"`, i)
	pad := n - len(head) - 2
	if pad < 0 {
		panic("payload too small")
	}
	return []byte(head + strings.Repeat("x", pad) + `"}`)
}

func submit(t testing.TB, o *Outbox, class Class, i int) Record {
	t.Helper()
	r, err := o.Submit(context.Background(), "test_"+class.String(), class, payload(i, 100))
	if err != nil {
		t.Fatalf("Submit %s %d: %v", class, i, err)
	}
	return r
}

// all returns every stored record in Peek order.
func all(t testing.TB, o *Outbox) []Record {
	t.Helper()
	rs, err := o.Peek(context.Background(), 1<<30, 1<<40)
	if err != nil {
		t.Fatalf("Peek: %v", err)
	}
	return rs
}

func ids(rs []Record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

func stats(t testing.TB, o *Outbox) Stats {
	t.Helper()
	s, err := o.Stats()
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	return s
}
