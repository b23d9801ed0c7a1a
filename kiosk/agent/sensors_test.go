package agent

import (
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/kiosk/aggregate"
)

// The air screen's history: the latest reading per sensor quantity in
// order; a minute cut short by a restart pooled with its remainder, the
// same minute emitted twice kept once, an empty minute not kept, nothing
// older than 24 hours; and what is kept reaches the file.
func TestSensorHistory(t *testing.T) {
	now := time.Date(2026, 5, 4, 12, 0, 30, 0, time.UTC)
	clock := func() time.Time { return now }
	path := filepath.Join(t.TempDir(), HistoryFile)
	h := newSensorHistory(path, clock, slog.New(slog.DiscardHandler))
	h.load()
	done := make(chan error, 1)
	go func() { done <- h.run() }()

	for _, r := range []aggregate.Reading{
		{Sensor: "pm-1", Quantity: "pm25", Value: 9}, {Sensor: "co2-1", Quantity: "co2", Value: 700},
		{Sensor: "pm-1", Quantity: "pm10", Value: 14}, {Sensor: "pm-1", Quantity: "pm25", Value: 11},
	} {
		h.reading(r)
	}
	minute := func(at time.Time, count int, mean float64, partial bool) aggregate.Aggregate {
		return aggregate.Aggregate{Sensor: "co2-1", Quantity: "co2", Unit: "ppm", Minute: at, Count: count, Mean: mean, Min: mean, Max: mean, Partial: partial}
	}
	m0 := now.Truncate(time.Minute)
	h.minute(minute(m0.Add(-25*time.Hour), 60, 500, false)) // too old
	h.minute(minute(m0.Add(-time.Minute), 60, 600, false))
	h.minute(minute(m0.Add(-time.Minute), 60, 600, false)) // emitted again
	h.minute(minute(m0, 20, 700, true))                    // before a restart
	h.minute(minute(m0, 40, 400, false))                   // its remainder
	h.minute(minute(m0.Add(time.Minute), 0, 0, false))     // no readings

	latest, minutes := h.snapshot()
	var order []float64
	for _, r := range latest {
		order = append(order, r.Value)
	}
	if len(order) != 3 || order[0] != 700 || order[1] != 14 || order[2] != 11 {
		t.Fatalf("latest readings %v, want co2 700, pm10 14, pm25 11", order)
	}
	if len(minutes) != 2 || minutes[0].Mean != 600 || minutes[0].Count != 60 ||
		minutes[1].Count != 60 || minutes[1].Mean != 500 || minutes[1].Min != 400 || minutes[1].Max != 700 || minutes[1].Partial {
		t.Fatalf("minutes %+v", minutes)
	}

	h.close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	again := newSensorHistory(path, clock, slog.New(slog.DiscardHandler))
	again.load()
	defer func() { again.close(); _ = again.run() }()
	if _, onDisk := again.snapshot(); len(onDisk) != 2 || onDisk[1] != minutes[1] {
		t.Fatalf("from the file: %+v, want %+v", onDisk, minutes)
	}
}
