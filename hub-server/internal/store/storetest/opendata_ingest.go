package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/internal/air"
)

// minuteRec is a sensor_minute as a terminal sends it (kiosk/aggregate's
// JSON names, written out here: the test must not trust the store's own
// decoder).
type minuteRec struct {
	sensor, model, quantity, unit string
	at                            time.Time
	mean, lo, hi                  float64
	count, expected, warmup       int
	invalid                       int
	partial                       bool
}

func pm(q string, at time.Time, mean float64) minuteRec {
	return minuteRec{sensor: "sds011-0", model: "sds011", quantity: q, unit: "ug/m3", at: at, mean: mean, lo: mean - 1, hi: mean + 1, count: 60, expected: 60}
}

func co2(at time.Time, mean float64) minuteRec {
	return minuteRec{sensor: "mhz19-0", model: "mhz19", quantity: "co2", unit: "ppm", at: at, mean: mean, lo: mean - 5, hi: mean + 5, count: 12, expected: 12}
}

func humid(at time.Time, mean float64) minuteRec {
	return minuteRec{sensor: "bme280-0", model: "bme280", quantity: "humidity", unit: "%", at: at, mean: mean, lo: mean, hi: mean + 1, count: 12, expected: 12}
}

func (m minuteRec) payload() json.RawMessage {
	v := map[string]any{"sensor": m.sensor, "quantity": m.quantity, "unit": m.unit, "minute": m.at.UTC().Format(time.RFC3339),
		"count": m.count, "mean": m.mean, "min": m.lo, "max": m.hi}
	if m.model != "" {
		v["model"] = m.model
	}
	if m.expected != 0 {
		v["expected"] = m.expected
	}
	if m.warmup != 0 {
		v["warmup"] = m.warmup
	}
	if m.invalid != 0 {
		v["invalid"] = m.invalid
	}
	if m.partial {
		v["partial"] = true
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// recIDs numbers the records of the open data tests apart from others.
var recIDs atomic.Int64

func minuteRecords(ms ...minuteRec) []api.Record {
	recs := make([]api.Record, len(ms))
	for i, m := range ms {
		recs[i] = api.Record{ID: ulid(int(100000 + recIDs.Add(1))), Type: "sensor_minute", Class: api.ClassSensor, CreatedAt: m.at.Add(time.Minute), Payload: m.payload()}
	}
	return recs
}

// ingestMinutes uploads ms as one batch that arrives after its last
// minute ended (as a terminal's would), and not before t0+1h.
func ingestMinutes(t *testing.T, s store.Store, id string, ms ...minuteRec) {
	t.Helper()
	arrival := t0.Add(time.Hour)
	for _, m := range ms {
		if end := m.at.Add(time.Minute + 5*time.Second); end.After(arrival) {
			arrival = end
		}
	}
	ack, err := s.IngestBatch(context.Background(), id, minuteRecords(ms...), arrival)
	if err != nil {
		t.Fatalf("IngestBatch: %v", err)
	}
	if ack.Stored != len(ms) {
		t.Fatalf("ingest of %d minutes: %+v", len(ms), ack)
	}
}

func datastream(t *testing.T, s store.Store, terminalID, sensor, quantity string) store.Datastream {
	t.Helper()
	ds, err := s.Datastreams(context.Background(), store.DatastreamFilter{TerminalID: terminalID})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.Sensor == sensor && d.Quantity == quantity {
			return d
		}
	}
	t.Fatalf("no datastream %s/%s of %s in %+v", sensor, quantity, terminalID, ds)
	return store.Datastream{}
}

func window(t *testing.T, s store.Store, id int64, from, to time.Time, res string) []store.Observation {
	t.Helper()
	obs, err := s.ObservationWindow(context.Background(), id, from, to, res)
	if err != nil {
		t.Fatal(err)
	}
	return obs
}

// flagsAt returns the flags of a datastream's minute (and fails if it is
// not stored).
func flagsAt(t *testing.T, s store.Store, id int64, at time.Time) air.Flags {
	t.Helper()
	obs := window(t, s, id, at, at.Add(time.Minute), store.ResolutionMinute)
	if len(obs) != 1 {
		t.Fatalf("datastream %d at %s: %d observations, want 1", id, at, len(obs))
	}
	return obs[0].Flags
}

func hourFlags(t *testing.T, s store.Store, id int64, hour time.Time) air.Flags {
	t.Helper()
	obs := window(t, s, id, hour, hour.Add(time.Hour), store.ResolutionHour)
	if len(obs) != 1 {
		t.Fatalf("datastream %d hour %s: %d hourly rows, want 1", id, hour, len(obs))
	}
	return obs[0].Flags
}

func testObservationIngest(t *testing.T, s store.Store) {
	term := enrol(t, s, "obs", 1)
	mustPutSite(t, s, store.Site{TerminalID: term.ID, Latitude: 51.05, Longitude: 13.74})
	m0, m1, m2 := t0, t0.Add(time.Minute), t0.Add(2*time.Minute)
	warm := pm("pm25", m1, 12)
	warm.warmup = 30
	thin := pm("pm25", m2, 14) // 40 of 60 samples: incomplete
	thin.count = 40
	low := co2(m1, 300) // below the plausible floor
	noExp := co2(m2, 500)
	noExp.expected, noExp.model = 0, "" // an agent before model and expected
	noExp.count = 8                     // 8 of the model's 12: incomplete
	batch := []minuteRec{pm("pm25", m0, 10), pm("pm10", m0, 20), co2(m0, 420), warm, pm("pm10", m1, 22), low, thin, pm("pm10", m2, 24), noExp}
	recs := minuteRecords(batch...)
	if ack := ingest(t, s, term.ID, recs); ack.Stored != len(recs) {
		t.Fatalf("ack = %+v", ack)
	}
	pm25, pm10, c := datastream(t, s, term.ID, "sds011-0", "pm25"), datastream(t, s, term.ID, "sds011-0", "pm10"), datastream(t, s, term.ID, "mhz19-0", "co2")
	if pm25.Model != "sds011" || pm25.Unit != "ug/m3" || c.Model != "mhz19" || c.Unit != "ppm" || pm25.Resolution != store.ResolutionMinute || c.Resolution != store.ResolutionMinute {
		t.Errorf("datastreams = %+v, %+v", pm25, c)
	}
	if !pm25.First.Equal(m0) || !pm25.Last.Equal(m2) || pm25.TerminalNum == 0 || pm25.ID == pm10.ID || pm25.ID == c.ID {
		t.Errorf("pm25 datastream = %+v, want first %s, last %s, its own ID", pm25, m0, m2)
	}
	got := window(t, s, pm25.ID, m0, m2.Add(time.Minute), store.ResolutionMinute)
	if len(got) != 3 {
		t.Fatalf("pm25 window = %+v, want 3 minutes", got)
	}
	if o := got[0]; !o.Minute.Equal(m0) || o.Mean != 10 || o.Min != 9 || o.Max != 11 || o.Count != 60 || o.Expected != 60 || o.Flags != 0 {
		t.Errorf("pm25 %s = %+v, want 10 (9…11), 60 of 60, no flags", m0, o)
	}
	if o := got[1]; o.WarmUp != 30 || o.Flags != air.WarmUp {
		t.Errorf("pm25 %s = %+v, want warm-up 30 flagged warmup", m1, o)
	}
	if o := got[2]; o.Count != 40 || o.Flags != air.Incomplete {
		t.Errorf("pm25 %s = %+v, want 40 samples flagged incomplete", m2, o)
	}
	cw := window(t, s, c.ID, m0, m2.Add(time.Minute), store.ResolutionMinute)
	if len(cw) != 3 || cw[1].Flags != air.OutOfRange || cw[2].Expected != 12 || cw[2].Flags != air.Incomplete {
		t.Errorf("co2 window = %+v, want minute 2 out of range, minute 3 expecting the MH-Z19B's 12 and incomplete", cw)
	}
	// The hour: the mean of the minutes' means, the extremes, the sums and
	// every flag of its minutes.
	h := window(t, s, pm25.ID, t0, t0.Add(time.Hour), store.ResolutionHour)
	if len(h) != 1 || !h[0].Minute.Equal(t0) || math.Abs(h[0].Mean-12) > 1e-9 || h[0].Min != 9 || h[0].Max != 15 || h[0].Count != 160 ||
		h[0].Expected != 180 || h[0].WarmUp != 30 || h[0].Flags != air.WarmUp|air.Incomplete {
		t.Errorf("pm25 hour = %+v, want mean 12, 9…15, 160 of 180 samples, 30 warming up, warmup|incomplete", h)
	}

	// A replay changes nothing; nor does a second (partial) record of a
	// stored minute, which is kept as a record.
	if ack := ingest(t, s, term.ID, recs); ack.Duplicates != len(recs) {
		t.Errorf("replay ack = %+v", ack)
	}
	again := pm("pm25", m0, 99)
	again.partial = true
	ingestMinutes(t, s, term.ID, again)
	if o := window(t, s, pm25.ID, m0, m1, store.ResolutionMinute); len(o) != 1 || o[0].Mean != 10 {
		t.Errorf("pm25 %s after a second record = %+v, want the first (10)", m0, o)
	}
	if h2 := window(t, s, pm25.ID, t0, t0.Add(time.Hour), store.ResolutionHour); len(h2) != 1 || h2[0] != h[0] {
		t.Errorf("hour after replay = %+v, want unchanged %+v", h2, h)
	}
	// A minute in a later hour is that hour's.
	ingestMinutes(t, s, term.ID, pm("pm25", t0.Add(75*time.Minute), 40))
	h3 := window(t, s, pm25.ID, t0, t0.Add(3*time.Hour), store.ResolutionHour)
	if len(h3) != 2 || !h3[1].Minute.Equal(t0.Add(time.Hour)) || h3[1].Mean != 40 || h3[1].Count != 60 || h3[0] != h[0] {
		t.Errorf("hours = %+v, want the first unchanged and 11:00 with 40", h3)
	}
	if d := datastream(t, s, term.ID, "sds011-0", "pm25"); !d.Last.Equal(t0.Add(75*time.Minute)) || !d.First.Equal(m0) {
		t.Errorf("pm25 bounds = %s…%s", d.First, d.Last)
	}
	// Every record is kept as it came.
	if n := len(exportAll(t, s, store.ExportFilter{Type: "sensor_minute"})); n != len(recs)+2 {
		t.Errorf("exported %d sensor_minute records, want %d", n, len(recs)+2)
	}
}

func testObservationNotMinutes(t *testing.T, s store.Store) {
	term := enrol(t, s, "notmin", 1)
	good := pm("pm25", t0, 10)
	zero := pm("pm25", t0, 10)
	zero.count = 0
	unknown := pm("pm1", t0, 10)
	nosensor := pm("pm10", t0, 10)
	nosensor.sensor = ""
	ancient := pm("pm10", time.Date(1999, 12, 31, 23, 0, 0, 0, time.UTC), 10)
	// ingest's batches arrive at t0+1h: a minute starting more than
	// store.MaxClockAhead after that comes from a clock running ahead.
	future := pm("pm10", t0.Add(time.Hour+store.MaxClockAhead+time.Minute), 10)
	var recs []api.Record
	for _, p := range []string{`not json`, `{"sensor":"s","quantity":"pm25","minute":"2025-06-01T10:00:00Z","count":1,"mean":1e999,"min":0,"max":1}`,
		`{"sensor":"s","quantity":"pm25","minute":"yesterday","count":1,"mean":1,"min":1,"max":1}`, `[]`, `{}`} {
		recs = append(recs, api.Record{ID: ulid(int(100000 + recIDs.Add(1))), Type: "sensor_minute", Class: api.ClassSensor, CreatedAt: t0, Payload: json.RawMessage(p)})
	}
	recs = append(recs, minuteRecords(zero, unknown, nosensor, ancient, future)...)
	other := minuteRecords(good)[0]
	other.Type = "sensor.sds011" // not a sensor_minute: not read
	recs = append(recs, other)
	if ack := ingest(t, s, term.ID, recs); ack.Stored != len(recs) {
		t.Fatalf("ack = %+v, want every record stored", ack)
	}
	ds, err := s.Datastreams(context.Background(), store.DatastreamFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 0 {
		t.Errorf("datastreams = %+v, want none", ds)
	}
	if n := len(exportAll(t, s, store.ExportFilter{})); n != len(recs) {
		t.Errorf("exported %d records, want %d", n, len(recs))
	}
}

func testPM25AbovePM10(t *testing.T, s store.Store) {
	term := enrol(t, s, "pmcheck", 1)
	m := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }
	// pm25 first, then pm10, in two batches; pm10 first, then pm25; both in
	// one batch; and a minute that is fine.
	ingestMinutes(t, s, term.ID, pm("pm25", m(0), 30))
	ingestMinutes(t, s, term.ID, pm("pm10", m(0), 20))
	ingestMinutes(t, s, term.ID, pm("pm10", m(1), 20))
	ingestMinutes(t, s, term.ID, pm("pm25", m(1), 30))
	ingestMinutes(t, s, term.ID, pm("pm25", m(2), 30), pm("pm10", m(2), 20))
	ingestMinutes(t, s, term.ID, pm("pm10", m(3), 20), pm("pm25", m(3), 30))
	ingestMinutes(t, s, term.ID, pm("pm25", m(4), 10), pm("pm10", m(4), 20))
	// Another sensor's PM10 is no partner.
	other := pm("pm10", m(5), 5)
	other.sensor = "sds011-1"
	ingestMinutes(t, s, term.ID, pm("pm25", m(5), 10), other)
	pm25, pm10 := datastream(t, s, term.ID, "sds011-0", "pm25"), datastream(t, s, term.ID, "sds011-0", "pm10")
	for i := range 4 {
		if f := flagsAt(t, s, pm25.ID, m(i)); f != air.PM25AbovePM10 {
			t.Errorf("pm25 minute %d flags = %v, want pm25_above_pm10", i, f)
		}
		if f := flagsAt(t, s, pm10.ID, m(i)); f != air.PM25AbovePM10 {
			t.Errorf("pm10 minute %d flags = %v, want pm25_above_pm10", i, f)
		}
	}
	if f := flagsAt(t, s, pm25.ID, m(4)) | flagsAt(t, s, pm10.ID, m(4)) | flagsAt(t, s, pm25.ID, m(5)); f != 0 {
		t.Errorf("fine minutes flagged %v", f)
	}
	if f := hourFlags(t, s, pm10.ID, t0); f != air.PM25AbovePM10 {
		t.Errorf("pm10 hour flags = %v, want pm25_above_pm10", f)
	}
	// A new terminal's first batch makes both datastreams and still
	// compares them, in either order.
	for i, order := range [][]minuteRec{{pm("pm25", t0, 30), pm("pm10", t0, 20)}, {pm("pm10", t0, 20), pm("pm25", t0, 30)}} {
		id := enrol(t, s, fmt.Sprintf("pmfirst-%d", i), byte(10+i)).ID
		ingestMinutes(t, s, id, order...)
		for _, q := range []string{"pm25", "pm10"} {
			if f := flagsAt(t, s, datastream(t, s, id, "sds011-0", q).ID, t0); f != air.PM25AbovePM10 {
				t.Errorf("first batch %d: %s flags = %v, want pm25_above_pm10", i, q, f)
			}
		}
	}
}

func testFlatLine(t *testing.T, s store.Store) {
	term := enrol(t, s, "flat", 1)
	flat := func(i int, v float64) minuteRec {
		r := co2(t0.Add(time.Duration(i)*time.Minute), v)
		r.lo, r.hi = v, v
		return r
	}
	var ms []minuteRec
	for i := range air.FlatLineMinutes + 2 {
		ms = append(ms, flat(i, 600))
	}
	// Two batches: the second's first minute continues the first's run.
	ingestMinutes(t, s, term.ID, ms[:7]...)
	ingestMinutes(t, s, term.ID, ms[7:]...)
	c := datastream(t, s, term.ID, "mhz19-0", "co2")
	obs := window(t, s, c.ID, t0, t0.Add(time.Hour), store.ResolutionMinute)
	for i, o := range obs {
		want := air.Flags(0)
		if i+1 >= air.FlatLineMinutes {
			want = air.FlatLine
		}
		if o.Flags != want {
			t.Errorf("flat minute %d flags = %v, want %v", i, o.Flags, want)
		}
	}
	// A flat minute of another value, or a minute that varies, starts over.
	n := len(ms)
	ingestMinutes(t, s, term.ID, flat(n, 601), co2(t0.Add(time.Duration(n+1)*time.Minute), 600), flat(n+2, 600))
	for i := n; i < n+3; i++ {
		if f := flagsAt(t, s, c.ID, t0.Add(time.Duration(i)*time.Minute)); f != 0 {
			t.Errorf("minute %d after the run flags = %v, want none", i, f)
		}
	}
	// A gap of a minute ends a run too.
	var late []minuteRec
	for i := range air.FlatLineMinutes {
		late = append(late, flat(100+2*i, 700))
	}
	ingestMinutes(t, s, term.ID, late...)
	if f := hourFlags(t, s, c.ID, t0.Add(2*time.Hour)) | hourFlags(t, s, c.ID, t0.Add(time.Hour)); f&air.FlatLine != 0 {
		t.Errorf("minutes with gaps flagged flat: %v", f)
	}
	if f := hourFlags(t, s, c.ID, t0); f != air.FlatLine {
		t.Errorf("hour of the run flags = %v, want flat_line", f)
	}
}

func testHighHumidity(t *testing.T, s store.Store) {
	term := enrol(t, s, "humid", 1)
	mustPutSite(t, s, store.Site{TerminalID: term.ID, Latitude: 51, Longitude: 13})
	m := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }
	// Humidity first, then PM; PM first, then humidity; dry air.
	ingestMinutes(t, s, term.ID, humid(m(0), 85))
	ingestMinutes(t, s, term.ID, pm("pm25", m(0), 10), pm("pm10", m(0), 20), co2(m(0), 500))
	ingestMinutes(t, s, term.ID, pm("pm25", m(1), 10), pm("pm10", m(1), 20))
	ingestMinutes(t, s, term.ID, humid(m(1), 71))
	ingestMinutes(t, s, term.ID, humid(m(2), 70), pm("pm25", m(2), 10))
	pm25, pm10 := datastream(t, s, term.ID, "sds011-0", "pm25"), datastream(t, s, term.ID, "sds011-0", "pm10")
	for i := range 2 {
		if f := flagsAt(t, s, pm25.ID, m(i)); f != air.HighHumidity {
			t.Errorf("pm25 minute %d flags = %v, want high_humidity", i, f)
		}
		if f := flagsAt(t, s, pm10.ID, m(i)); f != air.HighHumidity {
			t.Errorf("pm10 minute %d flags = %v, want high_humidity", i, f)
		}
	}
	if f := flagsAt(t, s, pm25.ID, m(2)); f != 0 {
		t.Errorf("pm25 at 70 %% flags = %v, want none", f)
	}
	if f := flagsAt(t, s, datastream(t, s, term.ID, "mhz19-0", "co2").ID, m(0)); f != 0 {
		t.Errorf("co2 in humid air flags = %v, want none (optical PM only)", f)
	}
	if f := hourFlags(t, s, pm10.ID, t0); f != air.HighHumidity {
		t.Errorf("pm10 hour flags = %v, want high_humidity", f)
	}
	// Humidity is stored, never published.
	h := datastream(t, s, term.ID, "bme280-0", "humidity")
	if h.Resolution != store.ResolutionOff || h.Model != "bme280" {
		t.Errorf("humidity datastream = %+v, want resolution off", h)
	}
	pub, err := s.Datastreams(context.Background(), store.DatastreamFilter{Published: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range pub {
		if d.Quantity == air.Humidity {
			t.Errorf("humidity published: %+v", d)
		}
	}
	if len(pub) != 3 {
		t.Errorf("published = %+v, want pm25, pm10, co2", pub)
	}
}

func resolutions(t *testing.T, s store.Store, terminalID string) map[string]string {
	t.Helper()
	ds, err := s.Datastreams(context.Background(), store.DatastreamFilter{TerminalID: terminalID})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, d := range ds {
		out[d.Quantity] = d.Resolution
	}
	return out
}

func testResolution(t *testing.T, s store.Store) {
	ctx := context.Background()
	term := enrol(t, s, "res", 1)
	enrol(t, s, "res-other", 2)
	ingestMinutes(t, s, term.ID, pm("pm25", t0, 10), pm("pm10", t0, 20), co2(t0, 500), humid(t0, 50))
	ingestMinutes(t, s, "T-res-other", co2(t0, 500))
	want := func(what string, w map[string]string) {
		t.Helper()
		if got := resolutions(t, s, term.ID); len(got) != len(w) || got["pm25"] != w["pm25"] || got["pm10"] != w["pm10"] || got["co2"] != w["co2"] || got["humidity"] != w["humidity"] {
			t.Errorf("%s: resolutions = %v, want %v", what, got, w)
		}
	}
	off := store.ResolutionOff
	want("without a site", map[string]string{"pm25": off, "pm10": off, "co2": off, "humidity": off})
	site := mustPutSite(t, s, store.Site{TerminalID: term.ID, Latitude: 51, Longitude: 13, Indoor: true})
	want("indoors", map[string]string{"pm25": "minute", "pm10": "minute", "co2": "hour", "humidity": off})
	site.Indoor, site.Publish = false, map[string]string{"pm10": off, "co2": "hour"}
	site = mustPutSite(t, s, site)
	want("outdoors with overrides", map[string]string{"pm25": "minute", "pm10": off, "co2": "hour", "humidity": off})
	if r := resolutions(t, s, "T-res-other"); r["co2"] != off {
		t.Errorf("another terminal's resolution changed: %v", r)
	}
	// A datastream made after the site takes its resolution.
	ingestMinutes(t, s, term.ID, minuteRec{sensor: "sds011-1", model: "sds011", quantity: "pm10", unit: "ug/m3", at: t0, mean: 3, lo: 2, hi: 4, count: 60, expected: 60},
		minuteRec{sensor: "sds011-1", model: "sds011", quantity: "pm25", unit: "ug/m3", at: t0, mean: 2, lo: 1, hi: 3, count: 60, expected: 60})
	if d := datastream(t, s, term.ID, "sds011-1", "pm10"); d.Resolution != off {
		t.Errorf("new pm10 datastream resolution = %s, want off", d.Resolution)
	}
	if d := datastream(t, s, term.ID, "sds011-1", "pm25"); d.Resolution != "minute" {
		t.Errorf("new pm25 datastream resolution = %s, want minute", d.Resolution)
	}
	pub, err := s.Datastreams(ctx, store.DatastreamFilter{Published: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(pub) != 3 {
		t.Errorf("published = %+v, want two pm25 and the co2", pub)
	}
	if err := s.DeleteSite(ctx, term.ID, site.Version, store.Audit{At: t0, Actor: "admin", Action: "terminal.site.delete", Subject: term.ID}); err != nil {
		t.Fatal(err)
	}
	if r := resolutions(t, s, term.ID); r["pm25"] != off || r["co2"] != off {
		t.Errorf("after DeleteSite: %v, want all off", r)
	}
	// History stays.
	if obs := window(t, s, datastream(t, s, term.ID, "sds011-0", "pm25").ID, t0, t0.Add(time.Minute), store.ResolutionMinute); len(obs) != 1 {
		t.Errorf("observations after DeleteSite = %+v, want kept", obs)
	}
	if pub, _ := s.Datastreams(ctx, store.DatastreamFilter{Published: true}); len(pub) != 0 {
		t.Errorf("published after DeleteSite = %+v", pub)
	}
}

func testPublishedObservations(t *testing.T, s store.Store) {
	ctx := context.Background()
	term := enrol(t, s, "pub", 1)
	enrol(t, s, "pub-nosite", 2)
	mustPutSite(t, s, store.Site{TerminalID: term.ID, Latitude: 51, Longitude: 13, Indoor: true, Publish: map[string]string{"pm10": store.ResolutionOff}})
	var ms []minuteRec
	for i := 0; i < 150; i += 10 { // 10:00 … 12:20
		at := t0.Add(time.Duration(i) * time.Minute)
		ms = append(ms, pm("pm25", at, 5), pm("pm10", at, 9), co2(at, 500+float64(i)))
	}
	ingestMinutes(t, s, term.ID, ms...)
	ingestMinutes(t, s, "T-pub-nosite", pm("pm25", t0, 5))
	type seen struct {
		q  string
		at time.Time
	}
	var got []seen
	var co2Hours []store.Observation
	from, to := t0.Add(20*time.Minute), t0.Add(150*time.Minute) // 10:20 … 12:30
	err := s.PublishedObservations(ctx, from, to, func(d store.Datastream, o store.Observation) error {
		if d.TerminalID != term.ID || o.DatastreamID != d.ID {
			t.Errorf("published %+v of %+v", o, d)
		}
		got = append(got, seen{d.Quantity, o.Minute})
		if d.Quantity == "co2" {
			co2Hours = append(co2Hours, o)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// pm25 per minute from 10:20, no pm10, CO2 per hour: 11:00 only (10:00
	// starts before from, 12:00 has not ended by to).
	// By datastream (terminal, sensor, quantity: mhz19-0 before sds011-0),
	// then time.
	want := []seen{{"co2", t0.Add(time.Hour)}}
	for i := 20; i < 150; i += 10 {
		want = append(want, seen{"pm25", t0.Add(time.Duration(i) * time.Minute)})
	}
	if len(got) != len(want) {
		t.Fatalf("published %v, want %v", got, want)
	}
	for i := range want {
		if got[i].q != want[i].q || !got[i].at.Equal(want[i].at) {
			t.Errorf("published[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	if len(co2Hours) == 1 && (co2Hours[0].Mean != 500+85 || co2Hours[0].Count != 6*12) {
		t.Errorf("co2 hour = %+v, want mean 585 of 72 samples", co2Hours[0])
	}
	// fn's error stops the walk and comes back as it is.
	stop := errors.New("stop")
	calls := 0
	if err := s.PublishedObservations(ctx, from, to, func(store.Datastream, store.Observation) error { calls++; return stop }); err != stop || calls != 1 {
		t.Errorf("PublishedObservations with a failing fn: err %v after %d calls", err, calls)
	}
}

func testQueryOpenData(t *testing.T, s store.Store) {
	ctx := context.Background()
	term := enrol(t, s, "query", 1)
	ingestMinutes(t, s, term.ID, pm("pm25", t0, 10), pm("pm25", t0.Add(time.Minute), 12), pm("pm25", t0.Add(2*time.Minute), 14))
	d := datastream(t, s, term.ID, "sds011-0", "pm25")
	if dl := s.OpenDataDialect(); dl != store.DialectSQLite && dl != store.DialectPostgres {
		t.Errorf("OpenDataDialect = %q", dl)
	}
	var means []float64
	err := s.QueryOpenData(ctx, 5*time.Second, `SELECT mean FROM observations WHERE datastream_id = ? AND mean > ? ORDER BY minute`, []any{d.ID, 11.0},
		func(scan func(...any) error) error {
			var m float64
			if err := scan(&m); err != nil {
				return err
			}
			means = append(means, m)
			return nil
		})
	if err != nil || len(means) != 2 || means[0] != 12 || means[1] != 14 {
		t.Errorf("QueryOpenData = %v, %v; want [12 14]", means, err)
	}
	// Read-only.
	if err := s.QueryOpenData(ctx, 5*time.Second, `DELETE FROM observations WHERE datastream_id = ?`, []any{d.ID}, func(func(...any) error) error { return nil }); err == nil {
		t.Error("QueryOpenData ran a DELETE")
	}
	if n := len(window(t, s, d.ID, t0, t0.Add(time.Hour), store.ResolutionMinute)); n != 3 {
		t.Errorf("after the refused DELETE: %d observations, want 3", n)
	}
	// A statement that would run for minutes ends at the timeout.
	start := time.Now()
	slow := `WITH RECURSIVE c(x) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT x + 1 FROM c WHERE x < ?) SELECT COUNT(*) FROM c`
	err = s.QueryOpenData(ctx, 200*time.Millisecond, slow, []any{int64(1) << 40}, func(func(...any) error) error { return nil })
	if took := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || took > 5*time.Second {
		t.Errorf("slow query: err %v after %s, want context.DeadlineExceeded soon after 200ms", err, took)
	}
	// fn's error comes back as it is.
	stop := errors.New("stop")
	if err := s.QueryOpenData(ctx, time.Second, `SELECT 1`, nil, func(func(...any) error) error { return stop }); err != stop {
		t.Errorf("fn's error came back as %v", err)
	}
	// A bad statement is an error, not a panic.
	if err := s.QueryOpenData(ctx, time.Second, `SELECT nope FROM nowhere`, nil, func(func(...any) error) error { return nil }); err == nil || !strings.Contains(err.Error(), "open data") {
		t.Errorf("bad statement: err = %v", err)
	}
}

// RunOpenDataClock checks that PublishedObservations leaves out the hours
// that have not ended by the store's clock; open returns a new, empty
// store reading the time from now.
func RunOpenDataClock(t *testing.T, open func(t *testing.T, now func() time.Time) store.Store) {
	now := t0.Add(150 * time.Minute) // 12:30
	s := open(t, func() time.Time { return now })
	term := enrol(t, s, "clock", 1)
	mustPutSite(t, s, store.Site{TerminalID: term.ID, Latitude: 51, Longitude: 13, Indoor: true})
	var ms []minuteRec
	for i := 0; i < 150; i += 15 { // 10:00 … 12:15
		ms = append(ms, co2(t0.Add(time.Duration(i)*time.Minute), 500), pm("pm25", t0.Add(time.Duration(i)*time.Minute), 5))
	}
	ingestMinutes(t, s, term.ID, ms...)
	hours := func(to time.Time) []time.Time {
		var out []time.Time
		err := s.PublishedObservations(context.Background(), t0, to, func(d store.Datastream, o store.Observation) error {
			if d.Quantity == "co2" {
				out = append(out, o.Minute)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// Asked up to a day later, the clock (12:30) still ends the list at
	// 12:00: that hour is not over.
	if got := hours(t0.Add(24 * time.Hour)); len(got) != 2 || !got[0].Equal(t0) || !got[1].Equal(t0.Add(time.Hour)) {
		t.Errorf("hours published at 12:30 = %v, want 10:00 and 11:00", got)
	}
	now = t0.Add(3 * time.Hour) // 13:00: 12:00 has ended
	if got := hours(t0.Add(24 * time.Hour)); len(got) != 3 {
		t.Errorf("hours published at 13:00 = %v, want 10:00, 11:00, 12:00", got)
	}
	// The audit of an edit without a time takes the clock's.
	site, err := s.Site(context.Background(), term.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.PutSite(context.Background(), site, store.Audit{Actor: "admin", Action: "terminal.site", Subject: term.ID})
	if err != nil {
		t.Fatal(err)
	}
	if !got.UpdatedAt.Equal(now) {
		t.Errorf("UpdatedAt = %v, want the clock's %v", got.UpdatedAt, now)
	}
}

// RunObservationFailure checks that a batch whose observations cannot be
// stored still stores its records, and that a datastream made by the
// failed attempt is not remembered. breakObservations makes every INSERT
// into observations fail; mend undoes it.
func RunObservationFailure(t *testing.T, s store.Store, breakObservations, mend func()) {
	term := enrol(t, s, "broken", 1)
	breakObservations()
	recs := minuteRecords(pm("pm25", t0, 10), pm("pm10", t0, 12))
	if ack := ingest(t, s, term.ID, recs); ack.Stored != 2 {
		t.Fatalf("ack with observations failing = %+v, want both records stored", ack)
	}
	if n := len(exportAll(t, s, store.ExportFilter{Type: "sensor_minute"})); n != 2 {
		t.Errorf("%d records stored, want 2", n)
	}
	if ds, err := s.Datastreams(context.Background(), store.DatastreamFilter{}); err != nil || len(ds) != 0 {
		t.Errorf("datastreams of the failed batch = %+v, %v; want none (rolled back)", ds, err)
	}
	mend()
	ingestMinutes(t, s, term.ID, pm("pm25", t0.Add(time.Minute), 11))
	d := datastream(t, s, term.ID, "sds011-0", "pm25")
	if obs := window(t, s, d.ID, t0, t0.Add(time.Hour), store.ResolutionMinute); len(obs) != 1 || obs[0].Mean != 11 {
		t.Errorf("observations after mending = %+v, want the new minute", obs)
	}
}
