package devices_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/drivers/escpos"
	"github.com/quartierhub/quartierhub/drivers/serialport"
	"github.com/quartierhub/quartierhub/drivers/sim"
	"github.com/quartierhub/quartierhub/drivers/sim/escpossim"
	"github.com/quartierhub/quartierhub/drivers/sim/sds011sim"
	"github.com/quartierhub/quartierhub/internal/testutil"
	"github.com/quartierhub/quartierhub/kiosk/aggregate"
	"github.com/quartierhub/quartierhub/kiosk/config"
	"github.com/quartierhub/quartierhub/kiosk/devices"
)

type sink struct {
	mu       sync.Mutex
	readings []aggregate.Reading
	events   []devices.Event
}

func (s *sink) Reading(r aggregate.Reading) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.readings = append(s.readings, r)
}

func (s *sink) Event(e devices.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, e)
}

func (s *sink) has(f func(*sink) bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return f(s)
}

func startSim(t *testing.T, ctx context.Context, dev sim.Device, name string) *sim.Port {
	t.Helper()
	p, err := sim.Start(ctx, dev, sim.Opts{Link: filepath.Join(t.TempDir(), name), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// A particulate sensor's readings become two quantities for the
// aggregator; a printer running out of paper becomes a device event and
// shows in the device's state; the printer driver prints through the port.
func TestSensorAndPrinterThroughRealPorts(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pm := sds011sim.New(sds011sim.Opts{Interval: 50 * time.Millisecond, PM25: 7.5, PM10: 11})
	pmPort := startSim(t, ctx, pm, "pm")
	printer := escpossim.New(escpossim.Opts{Logger: slog.New(slog.DiscardHandler)})
	prPort := startSim(t, ctx, printer, "printer")

	s := &sink{}
	m, err := devices.New(config.Devices{
		Printer: &config.Device{Kind: "escpos", Port: prPort.Path()},
		Sensors: []config.Device{{Kind: "sds011", Port: pmPort.Path(), ID: "pm-1"}},
	}, s, devices.Opts{Logger: slog.New(slog.DiscardHandler), Port: serialport.Opts{MaxBackoff: 200 * time.Millisecond}})
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

	testutil.Eventually(t, "pm25 and pm10 readings", func() bool {
		return s.has(func(s *sink) bool {
			var pm25, pm10 bool
			for _, r := range s.readings {
				// Active mode: a reading a second, 60 a minute.
				pm25 = pm25 || (r.Sensor == "pm-1" && r.Quantity == "pm25" && r.Value == 7.5 && r.Unit == "ug/m3" && r.Model == "sds011" && r.Expected == 60)
				pm10 = pm10 || (r.Sensor == "pm-1" && r.Quantity == "pm10" && r.Value == 11)
			}
			return pm25 && pm10
		})
	})
	testutil.Eventually(t, "printer ready", func() bool {
		for _, d := range m.States() {
			if d.Name == "printer" && d.Detail["printable"] == true {
				return true
			}
		}
		return false
	})
	res, err := m.Printer().Print(ctx, escpos.Receipt{Blocks: []escpos.Block{escpos.Text{Text: "Ticket 7"}, escpos.Cut{Partial: true}}})
	if err != nil {
		t.Fatalf("print: %v (%v)", err, res)
	}
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := printer.WaitCuts(wctx, 1); err != nil {
		t.Fatal(err)
	}
	// The default configuration offers the Epson tables for the other
	// languages: a Ukrainian receipt goes out in WPC1251.
	if got := fmt.Sprint(m.Printer().CodePages()); got != "[cp858 (table 19) cp1251 (table 46) cp1254 (table 48) cp1258 (table 52)]" {
		t.Fatalf("printer's code pages %s", got)
	}
	if _, err := m.Printer().Print(ctx, escpos.Receipt{Blocks: []escpos.Block{escpos.Text{Text: "Ваш номер: 7"}, escpos.Cut{Partial: true}}}); err != nil {
		t.Fatal(err)
	}
	if err := printer.WaitCuts(wctx, 2); err != nil {
		t.Fatal(err)
	}
	lines := printer.Transcript().Of(escpossim.Line)
	if last := lines[len(lines)-1]; last.Text != "Ваш номер: 7" || last.Table != 46 {
		t.Fatalf("Ukrainian receipt printed as %s", last)
	}
	printer.SetPaper(escpos.PaperOut)
	testutil.Eventually(t, "a paper-out event and state", func() bool {
		out := s.has(func(s *sink) bool {
			for _, e := range s.events {
				if e.Device == "printer" && strings.Contains(e.State, "paper_out") {
					return true
				}
			}
			return false
		})
		for _, d := range m.States() {
			if d.Name == "printer" && d.Detail["paper"] == escpos.PaperOut.String() && d.Detail["printable"] == false {
				return out
			}
		}
		return false
	})
	if _, err := m.Printer().Print(ctx, escpos.Receipt{Blocks: []escpos.Block{escpos.Text{Text: "x"}}}); err == nil {
		t.Fatal("printed without paper")
	}
	// Port states reached the sink as events too.
	if !s.has(func(s *sink) bool {
		n := 0
		for _, e := range s.events {
			if e.State == "connected" {
				n++
			}
		}
		return n == 2
	}) {
		t.Fatal("no connected events for both devices")
	}
}

func TestNewRejectsUnknownKinds(t *testing.T) {
	_, err := devices.New(config.Devices{Sensors: []config.Device{{Kind: "bme280", Port: "/x", ID: "a"}}}, &sink{}, devices.Opts{})
	if err == nil {
		t.Fatal("unknown sensor kind accepted")
	}
}
