package agent

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/quartierhub/quartierhub/kiosk/internal/boltfile"
)

// HistoryFile keeps the per-minute sensor aggregates of the last 24 hours
// across restarts, for the window's air chart. It is a cache: lost or
// unreadable, the agent starts with an empty chart (the minutes went to
// the hub through the outbox anyway).
const HistoryFile = "sensor-history.db"

// maxHistoryEntries bounds the history in memory and on disk: 24 hours of
// 32 sensor quantities. The oldest go first.
const maxHistoryEntries = 24 * 60 * 32

var historyBucket = []byte("minutes")

// histEntry is one sensor quantity's minute as the history keeps it.
type histEntry struct {
	Sensor, Quantity, Unit string
	Minute                 time.Time // its start, UTC
	Mean, Min, Max         float64
	Count                  int  // readings in Mean, Min and Max
	Partial                bool // cut short by a shutdown (aggregate.Aggregate.Partial)
}

func (e histEntry) sameSeries(o histEntry) bool {
	return e.Sensor == o.Sensor && e.Quantity == o.Quantity && e.Unit == o.Unit && e.Minute.Equal(o.Minute)
}

// merge combines a minute's aggregate with one already kept for it. The
// same aggregate again (an emit retried) changes nothing; a minute cut
// short by a shutdown (Partial) and its remainder after the restart are
// pooled; otherwise the newer replaces the older.
func (e histEntry) merge(n histEntry) histEntry {
	switch {
	case e.Count == n.Count && e.Mean == n.Mean && e.Min == n.Min && e.Max == n.Max && e.Partial == n.Partial:
		return e
	case e.Partial || n.Partial:
		out := n
		out.Count = e.Count + n.Count
		out.Mean = (e.Mean*float64(e.Count) + n.Mean*float64(n.Count)) / float64(out.Count)
		out.Min, out.Max = min(e.Min, n.Min), max(e.Max, n.Max)
		return out
	}
	return n
}

func historyKey(e histEntry) []byte {
	k := make([]byte, 8, 8+len(e.Sensor)+1+len(e.Quantity)+1+len(e.Unit))
	binary.BigEndian.PutUint64(k, uint64(e.Minute.Unix()))
	k = append(k, e.Sensor...)
	k = append(k, 0)
	k = append(k, e.Quantity...)
	k = append(k, 0)
	return append(k, e.Unit...)
}

// encodeHistory is an entry's value: its key says which minute of which
// series; the value holds flags (1: partial), the count and mean, min and
// max as float64 bits.
func encodeHistory(e histEntry) []byte {
	v := make([]byte, 1, 1+binary.MaxVarintLen64+24)
	if e.Partial {
		v[0] = 1
	}
	v = binary.AppendUvarint(v, uint64(e.Count))
	for _, f := range []float64{e.Mean, e.Min, e.Max} {
		v = binary.BigEndian.AppendUint64(v, math.Float64bits(f))
	}
	return v
}

// decodeHistory is the inverse of historyKey and encodeHistory.
func decodeHistory(k, v []byte) (histEntry, error) {
	var e histEntry
	parts := bytes.SplitN(k[min(8, len(k)):], []byte{0}, 3)
	if len(k) < 8 || len(parts) != 3 || len(v) < 1 {
		return e, errors.New("malformed entry")
	}
	e.Minute, e.Sensor, e.Quantity, e.Unit = keyTime(k), string(parts[0]), string(parts[1]), string(parts[2])
	e.Partial = v[0]&1 != 0
	count, n := binary.Uvarint(v[1:])
	rest := v[1+max(n, 0):]
	if n <= 0 || count > math.MaxInt32 || len(rest) != 24 {
		return e, errors.New("malformed entry")
	}
	e.Count = int(count)
	e.Mean = math.Float64frombits(binary.BigEndian.Uint64(rest[0:]))
	e.Min = math.Float64frombits(binary.BigEndian.Uint64(rest[8:]))
	e.Max = math.Float64frombits(binary.BigEndian.Uint64(rest[16:]))
	return e, nil
}

func keyTime(k []byte) time.Time {
	if len(k) < 8 {
		return time.Time{}
	}
	return time.Unix(int64(binary.BigEndian.Uint64(k)), 0).UTC()
}

// historyStore writes the history to its bbolt file from one goroutine,
// one transaction for whatever arrived since the last, so the outbox and
// the aggregator never wait for it.
type historyStore struct {
	path string
	log  *slog.Logger
	now  func() time.Time
	db   *bolt.DB // nil: memory only
	n    int      // entries in the file
	in   chan histEntry
}

// openHistory opens the history file and returns what it holds of the
// last 24 hours, oldest first. It never fails: a missing file starts
// empty, an unreadable one is moved aside (HistoryFile.corrupt, replacing
// an older one) and a new one started, and if even that fails the
// history is kept in memory only. Each case is logged.
func openHistory(path string, now func() time.Time, log *slog.Logger) (*historyStore, []histEntry) {
	h := &historyStore{path: path, log: log, now: now, in: make(chan histEntry, 1024)}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		log.Info("sensor history starts empty: no history file yet", "file", path)
	}
	entries, err := h.open()
	if err == nil {
		return h, entries
	}
	if errors.Is(err, berrors.ErrTimeout) {
		log.Warn("sensor history file in use; keeping the history in memory only", "file", path, "err", err)
		return h, nil
	}
	aside := path + ".corrupt"
	if rerr := os.Rename(path, aside); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		log.Warn("sensor history unreadable and not movable; keeping the history in memory only", "file", path, "err", err, "rename_err", rerr)
		return h, nil
	}
	log.Warn("sensor history unreadable; moved aside, starting empty", "file", path, "moved_to", aside, "err", err)
	if _, err := h.open(); err != nil {
		log.Warn("sensor history not writable; keeping the history in memory only", "file", path, "err", err)
		return h, nil
	}
	return h, nil
}

// open opens the file and reads it. A damaged file can make bbolt panic
// or fault on its memory map (a truncated file); both come back as errors.
func (h *historyStore) open() (entries []histEntry, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	var db *bolt.DB
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("agent: history: damaged file: %v", r)
		}
		if err != nil && db != nil {
			_ = db.Close()
		}
	}()
	if err := boltfile.CheckComplete(h.path); err != nil {
		return nil, fmt.Errorf("agent: history: %w", err)
	}
	// The freelist is synced so that opening reads it here rather than
	// rebuilding it on another goroutine, where a fault could not be caught.
	db, err = bolt.Open(h.path, 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, fmt.Errorf("agent: history: %w", err)
	}
	cut := h.now().Add(-historyWindow)
	// Reading every entry here, where a fault becomes a panic, touches
	// every page the writes will use: a truncated file shows now.
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(historyBucket)
		if err != nil {
			return err
		}
		var stale [][]byte
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			e, derr := decodeHistory(k, v)
			if derr != nil || keyTime(k).Before(cut) || !bytes.Equal(historyKey(e), k) {
				stale = append(stale, k)
				continue
			}
			entries = append(entries, e)
		}
		for _, k := range stale {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("agent: history: %w", err)
	}
	if extra := len(entries) - maxHistoryEntries; extra > 0 {
		entries = entries[extra:] // the file is trimmed at the first write
	}
	h.db, h.n = db, len(entries)
	return entries, nil
}

// put queues e for the file. It never blocks: a writer that falls behind
// (a disk stalling for minutes) loses history entries, never a reading.
func (h *historyStore) put(e histEntry) {
	select {
	case h.in <- e:
	default:
		h.log.Warn("sensor history entry not written: writer behind", "sensor", e.Sensor, "quantity", e.Quantity)
	}
}

// run writes queued entries until the queue is closed (after the
// aggregator's last, partial minutes), then closes the file.
func (h *historyStore) run() error {
	defer h.close()
	for e := range h.in {
		batch := []histEntry{e}
	more:
		for len(batch) < cap(h.in) {
			select {
			case e, ok := <-h.in:
				if !ok {
					break more
				}
				batch = append(batch, e)
			default:
				break more
			}
		}
		if h.db == nil {
			continue
		}
		if err := h.write(batch); err != nil {
			h.log.Warn("sensor history not written; keeping it in memory only from now", "err", err)
			h.close()
		}
	}
	return nil
}

// write stores batch, drops what is older than 24 hours and the oldest
// beyond maxHistoryEntries, in one transaction.
func (h *historyStore) write(batch []histEntry) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("agent: history: damaged file: %v", r)
		}
	}()
	n := h.n
	err = h.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(historyBucket)
		for _, e := range batch {
			k, v := historyKey(e), encodeHistory(e)
			if b.Get(k) == nil {
				n++
			}
			if err := b.Put(k, v); err != nil {
				return err
			}
		}
		cut := h.now().Add(-historyWindow)
		var old [][]byte
		c := b.Cursor()
		for k, _ := c.First(); k != nil && (keyTime(k).Before(cut) || n-len(old) > maxHistoryEntries); k, _ = c.Next() {
			old = append(old, bytes.Clone(k))
		}
		for _, k := range old {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n -= len(old)
		return nil
	})
	if err != nil {
		return fmt.Errorf("agent: history: %w", err)
	}
	h.n = n
	return nil
}

func (h *historyStore) close() {
	if h.db != nil {
		if err := h.db.Close(); err != nil {
			h.log.Warn("sensor history close", "err", err)
		}
		h.db = nil
	}
}
