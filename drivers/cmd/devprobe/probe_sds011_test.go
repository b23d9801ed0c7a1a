package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/drivers/sds011"
	"github.com/quartierhub/quartierhub/drivers/sim"
	"github.com/quartierhub/quartierhub/drivers/sim/sds011sim"
)

func startSDS011Sim(t *testing.T, dev *sds011sim.Device) *sim.Port {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p, err := sim.Start(ctx, dev, sim.Opts{Link: filepath.Join(t.TempDir(), "pm")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		p.Close()
	})
	return p
}

type sds011Line struct {
	Device    string    `json:"device"`
	PM25      float64   `json:"pm25"`
	PM10      float64   `json:"pm10"`
	Unit      string    `json:"unit"`
	WarmingUp *bool     `json:"warming_up"`
	ID        string    `json:"id"`
	Rejected  string    `json:"rejected"`
	Time      time.Time `json:"time"`
}

func parseSDS011(t *testing.T, out string) []sds011Line {
	t.Helper()
	var lines []sds011Line
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var got sds011Line
		if err := json.Unmarshal([]byte(l), &got); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if got.Device != "sds011" || got.Unit != "µg/m³" || got.ID != "A160" || got.WarmingUp == nil || got.Time.IsZero() {
			t.Fatalf("line %q", l)
		}
		lines = append(lines, got)
	}
	return lines
}

func TestProbeSDS011ActiveMode(t *testing.T) {
	p := startSDS011Sim(t, sds011sim.New(sds011sim.Opts{Interval: 20 * time.Millisecond}))
	var out, errb bytes.Buffer
	if err := run([]string{"--device", "sds011", "--port", p.Path(), "--count", "3"}, &out, &errb); err != nil {
		t.Fatalf("run = %v, stderr %s", err, errb.String())
	}
	lines := parseSDS011(t, out.String())
	if len(lines) != 3 {
		t.Fatalf("want 3 lines, got:\n%s", out.String())
	}
	for _, l := range lines {
		// A fresh session: warming up, printed anyway.
		if l.PM25 != 12.3 || l.PM10 != 45.6 || !*l.WarmingUp || l.Rejected != "" {
			t.Fatalf("line %+v", l)
		}
	}
}

func TestProbeSDS011RejectedNotCounted(t *testing.T) {
	dev := sds011sim.New(sds011sim.Opts{Interval: 20 * time.Millisecond, PM25: 1200, PM10: 5})
	p := startSDS011Sim(t, dev)
	go func() {
		// Once some out-of-range frames went out, the values become real.
		for p.Line().Sent() < 4 {
			time.Sleep(5 * time.Millisecond)
		}
		dev.Set(3.2, 4.1)
	}()
	var out, errb bytes.Buffer
	if err := run([]string{"--device", "sds011", "--port", p.Path(), "--count", "2"}, &out, &errb); err != nil {
		t.Fatalf("run = %v, stderr %s", err, errb.String())
	}
	lines := parseSDS011(t, out.String())
	rejected, good := 0, 0
	for _, l := range lines {
		switch {
		case l.Rejected != "":
			if good > 0 || l.PM25 != 1200 || !strings.Contains(l.Rejected, "range") {
				t.Fatalf("rejected line %+v", l)
			}
			rejected++
		case l.PM25 == 3.2 && l.PM10 == 4.1:
			good++
		default:
			t.Fatalf("line %+v", l)
		}
	}
	if rejected == 0 || good != 2 {
		t.Fatalf("%d rejected, %d good lines, want some and 2:\n%s", rejected, good, out.String())
	}
}

func TestProbeSDS011QueryMode(t *testing.T) {
	dev := sds011sim.New(sds011sim.Opts{Interval: time.Hour})
	dev.SetMode(sds011.Query) // query mode, as a previous session may have left it
	p := startSDS011Sim(t, dev)
	var out, errb bytes.Buffer
	if err := run([]string{"--device", "sds011", "--port", p.Path(), "--count", "1", "--interval", "3s"}, &out, &errb); err != nil {
		t.Fatalf("run = %v, stderr %s", err, errb.String())
	}
	if lines := parseSDS011(t, out.String()); len(lines) != 1 || lines[0].PM25 != 12.3 {
		t.Fatalf("output:\n%s", out.String())
	}
	queried := false
	for _, c := range dev.Received() {
		queried = queried || c.Cmd == sds011.CmdQueryData
	}
	if !queried {
		t.Fatal("the sensor was not queried")
	}
}

func TestProbeSDS011Errors(t *testing.T) {
	p := startSDS011Sim(t, sds011sim.New(sds011sim.Opts{}))
	p.Line().SetSilent(true)
	var out, errb bytes.Buffer
	err := run([]string{"--device", "sds011", "--port", p.Path(), "--timeout", "500ms"}, &out, &errb)
	if err == nil || !strings.HasPrefix(err.Error(), "timeout:") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("silent sensor: run = %v, want a one-line timeout error", err)
	}
	if out.Len() != 0 {
		t.Fatalf("output from a silent sensor: %s", out.String())
	}
	err = run([]string{"--device", "sds011", "--port", p.Path(), "--interval", "1s"}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "3s") {
		t.Fatalf("--interval 1s: run = %v, want a refusal", err)
	}
	err = run([]string{"--device", "sds011", "--port", filepath.Join(t.TempDir(), "none")}, &out, &errb)
	if err == nil {
		t.Fatal("missing port accepted")
	}
}
