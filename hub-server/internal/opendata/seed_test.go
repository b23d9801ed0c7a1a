package opendata_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/teststores"
)

func TestMain(m *testing.M) { teststores.Main(m) }

// day is the seeded day; the files are asked for at now, when it has
// finished and settled and the next day has not.
var (
	day = time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)
	now = day.Add(27 * time.Hour)
)

// minute is one sensor_minute record as kiosk/aggregate's Aggregate
// sends it (with the model and expected fields).
type minute struct {
	Sensor   string    `json:"sensor"`
	Quantity string    `json:"quantity"`
	Unit     string    `json:"unit"`
	Minute   time.Time `json:"minute"`
	Count    int       `json:"count"`
	Mean     float64   `json:"mean"`
	Min      float64   `json:"min"`
	Max      float64   `json:"max"`
	WarmUp   int       `json:"warmup,omitempty"`
	Model    string    `json:"model,omitempty"`
	Expected int       `json:"expected,omitempty"`
}

// terminal is a seeded terminal: its site (nil: none) and minutes.
type terminal struct {
	name, quarter string
	site          *store.Site
	minutes       []minute
}

// want is an expected CSV row of the day, as ingested.
type want struct {
	terminal, quantity, start, end, mean, min, max, count, expected, flag, reasons string
}

func at(h, m int) time.Time {
	return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
}

func pm(kind string, t time.Time, mean, lo, hi float64, count, expected, warmup int) minute {
	return minute{Sensor: "sds011-0", Quantity: kind, Unit: "ug/m3", Minute: t, Count: count, Mean: mean, Min: lo, Max: hi,
		WarmUp: warmup, Model: "sds011", Expected: expected}
}

func co2(t time.Time, mean, lo, hi float64) minute {
	return minute{Sensor: "mhz19-0", Quantity: "co2", Unit: "ppm", Minute: t, Count: 12, Mean: mean, Min: lo, Max: hi, Model: "mhz19", Expected: 12}
}

// fleet is the seeded fleet: an outdoor terminal publishing per minute
// with one minute per quality flag the hub sets on its own, an indoor one
// whose CO2 is published per hour, and one without a site.
func fleet() ([]terminal, []want) {
	outdoor := terminal{name: "Pohlandplatz", quarter: "Striesen",
		site: &store.Site{Latitude: 51.0458, Longitude: 13.7854, Place: "Pohlandplatz, Haltestelle"},
		minutes: []minute{
			pm("pm25", at(10, 0), 5.5, 4, 7.25, 60, 60, 0), pm("pm10", at(10, 0), 9.25, 8, 11, 60, 60, 0),
			pm("pm25", at(10, 1), 6, 5, 7, 30, 60, 30), pm("pm10", at(10, 1), 10, 9, 11, 30, 60, 30),
			pm("pm25", at(10, 2), 12, 11, 13, 60, 60, 0), pm("pm10", at(10, 2), 10, 9, 11, 60, 60, 0),
			pm("pm25", at(10, 3), 7, 6, 8, 40, 60, 0), pm("pm10", at(10, 3), 11, 10, 12, 60, 60, 0),
			co2(at(10, 0), 200, 180, 220), co2(at(10, 1), 420.5, 410, 431),
			// The days around it are not in its file.
			pm("pm25", day.Add(-time.Minute), 5, 5, 5, 60, 60, 0), pm("pm25", day.Add(24*time.Hour), 5, 5, 5, 60, 60, 0),
		}}
	indoor := terminal{name: "Stadtteilbibliothek", quarter: "Johannstadt",
		site: &store.Site{Latitude: 51.0512, Longitude: 13.7601, Place: "Bibliothek, Lesesaal", Indoor: true}}
	var sum float64
	for i := 0; i < 60; i++ {
		mean := 800 + float64(i)
		sum += mean
		indoor.minutes = append(indoor.minutes, co2(at(11, i), mean, mean-5, mean+7))
	}
	hidden := terminal{name: "Werkstatt", quarter: "Striesen", minutes: []minute{pm("pm25", at(10, 0), 3, 3, 3, 60, 60, 0)}}

	rows := []want{
		{"Pohlandplatz", "pm25", "10:00", "10:01", "5.5", "4", "7.25", "60", "60", "ok", ""},
		{"Pohlandplatz", "pm25", "10:01", "10:02", "6", "5", "7", "30", "60", "warmup", "warmup|incomplete"},
		{"Pohlandplatz", "pm25", "10:02", "10:03", "12", "11", "13", "60", "60", "suspect", "pm25_above_pm10"},
		{"Pohlandplatz", "pm25", "10:03", "10:04", "7", "6", "8", "40", "60", "incomplete", "incomplete"},
		{"Pohlandplatz", "pm10", "10:00", "10:01", "9.25", "8", "11", "60", "60", "ok", ""},
		{"Pohlandplatz", "pm10", "10:01", "10:02", "10", "9", "11", "30", "60", "warmup", "warmup|incomplete"},
		{"Pohlandplatz", "pm10", "10:02", "10:03", "10", "9", "11", "60", "60", "suspect", "pm25_above_pm10"},
		{"Pohlandplatz", "pm10", "10:03", "10:04", "11", "10", "12", "60", "60", "ok", ""},
		{"Pohlandplatz", "co2", "10:00", "10:01", "200", "180", "220", "12", "12", "invalid", "out_of_range"},
		{"Pohlandplatz", "co2", "10:01", "10:02", "420.5", "410", "431", "12", "12", "ok", ""},
		{"Stadtteilbibliothek", "co2", "11:00", "12:00", strconv.FormatFloat(sum/60, 'f', -1, 64), "795", "866", "720", "720", "ok", ""},
	}
	return []terminal{outdoor, indoor, hidden}, rows
}

// seed enrols the fleet in st, gives the terminals their sites and
// uploads their minutes through IngestBatch, as the terminal API does.
func seed(t testing.TB, st store.Store, ts []terminal) {
	t.Helper()
	ctx := context.Background()
	for _, term := range ts {
		tok := "tok-" + term.name
		hash := sha256.Sum256([]byte(tok))
		if err := st.CreateEnrolToken(ctx, store.EnrolToken{Hash: hash, TerminalName: term.name, Quarter: term.quarter,
			CreatedAt: day.AddDate(0, 0, -10), ExpiresAt: day.AddDate(0, 0, -9)}); err != nil {
			t.Fatal(err)
		}
		seedKey := sha256.Sum256([]byte(term.name))
		id := "T-" + term.name
		if _, err := st.Enroll(ctx, store.Enrolment{TokenHash: hash, TerminalID: id,
			PublicKey: ed25519.NewKeyFromSeed(seedKey[:]).Public().(ed25519.PublicKey), SoftwareVersion: "1.0.0", Now: day.AddDate(0, 0, -10)}); err != nil {
			t.Fatal(err)
		}
		if term.site != nil {
			s := *term.site
			s.TerminalID = id
			if _, err := st.PutSite(ctx, s, store.Audit{At: day.AddDate(0, 0, -10), Actor: "test", Action: "terminal.site", Subject: term.name}); err != nil {
				t.Fatal(err)
			}
		}
		uploadMinutes(t, st, id, term.minutes, 0)
	}
}

// uploadMinutes uploads minutes as terminal id's sensor_minute records
// first+1… in one batch.
func uploadMinutes(t testing.TB, st store.Store, id string, minutes []minute, first int) {
	t.Helper()
	if len(minutes) == 0 {
		return
	}
	recs := make([]api.Record, 0, len(minutes))
	for i, m := range minutes {
		payload, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, api.Record{ID: recordID(first + i + 1), Type: "sensor_minute", Class: api.ClassSensor, CreatedAt: m.Minute.Add(time.Minute), Payload: payload})
	}
	if _, err := st.IngestBatch(context.Background(), id, recs, day.Add(25*time.Hour)); err != nil {
		t.Fatal(err)
	}
}

// recordID is a valid ULID that encodes n.
func recordID(n int) string {
	const digits = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	b := []byte("01JX0000000000000000000000")
	for i := len(b) - 1; n > 0; i-- {
		b[i] = digits[n%32]
		n /= 32
	}
	return string(b)
}
