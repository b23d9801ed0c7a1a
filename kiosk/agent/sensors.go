package agent

import (
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/quartierhub/quartierhub/kiosk/aggregate"
)

// historyWindow is how much sensor history the agent keeps.
const historyWindow = 24 * time.Hour

// sensorHistory is what the window's air screen shows: the latest reading
// of each sensor quantity and the minutes of the last 24 hours, in memory
// and, through a historyStore (history.go), in DATA/sensor-history.db.
type sensorHistory struct {
	path string
	now  func() time.Time
	log  *slog.Logger

	mu      sync.Mutex
	latest  map[string]aggregate.Reading // by sensor/quantity
	minutes []histEntry                  // oldest first, at most maxHistoryEntries
	store   *historyStore                // nil before load
	closed  bool                         // the store takes nothing more
}

func newSensorHistory(path string, now func() time.Time, log *slog.Logger) *sensorHistory {
	return &sensorHistory{path: path, now: now, log: log, latest: map[string]aggregate.Reading{}}
}

// load opens the history file and takes what it holds of the last 24
// hours; it never fails (openHistory).
func (h *sensorHistory) load() {
	store, minutes := openHistory(h.path, h.now, h.log)
	h.mu.Lock()
	h.store, h.minutes, h.closed = store, minutes, false
	h.mu.Unlock()
	if len(minutes) > 0 {
		h.log.Info("sensor history loaded", "minutes", len(minutes), "oldest", minutes[0].Minute)
	}
}

// reading keeps r as its quantity's latest.
func (h *sensorHistory) reading(r aggregate.Reading) {
	h.mu.Lock()
	h.latest[r.Sensor+"/"+r.Quantity] = r
	h.mu.Unlock()
}

// minute keeps a closed minute, in memory and, through the store's
// writer, on disk. A minute without readings is not kept.
func (h *sensorHistory) minute(m aggregate.Aggregate) {
	if m.Count == 0 {
		return
	}
	e := histEntry{Sensor: m.Sensor, Quantity: m.Quantity, Unit: m.Unit, Minute: m.Minute.UTC(), Mean: m.Mean, Min: m.Min, Max: m.Max,
		Count: m.Count, Partial: m.Partial}
	h.mu.Lock()
	defer h.mu.Unlock()
	e = h.add(e)
	h.trim()
	if h.store != nil && !h.closed {
		h.store.put(e)
	}
}

// add puts e into the minutes, merged with an entry already kept for its
// minute, and returns the entry as kept. Minutes come nearly in order: an
// earlier entry for the same minute (a partial one from before a
// restart, an emit retried) is near the end.
func (h *sensorHistory) add(e histEntry) histEntry {
	for i := len(h.minutes) - 1; i >= 0 && !h.minutes[i].Minute.Before(e.Minute.Add(-time.Minute)); i-- {
		if h.minutes[i].sameSeries(e) {
			h.minutes[i] = h.minutes[i].merge(e)
			return h.minutes[i]
		}
	}
	h.minutes = append(h.minutes, e)
	return e
}

// trim drops the minutes older than 24 hours and the oldest beyond
// maxHistoryEntries.
func (h *sensorHistory) trim() {
	cut := h.now().Add(-historyWindow)
	i := 0
	for i < len(h.minutes) && (h.minutes[i].Minute.Before(cut) || len(h.minutes)-i > maxHistoryEntries) {
		i++
	}
	h.minutes = h.minutes[i:]
}

// snapshot returns the latest readings ordered by sensor and quantity,
// and the minutes oldest first.
func (h *sensorHistory) snapshot() (latest []aggregate.Reading, minutes []histEntry) {
	h.mu.Lock()
	defer h.mu.Unlock()
	minutes = append([]histEntry(nil), h.minutes...)
	for _, r := range h.latest {
		latest = append(latest, r)
	}
	sort.Slice(latest, func(i, j int) bool {
		return latest[i].Sensor+latest[i].Quantity < latest[j].Sensor+latest[j].Quantity
	})
	sort.SliceStable(minutes, func(i, j int) bool { return minutes[i].Minute.Before(minutes[j].Minute) })
	return latest, minutes
}

// run writes the history to its file until close.
func (h *sensorHistory) run() error {
	h.mu.Lock()
	store := h.store
	h.mu.Unlock()
	if store == nil {
		return nil
	}
	return store.run()
}

// close ends the writer once nothing more can arrive (the aggregator has
// emitted its last minutes).
func (h *sensorHistory) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.store != nil && !h.closed {
		h.closed = true
		close(h.store.in)
	}
}
