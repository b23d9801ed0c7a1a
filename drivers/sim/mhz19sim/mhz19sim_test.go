package mhz19sim_test

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/drivers/mhz19"
	"github.com/quartierhub/quartierhub/drivers/serialport"
	"github.com/quartierhub/quartierhub/drivers/sim"
	"github.com/quartierhub/quartierhub/drivers/sim/mhz19sim"
	"github.com/quartierhub/quartierhub/internal/testutil"
)

// host talks to the simulator through a real pty, as a driver would.
type host struct {
	t    *testing.T
	dev  *mhz19sim.Device
	port *sim.Port
	rw   io.ReadWriteCloser
}

func newHost(t *testing.T, opts mhz19sim.Opts) *host {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h := &host{t: t, dev: mhz19sim.New(opts)}
	var err error
	h.port, err = sim.Start(ctx, h.dev, sim.Opts{Link: filepath.Join(t.TempDir(), "co2")})
	if err != nil {
		t.Fatal(err)
	}
	h.rw, err = serialport.OpenTarm(h.port.Path(), 9600, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.rw.Close()
		cancel()
		h.port.Close()
	})
	return h
}

// write sends bytes, each part in its own write.
func (h *host) write(parts ...[]byte) {
	h.t.Helper()
	for _, p := range parts {
		if _, err := h.rw.Write(p); err != nil {
			h.t.Fatal(err)
		}
	}
}

// reply returns the raw bytes of the next read response.
func (h *host) reply() mhz19.Frame {
	h.t.Helper()
	var sc mhz19.Scanner
	buf := make([]byte, 32)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		n, _ := h.rw.Read(buf)
		sc.Write(buf[:n])
		if f, ok := sc.Next(); ok {
			return f
		}
	}
	h.t.Fatal("no reply within 5s")
	return mhz19.Frame{}
}

func (h *host) read() int {
	h.t.Helper()
	f := mhz19.ReadCommand()
	h.write(f[:])
	co2, _, _, err := mhz19.ParseReadResponse(h.reply())
	if err != nil {
		h.t.Fatal(err)
	}
	return co2
}

// waitCommands waits until the simulator has received n commands.
func (h *host) waitCommands(n int) {
	h.t.Helper()
	testutil.EventuallyOK(h.t, fmt.Sprintf("%d commands at the simulator", n), func() error {
		if got := len(h.dev.Commands()); got < n {
			return fmt.Errorf("it got %d", got)
		}
		return nil
	})
}

// The docs/protocols.md example: 500 ppm at 24 °C, byte for byte, even when the
// host's command arrives byte by byte after noise.
func TestReadIsByteAccurate(t *testing.T) {
	h := newHost(t, mhz19sim.Opts{CO2: 500, TempC: 24})
	cmd := mhz19.ReadCommand()
	parts := [][]byte{{0x00, 0xFF, 0x86}}
	for i := range cmd {
		parts = append(parts, cmd[i:i+1])
	}
	h.write(parts...)
	if got, want := h.reply().String(), "FF 86 01 F4 40 00 00 00 45"; got != want {
		t.Fatalf("reply %s, want %s", got, want)
	}
	h.dev.SetCO2(544)
	h.dev.SetTemp(-40)
	h.write(cmd[:])
	if got, want := h.reply().String(), "FF 86 02 20 00 00 00 00 58"; got != want {
		t.Fatalf("reply %s, want %s", got, want)
	}
	if h.dev.Reads() != 2 {
		t.Fatalf("Reads = %d", h.dev.Reads())
	}
}

func TestCommandsAreRecordedAndApplied(t *testing.T) {
	h := newHost(t, mhz19sim.Opts{CO2: 600})
	if !h.dev.ABC() || h.dev.Range() != 5000 {
		t.Fatalf("factory state: ABC %v range %d", h.dev.ABC(), h.dev.Range())
	}
	abcOff := mhz19.ABCCommand(false)
	r2000, _ := mhz19.RangeCommand(2000)
	h.write(abcOff[:4], abcOff[4:], r2000[:])
	h.waitCommands(2)
	if h.dev.ABC() || h.dev.Range() != 2000 {
		t.Fatalf("after commands: ABC %v range %d", h.dev.ABC(), h.dev.Range())
	}
	// The range clips readings.
	h.dev.SetCO2(3000)
	if got := h.read(); got != 2000 {
		t.Fatalf("clipped reading %d, want 2000", got)
	}
	// Zero calibration: the current air now reads 400.
	h.dev.SetCO2(600)
	zero := mhz19.ZeroCommand()
	h.write(zero[:])
	h.waitCommands(4)
	if got := h.read(); got != 400 {
		t.Fatalf("after zero %d ppm, want 400", got)
	}
	// Span: 1100 ppm air (reads 900) declared 1000 ppm.
	h.dev.SetCO2(1100)
	if got := h.read(); got != 900 {
		t.Fatalf("before span %d ppm, want 900", got)
	}
	span, _ := mhz19.SpanCommand(1000)
	h.write(span[:])
	h.waitCommands(7)
	if got := h.read(); got != 1000 {
		t.Fatalf("after span %d ppm, want 1000", got)
	}
	abcOn := mhz19.ABCCommand(true)
	h.write(abcOn[:])
	h.waitCommands(9)
	if !h.dev.ABC() {
		t.Fatal("ABC not back on")
	}
	var got []string
	for _, f := range h.dev.Commands() {
		got = append(got, f.String())
	}
	want := []string{
		"FF 01 79 00 00 00 00 00 86", "FF 01 99 00 00 00 07 D0 8F", "FF 01 86 00 00 00 00 00 79",
		"FF 01 87 00 00 00 00 00 78", "FF 01 86 00 00 00 00 00 79", "FF 01 86 00 00 00 00 00 79",
		"FF 01 88 03 E8 00 00 00 8C", "FF 01 86 00 00 00 00 00 79", "FF 01 79 A0 00 00 00 00 E6",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("commands\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestPreheatAndGlitch(t *testing.T) {
	h := newHost(t, mhz19sim.Opts{CO2: 800, Preheat: time.Hour})
	if got := h.read(); got != 500 {
		t.Fatalf("preheating reading %d, want 500", got)
	}
	h.dev.Preheat(0)
	if got := h.read(); got != 800 {
		t.Fatalf("reading %d, want 800", got)
	}
	if err := h.port.Do("glitch 65535"); err != nil {
		t.Fatal(err)
	}
	if got := h.read(); got != 65535 {
		t.Fatalf("glitch reading %d, want 65535", got)
	}
	if got := h.read(); got != 800 {
		t.Fatalf("after glitch %d, want 800", got)
	}
}

func TestBadChecksumFromHostIsIgnored(t *testing.T) {
	h := newHost(t, mhz19sim.Opts{})
	bad := mhz19.ABCCommand(false)
	bad[8]++
	good := mhz19.ReadCommand()
	h.write(bad[:], good[:])
	h.reply()
	if n := len(h.dev.Commands()); n != 1 || !h.dev.ABC() {
		t.Fatalf("commands %v, ABC %v: bad frame acted on", h.dev.Commands(), h.dev.ABC())
	}
}

func TestFaultBadChecksumBreaksTheSum(t *testing.T) {
	h := newHost(t, mhz19sim.Opts{CO2: 500, TempC: 24})
	h.port.Line().Inject(sim.FaultBadChecksum)
	cmd := mhz19.ReadCommand()
	h.write(cmd[:])
	buf := make([]byte, 32)
	var got []byte
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < mhz19.FrameLen && time.Now().Before(deadline) {
		n, _ := h.rw.Read(buf)
		got = append(got, buf[:n]...)
	}
	if len(got) != mhz19.FrameLen || mhz19.Frame(got).Valid() {
		t.Fatalf("corrupted reply % X", got)
	}
	want := mhz19.ReadResponse(500, 24, 0)
	if string(got[:8]) != string(want[:8]) {
		t.Fatalf("corrupted reply % X changed data, want % X", got, want)
	}
}

func TestScriptCommands(t *testing.T) {
	d := mhz19sim.New(mhz19sim.Opts{})
	for _, c := range []string{"co2 1234", "temp 0", "glitch 0", "preheat 1s"} {
		if err := d.Do(strings.Fields(c)); err != nil {
			t.Errorf("%s: %v", c, err)
		}
	}
	if d.Value() != 1234 {
		t.Errorf("Value = %d after co2 1234", d.Value())
	}
	for _, c := range []string{"co2", "co2 x", "co2 -1", "temp 300", "glitch 70000", "preheat soon", "fly"} {
		if err := d.Do(strings.Fields(c)); err == nil {
			t.Errorf("%s: accepted", c)
		}
	}
	if !strings.Contains(d.Help(), "co2 PPM") {
		t.Error("help lacks co2")
	}
}
