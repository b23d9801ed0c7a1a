package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/drivers/sim"
	"github.com/quartierhub/quartierhub/drivers/sim/mhz19sim"
	"github.com/quartierhub/quartierhub/drivers/sim/rdm6300sim"
)

func startSim(t *testing.T, dev sim.Device) *sim.Port {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p, err := sim.Start(ctx, dev, sim.Opts{Link: filepath.Join(t.TempDir(), "dev")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		p.Close()
	})
	return p
}

func TestProbeMHZ19PrintsReadings(t *testing.T) {
	dev := mhz19sim.New(mhz19sim.Opts{CO2: 544, TempC: 24})
	p := startSim(t, dev)
	dev.Glitch(65535) // the first reading is bogus: printed as rejected, not counted
	var out, errb bytes.Buffer
	err := run([]string{"--device", "mhz19", "--port", p.Path(), "--count", "2", "--interval", "50ms"}, &out, &errb)
	if err != nil {
		t.Fatalf("run = %v, stderr %s", err, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 lines (1 rejected, 2 readings), got:\n%s", out.String())
	}
	for i, l := range lines {
		var got struct {
			Device    string    `json:"device"`
			CO2       int       `json:"co2_ppm"`
			Unit      string    `json:"unit"`
			TempC     int       `json:"temp_c"`
			WarmingUp *bool     `json:"warming_up"`
			Rejected  string    `json:"rejected"`
			Time      time.Time `json:"time"`
		}
		if err := json.Unmarshal([]byte(l), &got); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if got.Device != "mhz19" || got.Unit != "ppm" || got.TempC != 24 || got.WarmingUp == nil || got.Time.IsZero() {
			t.Fatalf("line %q", l)
		}
		if i == 0 {
			if got.CO2 != 65535 || !strings.Contains(got.Rejected, "detection range") {
				t.Fatalf("first line %q: want a rejected 65535 ppm", l)
			}
			continue
		}
		if got.CO2 != 544 || got.Rejected != "" || !*got.WarmingUp {
			t.Fatalf("line %q: want 544 ppm, warming up (fresh session)", l)
		}
	}
}

func TestProbeMHZ19SilentSensorTimesOut(t *testing.T) {
	p := startSim(t, mhz19sim.New(mhz19sim.Opts{}))
	p.Line().SetSilent(true)
	var out, errb bytes.Buffer
	err := run([]string{"--device", "mhz19", "--port", p.Path(), "--interval", "100ms", "--timeout", "700ms"}, &out, &errb)
	if err == nil || !strings.HasPrefix(err.Error(), "timeout:") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("run = %v, want a one-line timeout error", err)
	}
	if out.Len() != 0 {
		t.Fatalf("printed %q", out.String())
	}
}

// A card reader on the port never answers a read: a timeout, not garbage.
func TestProbeMHZ19WrongDevice(t *testing.T) {
	reader := rdm6300sim.New(rdm6300sim.Opts{})
	p := startSim(t, reader)
	if err := reader.Present("01004CA53B"); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	err := run([]string{"--device", "mhz19", "--port", p.Path(), "--interval", "100ms", "--timeout", "700ms"}, &out, &errb)
	if err == nil || !strings.HasPrefix(err.Error(), "timeout:") {
		t.Fatalf("run = %v, want timeout", err)
	}
}
