package agent

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quartierhub/quartierhub/kiosk/aggregate"
)

func entry(sensor string, at time.Time, mean float64) histEntry {
	return histEntry{Sensor: sensor, Quantity: "co2", Unit: "ppm", Minute: at, Mean: mean, Min: mean, Max: mean, Count: 10}
}

func fileEntries(t *testing.T, path string) int {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n := 0
	_ = db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(historyBucket).Stats().KeyN
		return nil
	})
	return n
}

// writeHistory stores entries through a history writer and closes it.
func writeHistory(t *testing.T, path string, now func() time.Time, es []histEntry) *historyStore {
	t.Helper()
	h, _ := openHistory(path, now, slog.New(slog.DiscardHandler))
	done := make(chan error, 1)
	go func() { done <- h.run() }()
	for _, e := range es {
		h.in <- e // blocking: the test wants every entry written
	}
	close(h.in)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return h
}

// The file holds at most maxHistoryEntries, dropping the oldest, and
// nothing older than 24 hours.
func TestHistoryFileIsBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), HistoryFile)
	now := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	var es []histEntry
	// Three hours beyond the window, then more series than the cap holds.
	for m := range 27 * 60 {
		es = append(es, entry("old", now.Add(-27*time.Hour+time.Duration(m)*time.Minute), 1))
	}
	writeHistory(t, path, clock, es)
	if n := fileEntries(t, path); n != 24*60 {
		t.Fatalf("%d entries after writing 27 hours, want the last 24 hours (%d)", n, 24*60)
	}
	es = es[:0]
	for s := range 40 {
		for m := range 24 * 60 {
			es = append(es, entry(fmt.Sprintf("s%02d", s), now.Add(-24*time.Hour+time.Duration(m+1)*time.Minute), float64(s)))
		}
	}
	writeHistory(t, path, clock, es)
	if n := fileEntries(t, path); n != maxHistoryEntries {
		t.Fatalf("%d entries, want the cap %d", n, maxHistoryEntries)
	}
	fi, _ := os.Stat(path)
	t.Logf("history file with %d entries: %d bytes", maxHistoryEntries, fi.Size())
	h, loaded := openHistory(path, clock, slog.New(slog.DiscardHandler))
	h.close()
	if len(loaded) != maxHistoryEntries || !loaded[len(loaded)-1].Minute.Equal(now) {
		t.Fatalf("loaded %d entries, newest %v", len(loaded), loaded[len(loaded)-1].Minute)
	}
	// The oldest went first: the newest minutes of every series are there.
	seen := map[string]bool{}
	for _, e := range loaded[len(loaded)-40:] {
		seen[e.Sensor] = true
	}
	if len(seen) != 40 {
		t.Fatalf("the newest minute kept for %d of 40 series", len(seen))
	}
}

// A history file cut short (a full disk, a failing card) neither crashes
// the agent nor stops the history: it starts again.
func TestTruncatedHistoryFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), HistoryFile)
	now := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	var es []histEntry
	for s := range 8 {
		for m := range 600 {
			es = append(es, entry(fmt.Sprintf("s%d", s), now.Add(-time.Duration(m)*time.Minute), 5))
		}
	}
	writeHistory(t, path, clock, es)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int64{fi.Size() / 2, 4096 * 3, 100, 0} {
		if err := os.Truncate(path, size); err != nil {
			t.Fatal(err)
		}
		h, loaded := openHistory(path, clock, slog.New(slog.DiscardHandler))
		if len(loaded) > len(es) {
			t.Fatalf("size %d: %d entries loaded", size, len(loaded))
		}
		if h.db == nil {
			t.Fatalf("size %d: no history file after recovery", size)
		}
		h.close()
		// The recovered file takes new entries.
		writeHistory(t, path, clock, es[:10])
		h, loaded = openHistory(path, clock, slog.New(slog.DiscardHandler))
		h.close()
		if len(loaded) < 10 {
			t.Fatalf("size %d: %d entries after writing 10", size, len(loaded))
		}
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		writeHistory(t, path, clock, es) // full again for the next size
	}
}

func TestHistoryMerge(t *testing.T) {
	at := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	a := histEntry{Minute: at, Mean: 10, Min: 8, Max: 12, Count: 10, Partial: true}
	b := histEntry{Minute: at, Mean: 40, Min: 30, Max: 50, Count: 30}
	if got := a.merge(b); got.Count != 40 || got.Mean != 32.5 || got.Min != 8 || got.Max != 50 || got.Partial {
		t.Fatalf("partial + rest = %+v", got)
	}
	if got := b.merge(b); got != b {
		t.Fatalf("a retried emit changed the entry: %+v", got)
	}
	c := b
	c.Mean = 41
	if got := b.merge(c); got != c {
		t.Fatalf("a newer full minute did not replace: %+v", got)
	}
}

func TestHistoryEncoding(t *testing.T) {
	e := histEntry{Sensor: "pm-1", Quantity: "pm25", Unit: "ug/m3", Minute: time.Date(2026, 5, 4, 12, 1, 0, 0, time.UTC), Mean: 7.25, Min: -1, Max: 1e9, Count: 59, Partial: true}
	got, err := decodeHistory(historyKey(e), encodeHistory(e))
	if err != nil || got != e {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for _, v := range [][]byte{nil, {0}, {0, 5}, append(encodeHistory(e), 0)} {
		if _, err := decodeHistory(historyKey(e), v); err == nil {
			t.Errorf("value %x decoded", v)
		}
	}
	if _, err := decodeHistory([]byte("short"), encodeHistory(e)); err == nil {
		t.Error("short key decoded")
	}
}

// BenchmarkMinuteWithHistory is the cost a closed minute adds to the
// aggregator's emit path (before its outbox Submit) with the history
// writer running: the write to the file happens on the writer's own
// goroutine, batched.
func BenchmarkMinuteWithHistory(b *testing.B) {
	dir := b.TempDir()
	start := time.Date(2026, 5, 4, 0, 0, 0, 0, time.UTC)
	var minute atomic.Int64
	a := New(Opts{DataDir: dir, Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return start.Add(time.Duration(minute.Load()) * time.Minute) }})
	a.win.sensors.load()
	done := make(chan error, 1)
	go func() { done <- a.win.sensors.run() }()
	b.ResetTimer()
	for i := range b.N {
		minute.Store(int64(i / 3))
		a.win.sensors.minute(aggregate.Aggregate{Sensor: "pm-1", Quantity: []string{"pm25", "pm10", "co2"}[i%3], Unit: "u",
			Minute: start.Add(time.Duration(i/3) * time.Minute), Count: 60, Mean: 5, Min: 4, Max: 6})
	}
	b.StopTimer()
	a.win.sensors.close()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	fi, _ := os.Stat(filepath.Join(dir, HistoryFile))
	b.ReportMetric(float64(fi.Size()), "file_bytes")
}
