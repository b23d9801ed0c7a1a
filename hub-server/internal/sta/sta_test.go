package sta_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/netlimit"
	"github.com/quartierhub/quartierhub/hub-server/internal/sta"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/teststores"
)

func TestMain(m *testing.M) { teststores.Main(m) }

// The seeded hub: three terminals that sent two hours of minutes (10:00
// to 12:00 UTC) through the terminal API's ingest, as kiosk/aggregate
// writes them. Two have a site (published), one has none (invisible).
// The clock stands at 12:30, so the indoor terminal's hourly CO2 shows
// the hours 10:00 and 11:00.
var (
	day0    = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	minutes = 120
	clock   = day0.Add(150 * time.Minute)
)

// terminal is one seeded terminal.
type terminal struct {
	name, quarter string
	site          *store.Site // nil: not published
	num           int64       // Thing @iot.id, filled by seed
	datastreams   []store.Datastream
}

// quantities are what each seeded terminal measures: sensor, model,
// quantity, unit, samples per minute.
var seededQuantities = []struct {
	sensor, model, quantity, unit string
	expected                      int
}{
	{"pm", "sds011", "pm25", "ug/m3", 60},
	{"pm", "sds011", "pm10", "ug/m3", 60},
	{"co2", "mhz19", "co2", "ppm", 12},
}

// value is the seeded mean of quantity at minute i (pm10 above pm25, so
// no minute is flagged pm25_above_pm10).
func value(quantity string, i int) float64 {
	switch quantity {
	case "pm25":
		return 5 + float64(i%7)
	case "pm10":
		return 9 + float64(i%7)
	}
	return 420 + float64(i%11)
}

// incompleteMinute is the minute of each terminal's pm25 that holds half
// the expected samples (flag incomplete).
const incompleteMinute = 17

type fixture struct {
	st        store.Store
	terminals []*terminal
	srv       *httptest.Server
	base      string // the service root's URL
}

func seed(t testing.TB, st store.Store) []*terminal {
	t.Helper()
	ctx := context.Background()
	terms := []*terminal{
		{name: "Pohlandplatz", quarter: "Striesen", site: &store.Site{Latitude: 51.0457, Longitude: 13.7904, Place: "Pohlandplatz, Haltestelle"}},
		{name: "Stadtteilbibliothek", quarter: "Johannstadt", site: &store.Site{Latitude: 51.0527, Longitude: 13.7600, Place: "Bibliothek, Foyer", Indoor: true}},
		{name: "Werkstatt", quarter: "Pieschen"},
	}
	for i, term := range terms {
		tok := sha256.Sum256([]byte("tok-" + term.name))
		if err := st.CreateEnrolToken(ctx, store.EnrolToken{Hash: tok, TerminalName: term.name, Quarter: term.quarter,
			CreatedAt: day0.Add(-time.Hour), ExpiresAt: day0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		seedKey := make([]byte, ed25519.SeedSize)
		seedKey[0] = byte(i + 1)
		got, err := st.Enroll(ctx, store.Enrolment{TokenHash: tok, TerminalID: "T-" + term.name,
			PublicKey: ed25519.NewKeyFromSeed(seedKey).Public().(ed25519.PublicKey), SoftwareVersion: "1.0.0", Now: day0.Add(-time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		if term.site != nil {
			term.site.TerminalID = got.ID
			if _, err := st.PutSite(ctx, *term.site, store.Audit{At: day0.Add(-time.Minute), Actor: "test", Action: "terminal.site", Subject: got.ID}); err != nil {
				t.Fatal(err)
			}
		}
		var recs []api.Record
		n := 0
		for m := 0; m < minutes; m++ {
			minute := day0.Add(time.Duration(m) * time.Minute)
			for _, q := range seededQuantities {
				v := value(q.quantity, m)
				count := q.expected
				if q.quantity == "pm25" && m == incompleteMinute {
					count = q.expected / 2
				}
				p, err := json.Marshal(map[string]any{"sensor": q.sensor, "model": q.model, "quantity": q.quantity, "unit": q.unit,
					"minute": minute.Format(time.RFC3339), "count": count, "mean": v, "min": v - 1, "max": v + 1, "expected": q.expected})
				if err != nil {
					t.Fatal(err)
				}
				n++
				recs = append(recs, api.Record{ID: recordID(i*100000 + n), Type: "sensor_minute", Class: api.ClassSensor,
					CreatedAt: minute.Add(time.Minute), Payload: p})
			}
		}
		for len(recs) > 0 {
			batch := recs[:min(len(recs), 500)]
			recs = recs[len(batch):]
			if _, err := st.IngestBatch(ctx, got.ID, batch, day0.Add(time.Duration(minutes)*time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		ds, err := st.Datastreams(ctx, store.DatastreamFilter{TerminalID: got.ID})
		if err != nil || len(ds) != len(seededQuantities) {
			t.Fatalf("%s: datastreams %+v, %v; want one per quantity", term.name, ds, err)
		}
		term.num = ds[0].TerminalNum
		term.datastreams = ds
	}
	return terms
}

// recordID returns a valid record ID (ULID) encoding n.
func recordID(n int) string {
	const digits = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	b := []byte("01JX0000000000000000000000")
	for i := len(b) - 1; n > 0; i-- {
		b[i] = digits[n%32]
		n /= 32
	}
	return string(b)
}

// serve serves st's SensorThings API on a real HTTP server, with rate
// limits too generous to matter unless o says otherwise.
func serve(t *testing.T, st store.Store, o sta.Opts) *httptest.Server {
	t.Helper()
	if o.Now == nil {
		o.Now = func() time.Time { return clock }
	}
	if o.Rate == (netlimit.Limits{}) {
		o.Rate = netlimit.Limits{Burst: 1 << 20}
	}
	mux := http.NewServeMux()
	h := sta.New(st, o)
	mux.Handle(sta.Prefix, h)
	mux.Handle(sta.Prefix+"/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// each runs fn on a freshly seeded store of each kind, served.
func each(t *testing.T, fn func(t *testing.T, f *fixture)) {
	teststores.Each(t, func(t *testing.T, st store.Store) {
		f := &fixture{st: st, terminals: seed(t, st)}
		f.srv = serve(t, st, sta.Opts{})
		f.base = f.srv.URL + sta.Prefix
		fn(t, f)
	})
}

// published are the terminals with a site.
func (f *fixture) published() []*terminal {
	var out []*terminal
	for _, term := range f.terminals {
		if term.site != nil {
			out = append(out, term)
		}
	}
	return out
}

// expectedObservations is how many Observations the seeded hub
// publishes: every minute of every quantity of published terminals,
// except indoor CO2, published per finished hour.
func (f *fixture) expectedObservations() int {
	n := 0
	for _, term := range f.published() {
		for _, q := range seededQuantities {
			if term.site.Indoor && q.quantity == "co2" {
				n += int(clock.Truncate(time.Hour).Sub(day0) / time.Hour)
			} else {
				n += minutes
			}
		}
	}
	return n
}

// response is a decoded answer.
type response struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

// get requests u ("/Things?…" is taken below the service root).
func (f *fixture) get(t *testing.T, u string) response {
	t.Helper()
	if strings.HasPrefix(u, "/") {
		u = f.base + u
	}
	return fetch(t, http.MethodGet, u)
}

func fetch(t *testing.T, method, u string) response {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := response{status: res.StatusCode, header: res.Header, body: b}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") && len(b) > 0 {
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		if err := d.Decode(&r.json); err != nil {
			t.Fatalf("%s %s: %v in %s", method, u, err, b)
		}
	}
	return r
}

// ok fails t unless r is 200 with JSON.
func (r response) ok(t *testing.T, what string) response {
	t.Helper()
	if r.status != http.StatusOK || r.json == nil {
		t.Fatalf("%s: %d %s", what, r.status, r.body)
	}
	return r
}

// values returns the entities of a collection answer.
func (r response) values(t *testing.T) []map[string]any {
	t.Helper()
	raw, ok := r.json["value"].([]any)
	if !ok {
		t.Fatalf("no value array in %s", r.body)
	}
	out := make([]map[string]any, len(raw))
	for i, v := range raw {
		if out[i], ok = v.(map[string]any); !ok {
			t.Fatalf("value[%d] is %T", i, v)
		}
	}
	return out
}

// num returns v as an int64 (a json.Number).
func num(t *testing.T, v any) int64 {
	t.Helper()
	n, ok := v.(json.Number)
	if !ok {
		t.Fatalf("%v (%T) is no number", v, v)
	}
	i, err := n.Int64()
	if err != nil {
		t.Fatalf("%v: %v", v, err)
	}
	return i
}

func float(t *testing.T, v any) float64 {
	t.Helper()
	n, ok := v.(json.Number)
	if !ok {
		t.Fatalf("%v (%T) is no number", v, v)
	}
	x, err := n.Float64()
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// walk follows @iot.nextLink from u and returns every entity of every
// page, failing on a loop (more pages than limit).
func (f *fixture) walk(t *testing.T, u string, limit int) ([]map[string]any, int) {
	t.Helper()
	var all []map[string]any
	pages := 0
	for u != "" {
		pages++
		if pages > limit {
			t.Fatalf("more than %d pages", limit)
		}
		r := f.get(t, u).ok(t, u)
		all = append(all, r.values(t)...)
		u = ""
		if next, ok := r.json["@iot.nextLink"].(string); ok {
			if !strings.HasPrefix(next, f.base+"/") {
				t.Fatalf("nextLink %q is not below the service root %s", next, f.base)
			}
			u = next
		}
	}
	return all, pages
}

// q escapes a query value as clients do.
func q(s string) string { return url.QueryEscape(s) }

// errorOf checks an error answer: status, FROST's error object, and that
// the message says what contains.
func errorOf(t *testing.T, r response, status int, contains string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d (%s), want %d", r.status, r.body, status)
	}
	if r.json == nil || num(t, r.json["code"]) != int64(status) || r.json["type"] != "error" {
		t.Fatalf("error body %s is not {code, type: error, message}", r.body)
	}
	if msg, _ := r.json["message"].(string); !strings.Contains(msg, contains) {
		t.Fatalf("message %q does not say %q", msg, contains)
	}
}

func ids(t *testing.T, entities []map[string]any) []int64 {
	t.Helper()
	out := make([]int64, len(entities))
	for i, e := range entities {
		out[i] = num(t, e["@iot.id"])
	}
	return out
}
