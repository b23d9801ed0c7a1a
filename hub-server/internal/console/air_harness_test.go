package console

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// minuteRec is one sensor_minute as a terminal's agent submits it
// (kiosk/aggregate's Aggregate with model and expected).
type minuteRec struct {
	Sensor   string    `json:"sensor"`
	Model    string    `json:"model"`
	Quantity string    `json:"quantity"`
	Unit     string    `json:"unit"`
	Minute   time.Time `json:"minute"`
	Count    int       `json:"count"`
	Expected int       `json:"expected"`
	Mean     float64   `json:"mean"`
	Min      float64   `json:"min"`
	Max      float64   `json:"max"`
	WarmUp   int       `json:"warmup,omitempty"`
}

// sendMinutes uploads recs over the terminal API, as sensor records, in
// batches.
func (tm *terminal) sendMinutes(recs []minuteRec) {
	tm.t.Helper()
	for len(recs) > 0 {
		n := min(len(recs), 1000)
		var b api.Batch
		for _, r := range recs[:n] {
			recordSeq++
			p, _ := json.Marshal(r)
			b.Records = append(b.Records, api.Record{ID: fmt.Sprintf("01JX%010d%012d", recordSeq, recordSeq*7919), Type: "sensor_minute",
				Class: api.ClassSensor, CreatedAt: r.Minute.Add(time.Minute), Payload: p})
		}
		if st, body := tm.call(http.MethodPost, api.PathRecords, b, nil); st != 200 {
			tm.t.Fatalf("upload minutes: %d %s", st, body)
		}
		recs = recs[n:]
	}
}

// series makes a quantity's minutes from first to last (both included)
// with value f(minute index), leaving out the minutes skip names.
func series(sensor, model, quantity, unit string, expected int, first time.Time, n int, f func(int) float64, skip func(int) bool) []minuteRec {
	var out []minuteRec
	for i := range n {
		if skip != nil && skip(i) {
			continue
		}
		v := f(i)
		out = append(out, minuteRec{Sensor: sensor, Model: model, Quantity: quantity, Unit: unit, Minute: first.Add(time.Duration(i) * time.Minute),
			Count: expected, Expected: expected, Mean: v, Min: v * 0.9, Max: v * 1.1})
	}
	return out
}

// airWorld is a hub with three terminals: an outdoor one publishing
// everything per minute (a day and a half of minutes: PM2.5 with an hour
// missing, PM10, and a warm-up minute flagged), an indoor one (CO2 hourly
// by default, PM10 off) and one without a site, which is never shown.
type airWorld struct {
	h               *hub
	out, in, hidden *terminal
	outNum, inNum   int64
	hiddenNum       int64
	ds              map[string]store.Datastream // "out/pm25", "in/co2", …
	now             time.Time
}

func newAirWorld(t *testing.T, h *hub) *airWorld {
	t.Helper()
	w := &airWorld{h: h, ds: map[string]store.Datastream{}}
	w.out = h.enrolTerminal("jst-library-1", "Johannstadt")
	w.in = h.enrolTerminal("fst-school-1", "Friedrichstadt")
	w.hidden = h.enrolTerminal("prohlis-center-1", "Prohlis")
	w.now = h.clock.Now()
	start := w.now.Truncate(time.Minute).Add(-36 * time.Hour)
	n := 36 * 60
	pm := func(i int) float64 { return 14 + 9*math.Sin(float64(i)/150) + 1.5*math.Sin(float64(i)/11) }
	out := series("pm-1", "sds011", "pm25", "ug/m3", 60, start, n, pm, func(i int) bool { return i >= n-300 && i < n-240 })
	out = append(out, series("pm-1", "sds011", "pm10", "ug/m3", 60, start, n, func(i int) float64 { return pm(i)*1.6 + 3 }, nil)...)
	out[n-10].WarmUp = 5 // a flagged minute in the last hour of PM2.5
	w.out.sendMinutes(out)
	w.in.sendMinutes(series("co2-1", "mhz19", "co2", "ppm", 12, start, n, func(i int) float64 { return 600 + float64(i%240)*4 }, nil))
	w.in.sendMinutes(series("pm-1", "sds011", "pm10", "ug/m3", 60, start, n, func(i int) float64 { return 20 }, nil))
	w.hidden.sendMinutes(series("pm-1", "sds011", "pm25", "ug/m3", 60, start, 120, func(i int) float64 { return 5 }, nil))
	ctx := context.Background()
	put := func(tm *terminal, s store.Site) {
		s.TerminalID = tm.id
		if _, err := h.st.PutSite(ctx, s, store.Audit{At: w.now, Actor: "admin", Action: "site.set", Subject: "terminal:" + tm.name}); err != nil {
			t.Fatal(err)
		}
	}
	put(w.out, store.Site{Latitude: 51.0466, Longitude: 13.7665, Place: "Bönischplatz, an der Bibliothek"})
	put(w.in, store.Site{Latitude: 51.0573, Longitude: 13.7137, Place: "Schule an der Weißeritz", Indoor: true,
		Publish: map[string]string{"pm10": store.ResolutionOff}})
	all, err := h.st.Datastreams(ctx, store.DatastreamFilter{})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{w.out.id: "out", w.in.id: "in", w.hidden.id: "hidden"}
	for _, d := range all {
		w.ds[names[d.TerminalID]+"/"+d.Quantity] = d
		switch names[d.TerminalID] {
		case "out":
			w.outNum = d.TerminalNum
		case "in":
			w.inNum = d.TerminalNum
		case "hidden":
			w.hiddenNum = d.TerminalNum
		}
	}
	if len(w.ds) != 5 {
		t.Fatalf("datastreams after upload: %v (is sensor_minute ingest in the store?)", w.ds)
	}
	return w
}
