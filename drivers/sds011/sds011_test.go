package sds011_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/drivers/sds011"
	"github.com/quartierhub/quartierhub/drivers/serialport"
	"github.com/quartierhub/quartierhub/drivers/sim"
	"github.com/quartierhub/quartierhub/drivers/sim/sds011sim"
	"github.com/quartierhub/quartierhub/internal/testutil"
)

const wait = 10 * time.Second // generous: only a failing test waits this long

// clock is a settable Opts.Now, so warm-up can be tested without waiting.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// rig runs the driver against the simulator through a real pty.
type rig struct {
	dev      *sds011sim.Device
	port     *sim.Port
	sensor   *sds011.Sensor
	clock    *clock
	readings chan sds011.Reading
	rejects  chan sds011.Rejection
	events   chan serialport.Event
}

func newRig(t *testing.T, devOpts sds011sim.Opts, opts sds011.Opts) *rig {
	t.Helper()
	restore := sds011.SetMinQueryInterval(20 * time.Millisecond)
	t.Cleanup(restore)
	ctx, cancel := context.WithCancel(context.Background())
	if devOpts.Interval == 0 {
		devOpts.Interval = 30 * time.Millisecond
	}
	r := &rig{
		dev:      sds011sim.New(devOpts),
		clock:    &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)},
		readings: make(chan sds011.Reading, 1000),
		rejects:  make(chan sds011.Rejection, 1000),
		events:   make(chan serialport.Event, 1000),
	}
	var err error
	r.port, err = sim.Start(ctx, r.dev, sim.Opts{Link: filepath.Join(t.TempDir(), "pm")})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts.Now = r.clock.Now
	opts.Logger = log
	opts.OnReading = func(x sds011.Reading) { r.readings <- x }
	opts.OnReject = func(x sds011.Rejection) { r.rejects <- x }
	if opts.ReplyTimeout == 0 {
		opts.ReplyTimeout = 300 * time.Millisecond
	}
	r.sensor = sds011.New(opts)
	owner := serialport.New(serialport.Opts{
		Path:       r.port.Path(),
		Baud:       9600,
		MinBackoff: 20 * time.Millisecond,
		OnEvent:    func(e serialport.Event) { r.events <- e },
		Logger:     log,
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
	return r
}

func (r *rig) next(t *testing.T) sds011.Reading {
	t.Helper()
	select {
	case x := <-r.readings:
		return x
	case <-time.After(wait):
		t.Fatal("no reading")
	}
	return sds011.Reading{}
}

// until waits for a reading that satisfies ok.
func (r *rig) until(t *testing.T, what string, ok func(sds011.Reading) bool) sds011.Reading {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case x := <-r.readings:
			if ok(x) {
				return x
			}
		case <-deadline:
			t.Fatalf("no reading with %s", what)
		}
	}
}

func (r *rig) values(t *testing.T, pm25, pm10 float64) sds011.Reading {
	t.Helper()
	return r.until(t, "the new values", func(x sds011.Reading) bool { return x.PM25 == pm25 && x.PM10 == pm10 })
}

func (r *rig) event(t *testing.T, s serialport.State) serialport.Event {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case e := <-r.events:
			if e.State == s {
				return e
			}
		case <-deadline:
			t.Fatalf("no %s event", s)
		}
	}
}

func (r *rig) drain() {
	for {
		select {
		case <-r.readings:
		default:
			return
		}
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

func TestActiveModeReadings(t *testing.T) {
	r := newRig(t, sds011sim.Opts{}, sds011.Opts{})
	x := r.next(t)
	if x.PM25 != 12.3 || x.PM10 != 45.6 || x.Unit != "µg/m³" || x.DeviceID != 0xA160 || !x.WarmingUp || !x.Time.Equal(r.clock.Now()) {
		t.Fatalf("reading %v", x)
	}
	if !strings.Contains(x.String(), "pm2.5 12.3 µg/m³ pm10 45.6 µg/m³") || !strings.Contains(x.String(), "warming up") {
		t.Fatalf("String() = %q", x.String())
	}
	// The session stated what it wants: work, active mode, continuous.
	got := r.dev.Received()
	want := []sds011.Command{
		sds011.NewCommand(sds011.CmdSleepWork, 1, 1),
		sds011.NewCommand(sds011.CmdReportingMode, 1, 0),
		sds011.NewCommand(sds011.CmdWorkingPeriod, 1, 0),
	}
	testutil.Eventually(t, "start-up commands", func() bool { got = r.dev.Received(); return len(got) >= 3 })
	if !slices.Equal(got[:3], want) {
		t.Fatalf("start-up commands %v, want %v", got, want)
	}
	if err := r.dev.Set(0, 0.1); err != nil {
		t.Fatal(err)
	}
	r.values(t, 0, 0.1)
	if last, ok := r.sensor.Last(); !ok || last.PM10 != 0.1 {
		t.Fatalf("Last() = %v, %v", last, ok)
	}
}

func TestWarmUpIsMarkedNotDropped(t *testing.T) {
	r := newRig(t, sds011sim.Opts{}, sds011.Opts{})
	if x := r.next(t); !x.WarmingUp {
		t.Fatalf("first reading not marked warming up: %v", x)
	}
	r.clock.Advance(31 * time.Second)
	r.until(t, "warm-up over", func(x sds011.Reading) bool { return !x.WarmingUp })

	// Sleep and wake: warm-up starts over.
	ctx := ctxT(t)
	if err := r.sensor.Sleep(ctx); err != nil {
		t.Fatal(err)
	}
	if !r.dev.Asleep() || r.sensor.Awake() {
		t.Fatal("sensor not asleep")
	}
	if err := r.sensor.Wake(ctx); err != nil {
		t.Fatal(err)
	}
	if r.dev.Asleep() || !r.sensor.Awake() {
		t.Fatal("sensor not awake")
	}
	r.until(t, "warm-up again", func(x sds011.Reading) bool { return x.WarmingUp })
}

func TestNegativeWarmUpNeverMarks(t *testing.T) {
	r := newRig(t, sds011sim.Opts{}, sds011.Opts{WarmUp: -1})
	if x := r.next(t); x.WarmingUp {
		t.Fatalf("reading marked warming up: %v", x)
	}
}

func TestQueryMode(t *testing.T) {
	r := newRig(t, sds011sim.Opts{Interval: time.Hour}, sds011.Opts{Mode: sds011.Query, QueryInterval: 20 * time.Millisecond})
	r.next(t)
	testutil.Eventually(t, "simulator in query mode", func() bool { return r.dev.Mode() == sds011.Query })
	// From now on only answers to queries carry readings.
	if err := r.dev.Set(1.5, 2.5); err != nil {
		t.Fatal(err)
	}
	r.values(t, 1.5, 2.5)
	queries := func() int {
		n := 0
		for _, c := range r.dev.Received() {
			if c.Cmd == sds011.CmdQueryData {
				n++
			}
		}
		return n
	}
	before := queries()
	for range 3 {
		r.next(t)
	}
	if q := queries(); q < before+3 {
		t.Fatalf("%d queries for 3 readings", q-before)
	}
}

func TestAPI(t *testing.T) {
	r := newRig(t, sds011sim.Opts{DataBeforeReply: 3}, sds011.Opts{})
	r.next(t)
	ctx := ctxT(t)

	v, err := r.sensor.Firmware(ctx)
	if err != nil || v != (sds011.Version{Year: 2015, Month: 7, Day: 10}) || v.String() != "2015-07-10" {
		t.Fatalf("Firmware = %v, %v", v, err)
	}
	if m, err := r.sensor.ReportingMode(ctx); err != nil || m != sds011.Active {
		t.Fatalf("ReportingMode = %v, %v", m, err)
	}
	if err := r.sensor.SetWorkingPeriod(ctx, 5); err != nil {
		t.Fatal(err)
	}
	if n, err := r.sensor.WorkingPeriod(ctx); err != nil || n != 5 || r.dev.WorkingPeriod() != 5 {
		t.Fatalf("WorkingPeriod = %d, %v (simulator %d)", n, err, r.dev.WorkingPeriod())
	}
	if err := r.sensor.SetWorkingPeriod(ctx, 31); err == nil {
		t.Fatal("working period 31 accepted")
	}
	if err := r.sensor.SetWorkingPeriod(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if err := r.sensor.SetMode(ctx, sds011.Query); err != nil {
		t.Fatal(err)
	}
	if m, err := r.sensor.ReportingMode(ctx); err != nil || m != sds011.Query || r.dev.Mode() != sds011.Query {
		t.Fatalf("ReportingMode = %v, %v", m, err)
	}
	// Readings keep coming, now by polling.
	r.drain()
	if err := r.dev.Set(7, 8); err != nil {
		t.Fatal(err)
	}
	r.values(t, 7, 8)
	if err := r.sensor.SetMode(ctx, sds011.Mode(7)); err == nil {
		t.Fatal("unknown mode accepted")
	}
	if !strings.Contains(r.sensor.String(), "query mode") {
		t.Fatalf("String() = %q", r.sensor.String())
	}
}

func TestNotConnected(t *testing.T) {
	s := sds011.New(sds011.Opts{})
	ctx := ctxT(t)
	if _, err := s.Firmware(ctx); !errors.Is(err, sds011.ErrNotConnected) {
		t.Fatalf("Firmware without session: %v", err)
	}
	if err := s.Wake(ctx); !errors.Is(err, sds011.ErrNotConnected) {
		t.Fatalf("Wake without session: %v", err)
	}
}

func TestOutOfRangeRejected(t *testing.T) {
	r := newRig(t, sds011sim.Opts{}, sds011.Opts{})
	r.next(t)
	for _, c := range []struct {
		pm25, pm10 float64
		want       error
	}{
		{1200, 5, sds011.ErrOutOfRange},
		{5, 1000, sds011.ErrOutOfRange},
		{50, 40, sds011.ErrImplausible},
	} {
		if err := r.dev.Set(c.pm25, c.pm10); err != nil {
			t.Fatal(err)
		}
		deadline := time.After(wait)
	loop:
		for {
			select {
			case x := <-r.rejects:
				if x.Reading.PM25 != c.pm25 || x.Reading.PM10 != c.pm10 {
					continue // an earlier value, rejected again
				}
				if !errors.Is(x.Err, c.want) || !strings.Contains(x.String(), "rejected") {
					t.Fatalf("rejection %v, want %v", x, c.want)
				}
				break loop
			case <-deadline:
				t.Fatalf("%v/%v not rejected", c.pm25, c.pm10)
			}
		}
	}
	// The edges of the range are fine.
	if err := r.dev.Set(999.9, 999.9); err != nil {
		t.Fatal(err)
	}
	r.values(t, 999.9, 999.9)
	if r.sensor.Rejected() < 3 {
		t.Fatalf("Rejected = %d", r.sensor.Rejected())
	}
}

func TestFaultsOnTheWire(t *testing.T) {
	r := newRig(t, sds011sim.Opts{}, sds011.Opts{})
	r.next(t)
	l := r.port.Line()
	start := l.Sent()
	for _, f := range []sim.Fault{sim.FaultGarbage, sim.FaultSplit, sim.FaultBadChecksum, sim.FaultTruncate, sim.FaultDouble, sim.FaultGarbage} {
		l.Inject(f)
	}
	testutil.Eventually(t, "faulted frames sent", func() bool { return l.Sent() >= start+7 })
	if err := r.dev.Set(3, 4); err != nil {
		t.Fatal(err)
	}
	r.values(t, 3, 4)
	if r.sensor.BadFrames() == 0 {
		t.Fatal("bad checksum not counted")
	}
	// A command works with faults on its reply, too (the reply is resent
	// by nobody: a bad reply is a missing one, the next command succeeds).
	l.Inject(sim.FaultSplit)
	l.Inject(sim.FaultGarbage)
	if _, err := r.sensor.Firmware(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

func TestSilenceIsAFault(t *testing.T) {
	for _, mode := range []sds011.Mode{sds011.Active, sds011.Query} {
		t.Run(mode.String(), func(t *testing.T) {
			r := newRig(t, sds011sim.Opts{}, sds011.Opts{Mode: mode, QueryInterval: 20 * time.Millisecond, Silence: 300 * time.Millisecond})
			r.next(t)
			r.port.Line().SetSilent(true)
			e := r.event(t, serialport.StateFault)
			if !errors.Is(e.Err, sds011.ErrSilent) {
				t.Fatalf("fault %v, want ErrSilent", e.Err)
			}
			r.port.Line().SetSilent(false)
			r.event(t, serialport.StateRecovered)
			r.drain()
			r.next(t)
		})
	}
}

func TestAsleepIsNotSilence(t *testing.T) {
	r := newRig(t, sds011sim.Opts{}, sds011.Opts{Mode: sds011.Query, QueryInterval: 20 * time.Millisecond, Silence: 200 * time.Millisecond})
	r.next(t)
	ctx := ctxT(t)
	if err := r.sensor.Sleep(ctx); err != nil {
		t.Fatal(err)
	}
	// Asleep well past the silence limit, as the API stays usable shows.
	for range 4 {
		if _, err := r.sensor.Firmware(ctx); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case e := <-r.events:
		if e.State == serialport.StateFault {
			t.Fatalf("fault while asleep: %v", e)
		}
	default:
	}
	if err := r.sensor.Wake(ctx); err != nil {
		t.Fatal(err)
	}
	r.drain()
	r.next(t)
}

func TestWakeDoesNotNeedAReply(t *testing.T) {
	r := newRig(t, sds011sim.Opts{SleepReplies: sds011sim.RepliesNone}, sds011.Opts{})
	r.next(t)
	ctx := ctxT(t)
	if err := r.sensor.Sleep(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := r.sensor.Firmware(ctx); !errors.Is(err, sds011.ErrNoReply) {
		t.Fatalf("sleeping sensor answered: %v", err)
	}
	if err := r.sensor.Wake(ctx); err != nil {
		t.Fatal(err)
	}
	if r.dev.Asleep() || !r.sensor.Awake() {
		t.Fatal("not awake")
	}
	r.drain()
	r.next(t)
}

func TestUnplugReplug(t *testing.T) {
	r := newRig(t, sds011sim.Opts{}, sds011.Opts{Mode: sds011.Query, QueryInterval: 20 * time.Millisecond})
	r.next(t)
	if err := r.port.Unplug(); err != nil {
		t.Fatal(err)
	}
	r.event(t, serialport.StateLost)
	ctx := ctxT(t)
	if _, err := r.sensor.Firmware(ctx); !errors.Is(err, sds011.ErrNotConnected) {
		testutil.Eventually(t, "session ended", func() bool {
			_, err := r.sensor.Firmware(ctx)
			return errors.Is(err, sds011.ErrNotConnected)
		})
	}
	// Reporting mode survives power-off on the sensor; the driver sets it
	// anyway.
	r.dev.SetMode(sds011.Active)
	if err := r.port.Replug(); err != nil {
		t.Fatal(err)
	}
	r.event(t, serialport.StateRecovered)
	r.drain()
	if err := r.dev.Set(9, 9); err != nil {
		t.Fatal(err)
	}
	r.values(t, 9, 9)
	testutil.Eventually(t, "query mode set again", func() bool { return r.dev.Mode() == sds011.Query })
}

func TestSleepSurvivesReopen(t *testing.T) {
	r := newRig(t, sds011sim.Opts{}, sds011.Opts{})
	r.next(t)
	if err := r.sensor.Sleep(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := r.port.Unplug(); err != nil {
		t.Fatal(err)
	}
	if err := r.port.Replug(); err != nil { // power-on: the sensor works
		t.Fatal(err)
	}
	r.event(t, serialport.StateRecovered)
	testutil.Eventually(t, "sensor put back to sleep", r.dev.Asleep)
	if r.sensor.Awake() {
		t.Fatal("driver thinks the sensor is awake")
	}
}

func TestKeepWorkingPeriod(t *testing.T) {
	dev := sds011sim.Opts{}
	r := newRig(t, dev, sds011.Opts{WorkingPeriod: sds011.KeepWorkingPeriod})
	r.next(t)
	for _, c := range r.dev.Received() {
		if c.Cmd == sds011.CmdWorkingPeriod && c.Data[0] == 1 {
			t.Fatalf("working period set although asked to keep it: %v", c)
		}
	}
}

func TestWorkingPeriodSetAtStart(t *testing.T) {
	r := newRig(t, sds011sim.Opts{Minute: 30 * time.Millisecond}, sds011.Opts{WorkingPeriod: 2})
	r.next(t)
	testutil.Eventually(t, "period set", func() bool { return r.dev.WorkingPeriod() == 2 })
	r.next(t) // one every 2 "minutes"
}
