package mhz19_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/drivers/mhz19"
	"github.com/quartierhub/quartierhub/drivers/serialport"
	"github.com/quartierhub/quartierhub/drivers/sim"
	"github.com/quartierhub/quartierhub/drivers/sim/mhz19sim"
)

// clock is a settable Opts.Now, so warm-up is decided by the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type reject struct {
	r   mhz19.Reading
	err error
}

// rig runs the driver against the simulator through a real pty.
type rig struct {
	dev      *mhz19sim.Device
	port     *sim.Port
	sensor   *mhz19.Sensor
	readings chan mhz19.Reading
	rejects  chan reject
	events   chan serialport.Event
	ctx      context.Context

	mu  sync.Mutex
	all []mhz19.Reading // every reading OnReading got
}

func (r *rig) allReadings() []mhz19.Reading {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]mhz19.Reading(nil), r.all...)
}

// newRig starts both ends. Unset fields of so get fast test values.
func newRig(t *testing.T, so mhz19.Opts, do mhz19sim.Opts) *rig {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &rig{
		dev:      mhz19sim.New(do),
		readings: make(chan mhz19.Reading, 1000),
		rejects:  make(chan reject, 100),
		events:   make(chan serialport.Event, 100),
		ctx:      ctx,
	}
	var err error
	r.port, err = sim.Start(ctx, r.dev, sim.Opts{Link: filepath.Join(t.TempDir(), "co2")})
	if err != nil {
		t.Fatal(err)
	}
	if so.PollInterval == 0 {
		so.PollInterval = 30 * time.Millisecond
	}
	if so.ReplyTimeout == 0 {
		// Generous: a reply that comes late is flushed and lost, which
		// tests that inject faults and wait for misses set lower.
		so.ReplyTimeout = time.Second
	}
	if so.WarmUp == 0 {
		so.WarmUp = -1
	}
	so.OnReading = func(rd mhz19.Reading) {
		r.mu.Lock()
		r.all = append(r.all, rd)
		r.mu.Unlock()
		r.readings <- rd
	}
	so.OnReject = func(rd mhz19.Reading, err error) { r.rejects <- reject{rd, err} }
	r.sensor, err = mhz19.New(so)
	if err != nil {
		t.Fatal(err)
	}
	owner := serialport.New(serialport.Opts{
		Path:    r.port.Path(),
		Baud:    9600,
		OnEvent: func(e serialport.Event) { r.events <- e },
	})
	done := make(chan error, 1)
	go func() { done <- owner.Run(ctx, r.sensor.Run) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		r.port.Close()
	})
	r.waitState(t, serialport.StateConnected)
	return r
}

const patience = 5 * time.Second

func (r *rig) next(t *testing.T) mhz19.Reading {
	t.Helper()
	select {
	case rd := <-r.readings:
		return rd
	case <-time.After(patience):
		t.Fatal("no reading within 5s")
	}
	return mhz19.Reading{}
}

// waitCO2 skips readings until one shows ppm.
func (r *rig) waitCO2(t *testing.T, ppm int) mhz19.Reading {
	t.Helper()
	deadline := time.After(patience)
	for {
		select {
		case rd := <-r.readings:
			if rd.CO2 == ppm {
				return rd
			}
		case <-deadline:
			t.Fatalf("no reading of %d ppm within 5s", ppm)
		}
	}
}

func (r *rig) nextReject(t *testing.T) reject {
	t.Helper()
	select {
	case rj := <-r.rejects:
		return rj
	case <-time.After(patience):
		t.Fatal("no rejected reading within 5s")
	}
	return reject{}
}

// glitch makes the sensor send ppm once and returns the rejection. Under
// load a reply may miss its timeout and be flushed: then it tries again.
func (r *rig) glitch(t *testing.T, ppm int) reject {
	t.Helper()
	for range 5 {
		r.dev.Glitch(ppm)
		wait := time.After(patience / 5)
	recv:
		for {
			select {
			case rj := <-r.rejects:
				if rj.r.CO2 == ppm {
					return rj
				}
			case <-wait:
				break recv
			}
		}
	}
	t.Fatalf("no rejection of a %d ppm glitch", ppm)
	return reject{}
}

func (r *rig) waitState(t *testing.T, s serialport.State) serialport.Event {
	t.Helper()
	deadline := time.After(patience)
	for {
		select {
		case e := <-r.events:
			if e.State == s {
				return e
			}
		case <-deadline:
			t.Fatalf("no %s event within 5s", s)
		}
	}
}

// drain forgets readings taken so far.
func (r *rig) drain() {
	for {
		select {
		case <-r.readings:
		default:
			return
		}
	}
}

func TestReadingsCarryUnitTemperatureAndTime(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	r := newRig(t, mhz19.Opts{Now: func() time.Time { return at }}, mhz19sim.Opts{CO2: 544, TempC: 24})
	rd := r.next(t)
	want := mhz19.Reading{CO2: 544, Unit: "ppm", TempC: 24, Time: at}
	if rd != want {
		t.Fatalf("reading %v, want %v", rd, want)
	}
	if !strings.Contains(rd.String(), "544 ppm") {
		t.Fatalf("String = %q", rd.String())
	}
	// The session set the default detection range first.
	if cmds := r.dev.Commands(); len(cmds) == 0 || cmds[0].String() != "FF 01 99 00 00 00 13 88 CB" {
		t.Fatalf("first command %v, want range 5000", cmds)
	}
	if !r.dev.ABC() {
		t.Fatal("ABCUnchanged changed ABC")
	}
}

func TestWarmUpReadingsAreMarked(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	// The manual's 3 min; the unit sends its fixed 500 ppm meanwhile.
	r := newRig(t, mhz19.Opts{WarmUp: 3 * time.Minute, Now: clk.Now}, mhz19sim.Opts{CO2: 800, Preheat: time.Hour})
	rd := r.next(t)
	if !rd.WarmingUp || rd.CO2 != 500 || !strings.Contains(rd.String(), "warming up") {
		t.Fatalf("first reading %v: want 500 ppm marked warming up", rd)
	}
	r.dev.Preheat(0)
	clk.Add(3*time.Minute - time.Second)
	rd = r.waitCO2(t, 800)
	if !rd.WarmingUp {
		t.Fatalf("reading %v before the warm-up ended is not marked", rd)
	}
	clk.Add(time.Second)
	r.drain()
	for range 3 {
		if rd := r.next(t); rd.WarmingUp || rd.CO2 != 800 {
			t.Fatalf("reading %v after warm-up: want 800 ppm unmarked", rd)
		}
	}
}

func TestImplausibleReadingsAreRejectedWithReason(t *testing.T) {
	t.Parallel()
	r := newRig(t, mhz19.Opts{}, mhz19sim.Opts{CO2: 700})
	r.waitCO2(t, 700)
	rj := r.glitch(t, 65535)
	if rj.r.CO2 != 65535 || !errors.Is(rj.err, mhz19.ErrOutOfRange) || !strings.Contains(rj.err.Error(), "above the 5000 ppm detection range") {
		t.Fatalf("reject %v: %v", rj.r, rj.err)
	}
	rj = r.glitch(t, 0)
	if rj.r.CO2 != 0 || !strings.Contains(rj.err.Error(), "below 300 ppm") {
		t.Fatalf("reject %v: %v", rj.r, rj.err)
	}
	r.dev.SetCO2(250)
	if rj := r.nextReject(t); rj.r.CO2 != 250 {
		t.Fatalf("reject %v: %v", rj.r, rj.err)
	}
	r.dev.SetCO2(5000) // the top of the range is still air
	r.waitCO2(t, 5000)
	if n := r.sensor.Rejected(); n < 3 {
		t.Fatalf("Rejected = %d, want ≥ 3", n)
	}
	// No rejected value ever reached OnReading.
	for _, rd := range r.allReadings() {
		if rd.CO2 < mhz19.MinPlausiblePPM || rd.CO2 > 5000 {
			t.Fatalf("implausible reading %v passed", rd)
		}
	}
}

func TestAPICallsThroughTheSession(t *testing.T) {
	t.Parallel()
	r := newRig(t, mhz19.Opts{ABC: mhz19.ABCOff, Range: 10000}, mhz19sim.Opts{CO2: 600})
	r.next(t)
	if r.dev.ABC() || r.dev.Range() != 10000 {
		t.Fatalf("session start: sim ABC %v range %d, want off, 10000", r.dev.ABC(), r.dev.Range())
	}
	ctx := r.ctx
	rd, err := r.sensor.Read(ctx)
	if err != nil || rd.CO2 != 600 {
		t.Fatalf("Read = %v, %v", rd, err)
	}
	if err := r.sensor.SetABC(ctx, true); err != nil || !r.dev.ABC() {
		t.Fatalf("SetABC(true) = %v, sim ABC %v", err, r.dev.ABC())
	}
	if err := r.sensor.SetRange(ctx, 2000); err != nil || r.dev.Range() != 2000 || r.sensor.Range() != 2000 {
		t.Fatalf("SetRange(2000) = %v, sim %d, driver %d", err, r.dev.Range(), r.sensor.Range())
	}
	if err := r.sensor.CalibrateZero(ctx); err != nil {
		t.Fatal(err)
	}
	if rd, err := r.sensor.Read(ctx); err != nil || rd.CO2 != 400 {
		t.Fatalf("after zero: %v, %v", rd, err)
	}
	r.dev.SetCO2(1100) // reads 900
	if err := r.sensor.CalibrateSpan(ctx, 1000); err != nil {
		t.Fatal(err)
	}
	if rd, err := r.sensor.Read(ctx); err != nil || rd.CO2 != 1000 {
		t.Fatalf("after span: %v, %v", rd, err)
	}
	if err := r.sensor.SetRange(ctx, 3000); err == nil {
		t.Fatal("SetRange(3000) accepted")
	}
	if err := r.sensor.CalibrateSpan(ctx, 50); err == nil {
		t.Fatal("CalibrateSpan(50) accepted")
	}
	var sent []string
	for _, f := range r.dev.Commands() {
		if f[2] != mhz19.CmdRead {
			sent = append(sent, f.String())
		}
	}
	want := []string{
		"FF 01 99 00 00 00 27 10 2F", "FF 01 79 00 00 00 00 00 86", "FF 01 79 A0 00 00 00 00 E6",
		"FF 01 99 00 00 00 07 D0 8F", "FF 01 87 00 00 00 00 00 78", "FF 01 88 03 E8 00 00 00 8C",
	}
	if strings.Join(sent, "|") != strings.Join(want, "|") {
		t.Fatalf("sent\n%s\nwant\n%s", strings.Join(sent, "\n"), strings.Join(want, "\n"))
	}
}

func TestAPIWithoutSession(t *testing.T) {
	s, err := mhz19.New(mhz19.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Read(ctx); !errors.Is(err, mhz19.ErrNotConnected) {
		t.Fatalf("Read = %v", err)
	}
	if err := s.SetABC(ctx, false); !errors.Is(err, mhz19.ErrNotConnected) {
		t.Fatalf("SetABC = %v", err)
	}
	if _, err := mhz19.New(mhz19.Opts{Range: 3000}); err == nil {
		t.Fatal("Range 3000 accepted")
	}
}

func TestFaultsOnTheWire(t *testing.T) {
	t.Parallel()
	r := newRig(t, mhz19.Opts{MaxMissed: 10, ReplyTimeout: 300 * time.Millisecond}, mhz19sim.Opts{CO2: 612})
	r.waitCO2(t, 612)
	l := r.port.Line()
	start := l.Sent()
	faults := []sim.Fault{sim.FaultGarbage, sim.FaultSplit, sim.FaultBadChecksum, sim.FaultTruncate, sim.FaultDouble, sim.FaultGarbage, sim.FaultSplit}
	for _, f := range faults {
		l.Inject(f)
	}
	for l.Sent() < start+len(faults)+1 {
		if rd := r.next(t); rd.CO2 != 612 {
			t.Fatalf("reading %v under faults, want 612 ppm", rd)
		}
	}
	r.drain()
	for range 3 {
		if rd := r.next(t); rd.CO2 != 612 {
			t.Fatalf("reading %v after faults, want 612 ppm", rd)
		}
	}
	if r.sensor.BadFrames() == 0 {
		t.Fatal("bad checksum not counted")
	}
	select {
	case e := <-r.events:
		t.Fatalf("port event %v under recoverable faults", e)
	default:
	}
}

func TestSilenceIsAFaultAndRecovers(t *testing.T) {
	t.Parallel()
	r := newRig(t, mhz19.Opts{ReplyTimeout: 200 * time.Millisecond}, mhz19sim.Opts{CO2: 640})
	r.waitCO2(t, 640)
	r.port.Line().SetSilent(true)
	e := r.waitState(t, serialport.StateFault)
	if !errors.Is(e.Err, mhz19.ErrNoReply) {
		t.Fatalf("fault %v, want ErrNoReply", e.Err)
	}
	r.port.Line().SetSilent(false)
	r.waitState(t, serialport.StateRecovered)
	r.drain()
	r.waitCO2(t, 640)
}

func TestUnplugAndReplugRecovers(t *testing.T) {
	t.Parallel()
	r := newRig(t, mhz19.Opts{Range: 2000}, mhz19sim.Opts{CO2: 900})
	r.waitCO2(t, 900)
	if err := r.port.Unplug(); err != nil {
		t.Fatal(err)
	}
	r.waitState(t, serialport.StateLost)
	if _, err := r.sensor.Read(r.ctx); err == nil {
		t.Fatal("Read while unplugged succeeded")
	}
	before := len(r.dev.Commands())
	if err := r.port.Replug(); err != nil {
		t.Fatal(err)
	}
	r.waitState(t, serialport.StateRecovered)
	r.drain()
	r.waitCO2(t, 900)
	// The new session set the range again.
	if cmds := r.dev.Commands(); cmds[before].String() != "FF 01 99 00 00 00 07 D0 8F" {
		t.Fatalf("first command after replug %s, want range 2000", cmds[before])
	}
}
