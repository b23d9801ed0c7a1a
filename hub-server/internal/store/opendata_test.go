package store_test

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/internal/air"
	"github.com/quartierhub/quartierhub/kiosk/aggregate"
)

// A minute as kiosk/aggregate writes it (its JSON tags, copied: the hub
// does not import the kiosk).
const aggregateJSON = `{"sensor":"sds011-0","quantity":"pm25","unit":"ug/m3","minute":"2026-12-06T10:00:00Z","count":57,"mean":12.5,"min":10,"max":15.25,"warmup":3,"invalid":1,"partial":true,"model":"sds011","expected":60}`

func TestDecodeSensorMinute(t *testing.T) {
	m, err := store.DecodeSensorMinute([]byte(aggregateJSON))
	if err != nil {
		t.Fatal(err)
	}
	want := store.SensorMinute{Sensor: "sds011-0", Quantity: "pm25", Unit: "ug/m3", Minute: time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC),
		Count: 57, Mean: 12.5, Min: 10, Max: 15.25, WarmUp: 3, Invalid: 1, Partial: true, Model: "sds011", Expected: 60}
	if !m.Minute.Equal(want.Minute) || m.Minute.Location() != time.UTC {
		t.Errorf("minute = %v, want %v", m.Minute, want.Minute)
	}
	m.Minute = want.Minute
	if m != want {
		t.Errorf("decoded %+v, want %+v", m, want)
	}
	// A minute given with seconds or in another zone is its minute in UTC.
	m, err = store.DecodeSensorMinute([]byte(strings.Replace(aggregateJSON, "2026-12-06T10:00:00Z", "2026-12-06T11:00:42+01:00", 1)))
	if err != nil || !m.Minute.Equal(want.Minute) {
		t.Errorf("zoned minute = %v, %v; want %v", m.Minute, err, want.Minute)
	}
	for name, p := range map[string]string{
		"not JSON":         `{`,
		"no samples":       strings.Replace(aggregateJSON, `"count":57`, `"count":0`, 1),
		"negative count":   strings.Replace(aggregateJSON, `"count":57`, `"count":-1`, 1),
		"huge count":       strings.Replace(aggregateJSON, `"count":57`, `"count":99999999999`, 1),
		"unknown quantity": strings.Replace(aggregateJSON, `"pm25"`, `"pm1"`, 1),
		"no sensor":        strings.Replace(aggregateJSON, `"sds011-0"`, `""`, 1),
		"sensor control":   strings.Replace(aggregateJSON, `"sds011-0"`, `"a\nb"`, 1),
		"sensor too long":  strings.Replace(aggregateJSON, `"sds011-0"`, `"`+strings.Repeat("s", 65)+`"`, 1),
		"overflow":         strings.Replace(aggregateJSON, `"mean":12.5`, `"mean":1e999`, 1),
		"absurd value":     strings.Replace(aggregateJSON, `"mean":12.5`, `"mean":1e13`, 1),
		"bad minute":       strings.Replace(aggregateJSON, `"2026-12-06T10:00:00Z"`, `"today"`, 1),
		"minute 1970":      strings.Replace(aggregateJSON, `"2026-12-06T10:00:00Z"`, `"1970-01-01T00:00:00Z"`, 1),
		"minute 2200":      strings.Replace(aggregateJSON, `"2026-12-06T10:00:00Z"`, `"2200-01-01T00:00:00Z"`, 1),
		"negative warmup":  strings.Replace(aggregateJSON, `"warmup":3`, `"warmup":-3`, 1),
		"array":            `[]`,
	} {
		if _, err := store.DecodeSensorMinute([]byte(p)); !errors.Is(err, store.ErrNotAMinute) {
			t.Errorf("%s: err = %v, want ErrNotAMinute", name, err)
		}
	}
	// Humidity is read (it flags PM), though never published.
	if _, err := store.DecodeSensorMinute([]byte(strings.Replace(aggregateJSON, `"pm25"`, `"humidity"`, 1))); err != nil {
		t.Errorf("humidity: %v", err)
	}
}

// FuzzDecodeSensorMinute: whatever a terminal sends, the decoder returns
// a minute within its documented bounds or ErrNotAMinute, never panics.
func FuzzDecodeSensorMinute(f *testing.F) {
	f.Add([]byte(aggregateJSON))
	f.Add([]byte(`{"sensor":"mhz19-0","quantity":"co2","unit":"ppm","minute":"2026-12-06T10:00:00Z","count":12,"mean":420,"min":410,"max":430}`))
	f.Add([]byte(`{"sensor":"x","quantity":"humidity","minute":"2150-01-01T00:00:00Z","count":1,"mean":-0,"min":1e12,"max":-1e12}`))
	f.Add([]byte(`{"count":1e3}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		m, err := store.DecodeSensorMinute(payload)
		if err != nil {
			if !errors.Is(err, store.ErrNotAMinute) {
				t.Fatalf("err %v does not wrap ErrNotAMinute", err)
			}
			return
		}
		if _, ok := air.QuantityByID(m.Quantity); !ok && m.Quantity != air.Humidity {
			t.Fatalf("quantity %q accepted", m.Quantity)
		}
		if m.Count <= 0 || m.Expected < 0 || m.WarmUp < 0 || m.Invalid < 0 || m.Sensor == "" || len(m.Sensor) > 64 {
			t.Fatalf("out of bounds: %+v", m)
		}
		for _, v := range []float64{m.Mean, m.Min, m.Max} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("non-finite statistic in %+v", m)
			}
		}
		if mm := store.UnixMinute(m.Minute); mm < 0 || mm >= 100_000_000 || m.Minute.Second() != 0 || m.Minute.Nanosecond() != 0 {
			t.Fatalf("minute %v outside the Observation @iot.id's range or not whole", m.Minute)
		}
		// What was accepted survives a round trip (the record is stored raw;
		// the observation must be reproducible from it).
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		again, err := store.DecodeSensorMinute(b)
		if err != nil || !again.Minute.Equal(m.Minute) || again.Mean != m.Mean || again.Count != m.Count {
			t.Fatalf("round trip of %+v: %+v, %v", m, again, err)
		}
	})
}

func TestMinuteBounds(t *testing.T) {
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	m := store.UnixMinute(at)
	if m != at.Unix()/60 || !store.FromUnixMinute(m).Equal(at) {
		t.Errorf("UnixMinute(%v) = %d", at, m)
	}
	if store.UnixMinute(at.Add(59*time.Second)) != m || store.UnixMinute(time.Unix(-1, 0)) != -1 {
		t.Error("UnixMinute does not round down")
	}
	// [10:00:30, 10:02:00) holds the minutes starting 10:01 only.
	lo, hi := store.MinuteBounds(at.Add(30*time.Second), at.Add(2*time.Minute))
	if lo != m+1 || hi != m+2 {
		t.Errorf("MinuteBounds = %d, %d; want %d, %d", lo, hi, m+1, m+2)
	}
	// An upper bound inside a minute includes the minute that starts before it.
	if _, hi := store.MinuteBounds(at, at.Add(90*time.Second)); hi != m+2 {
		t.Errorf("MinuteBounds upper = %d, want %d", hi, m+2)
	}
}

func TestSiteResolutionAndPublish(t *testing.T) {
	s := store.Site{Indoor: true, Publish: map[string]string{"pm10": store.ResolutionOff}}
	for q, want := range map[string]string{"pm25": "minute", "pm10": "off", "co2": "hour", "humidity": "off"} {
		if got := store.DatastreamResolution(&s, q); got != want {
			t.Errorf("indoor %s = %s, want %s", q, got, want)
		}
	}
	if got := store.DatastreamResolution(nil, "pm25"); got != store.ResolutionOff {
		t.Errorf("no site: %s, want off", got)
	}
	p, err := store.DecodePublish(store.EncodePublish(map[string]string{"co2": "hour", "pm25": "off"}))
	if err != nil || len(p) != 2 || p["co2"] != "hour" || p["pm25"] != "off" {
		t.Errorf("publish round trip = %v, %v", p, err)
	}
	if store.EncodePublish(nil) != "{}" {
		t.Errorf("EncodePublish(nil) = %s", store.EncodePublish(nil))
	}
}

// The contract with the terminal: what kiosk/aggregate writes is what the
// hub reads (a test-only import; the hub itself does not import the kiosk).
func TestDecodeSensorMinuteReadsTheKiosksAggregate(t *testing.T) {
	a := aggregate.Aggregate{Sensor: "sds011-0", Quantity: "pm10", Unit: "ug/m3", Minute: time.Date(2026, 12, 6, 10, 1, 0, 0, time.UTC),
		Count: 45, Mean: 21.5, Min: 20, Max: 23.5, WarmUp: 15, Invalid: 2, Partial: true, Model: "sds011", Expected: 60}
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	m, err := store.DecodeSensorMinute(b)
	if err != nil {
		t.Fatal(err)
	}
	if m.Sensor != a.Sensor || m.Quantity != a.Quantity || m.Unit != a.Unit || !m.Minute.Equal(a.Minute) || m.Count != a.Count || m.Mean != a.Mean ||
		m.Min != a.Min || m.Max != a.Max || m.WarmUp != a.WarmUp || m.Invalid != a.Invalid || m.Partial != a.Partial || m.Model != a.Model || m.Expected != a.Expected {
		t.Errorf("decoded %+v from %s", m, b)
	}
}
