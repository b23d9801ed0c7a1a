package devices_test

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/drivers/serialport"
	"github.com/quartierhub/quartierhub/drivers/sim/escpossim"
	"github.com/quartierhub/quartierhub/drivers/sim/mhz19sim"
	"github.com/quartierhub/quartierhub/internal/testutil"
	"github.com/quartierhub/quartierhub/kiosk/config"
	"github.com/quartierhub/quartierhub/kiosk/devices"
)

func (s *sink) readingsOf(sensor string, value float64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.readings {
		if r.Sensor == sensor && r.Value == value {
			n++
		}
	}
	return n
}

func (s *sink) eventsOf(device, state string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, e := range s.events {
		if e.Device == device && e.State == state {
			n++
		}
	}
	return n
}

// Apply moves a sensor from one simulated port to another while the
// manager runs: the sensor's old session ends and its port is closed
// before the new one opens, the printer, unchanged, is not touched, and
// an invalid configuration changes nothing.
func TestApplyRestartsOnlyChangedDevices(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	simA, simB := mhz19sim.New(mhz19sim.Opts{CO2: 611}), mhz19sim.New(mhz19sim.Opts{CO2: 922})
	portA, portB := startSim(t, ctx, simA, "co2-a"), startSim(t, ctx, simB, "co2-b")
	prPort := startSim(t, ctx, escpossim.New(escpossim.Opts{Logger: slog.New(slog.DiscardHandler)}), "printer")
	poll := config.Duration{Duration: 20 * time.Millisecond}
	cfg := func(co2Port string) config.Devices {
		return config.Devices{
			Printer: &config.Device{Kind: "escpos", Port: prPort.Path()},
			Sensors: []config.Device{{Kind: "mhz19", Port: co2Port, ID: "co2-1", Interval: poll}},
		}
	}

	s := &sink{}
	m, err := devices.New(cfg(portA.Path()), s, devices.Opts{Logger: slog.New(slog.DiscardHandler), Port: serialport.Opts{MaxBackoff: 200 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	testutil.Eventually(t, "readings from the first port and a connected printer", func() bool {
		return s.readingsOf("co2-1", 611) >= 2 && s.eventsOf("printer", "connected") == 1
	})
	printer := m.Printer()

	ch, err := m.Apply(ctx, cfg(portB.Path()))
	if err != nil {
		t.Fatal(err)
	}
	readsA := simA.Reads()
	if !slices.Equal(ch.Kept, []string{"printer"}) || !slices.Equal(ch.Stopped, []string{"co2-1"}) || !slices.Equal(ch.Started, []string{"co2-1"}) {
		t.Fatalf("changes %+v", ch)
	}
	testutil.Eventually(t, "readings from the second port", func() bool { return s.readingsOf("co2-1", 922) >= 3 })
	// The old port was closed when Apply returned: at most a request
	// already in the pty's buffer reached the first sensor afterwards.
	if n := simA.Reads(); n > readsA+1 {
		t.Fatalf("the first sensor answered %d more reads after its port was released", n-readsA)
	}
	if m.Printer() != printer || s.eventsOf("printer", "connected") != 1 || s.eventsOf("printer", "closed") != 0 {
		t.Fatal("the unchanged printer was restarted")
	}
	if s.eventsOf("co2-1", "closed") != 1 {
		t.Fatal("no event for the stopped sensor")
	}
	for _, d := range m.States() {
		if d.Name == "co2-1" && d.Path != portB.Path() {
			t.Fatalf("state shows path %s", d.Path)
		}
	}

	// Refused: unknown kind. The sensor keeps reading from the second port.
	bad := cfg(portA.Path())
	bad.Sensors[0].Kind = "bme280"
	if _, err := m.Apply(ctx, bad); err == nil {
		t.Fatal("an unknown kind was applied")
	}
	before := s.readingsOf("co2-1", 922)
	testutil.Eventually(t, "readings continuing from the second port", func() bool { return s.readingsOf("co2-1", 922) > before+2 })
	if got := m.States(); len(got) != 2 || got[1].Path != portB.Path() {
		t.Fatalf("states after a refused configuration: %+v", got)
	}

	// Removing every device stops them all; Run keeps going.
	ch, err = m.Apply(ctx, config.Devices{})
	if err != nil || len(ch.Stopped) != 2 || len(m.States()) != 0 || m.Printer() != nil {
		t.Fatalf("remove all: %+v, %v, %d devices", ch, err, len(m.States()))
	}
}

// Two sensors swap ports in one Apply: both old sessions end before
// either new one opens.
func TestApplySwapsPorts(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	portA := startSim(t, ctx, mhz19sim.New(mhz19sim.Opts{CO2: 500}), "a")
	portB := startSim(t, ctx, mhz19sim.New(mhz19sim.Opts{CO2: 1500}), "b")
	poll := config.Duration{Duration: 20 * time.Millisecond}
	cfg := func(p1, p2 string) config.Devices {
		return config.Devices{Sensors: []config.Device{{Kind: "mhz19", Port: p1, ID: "one", Interval: poll}, {Kind: "mhz19", Port: p2, ID: "two", Interval: poll}}}
	}
	s := &sink{}
	m, err := devices.New(config.Devices{}, s, devices.Opts{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	// Before Run, Apply only sets what Run starts.
	if _, err := m.Apply(ctx, cfg(portA.Path(), portB.Path())); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	testutil.Eventually(t, "both sensors", func() bool { return s.readingsOf("one", 500) > 0 && s.readingsOf("two", 1500) > 0 })
	if _, err := m.Apply(ctx, cfg(portB.Path(), portA.Path())); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "both sensors on swapped ports", func() bool { return s.readingsOf("one", 1500) > 0 && s.readingsOf("two", 500) > 0 })
}
