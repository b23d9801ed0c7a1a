package agent

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/kiosk/aggregate"
	"github.com/quartierhub/quartierhub/kiosk/devices"
	"github.com/quartierhub/quartierhub/kiosk/hubsync"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
)

// What the engine's types become on the local API, byte for byte: the
// window and the CLI read these.
func TestEdgeWireFormat(t *testing.T) {
	at := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	js := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	cases := []struct {
		name string
		got  any
		want string
	}{
		{"card", cardEvent(cardSeen{Presented: true, Hash: "ab12", Time: at}),
			`{"type":"card","time":"2026-05-04T12:00:00Z","card":{"presented":true,"hash":"ab12"}}`},
		{"reading", readingEvent(aggregate.Reading{Sensor: "co2-1", Quantity: "co2", Unit: "ppm", Value: 612, At: at, WarmUp: true}),
			`{"type":"reading","time":"2026-05-04T12:00:00Z","reading":{"sensor":"co2-1","quantity":"co2","unit":"ppm","value":612,"warm_up":true,"at":"2026-05-04T12:00:00Z"}}`},
		{"device", deviceEvent(devices.Event{Device: "printer", Kind: "escpos", State: "printer_paper_out", Detail: "paper out", Time: at}),
			`{"type":"device","time":"2026-05-04T12:00:00Z","device":{"device":"printer","kind":"escpos","state":"printer_paper_out","detail":"paper out"}}`},
		// The window is told reachability, authorisation, the last sync and
		// failures, not the counters or the error text.
		{"sync", syncEvent(at, hubsync.Status{Enrolled: true, Reachable: true, LastAttempt: at, LastSuccess: at.Add(-time.Minute),
			LastError: "x", Failures: 2, NextAttempt: at.Add(time.Minute), SentRecords: 7, Duplicates: 1}),
			`{"type":"sync","time":"2026-05-04T12:00:00Z","sync":{"hub_reachable":true,"unauthorized":false,"last_attempt":"2026-05-04T12:00:00Z","last_sync":"2026-05-04T11:59:00Z","consecutive_failures":2,"sent_records":0,"duplicates":0}}`},
		{"mode", modeEvent(at, Mode{OutOfOrder: true, Reason: "maintenance: new reader"}),
			`{"type":"mode","time":"2026-05-04T12:00:00Z","mode":{"out_of_order":true,"reason":"maintenance: new reader"}}`},
		{"devices", apiDevices([]devices.State{{Name: "printer", Kind: "escpos", Path: "/dev/p", State: "connected", Since: at, Detail: map[string]any{"paper": "ok"}}}),
			`[{"name":"printer","kind":"escpos","path":"/dev/p","state":"connected","since":"2026-05-04T12:00:00Z","detail":{"paper":"ok"}}]`},
	}
	for _, c := range cases {
		if got := js(c.got); got != c.want {
			t.Errorf("%s:\n%s\nwant\n%s", c.name, got, c.want)
		}
	}

	// An agent without history answers no latest readings and an empty
	// list of minutes.
	a := New(Opts{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	h, err := a.Sensors(context.Background())
	if err != nil || js(h) != `{"latest":null,"minutes":[]}` {
		t.Fatalf("empty history: %s %v", js(h), err)
	}
	a.win.sensors.reading(aggregate.Reading{Sensor: "co2-1", Quantity: "co2", Unit: "ppm", Value: 612, At: at})
	a.win.sensors.minute(aggregate.Aggregate{Sensor: "co2-1", Quantity: "co2", Unit: "ppm", Minute: time.Now().Truncate(time.Minute), Count: 3, Mean: 610, Min: 600, Max: 620, WarmUp: 1})
	h, _ = a.Sensors(context.Background())
	var back localapi.SensorHistory
	if err := json.Unmarshal([]byte(js(h)), &back); err != nil || len(back.Latest) != 1 || back.Latest[0].Value != 612 ||
		len(back.Minutes) != 1 || back.Minutes[0].Mean != 610 || back.Minutes[0].Max != 620 {
		t.Fatalf("history: %s", js(h))
	}
}
