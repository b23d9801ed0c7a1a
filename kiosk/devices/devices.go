// Package devices runs the terminal's serial devices for the agent: one
// port owner (drivers/serialport) and one driver per configured device. It
// turns what they produce into things the agent keeps: sensor readings for
// the minute aggregator, device events for the outbox, card presentations
// for the session logic, and a live state per device for the status.
//
// Card UIDs pass through here only to OnCard; they are never logged, stored
// or put into events.
package devices

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"time"

	"github.com/quartierhub/quartierhub/drivers/card"
	"github.com/quartierhub/quartierhub/drivers/escpos"
	"github.com/quartierhub/quartierhub/drivers/mhz19"
	"github.com/quartierhub/quartierhub/drivers/pn532"
	"github.com/quartierhub/quartierhub/drivers/rdm6300"
	"github.com/quartierhub/quartierhub/drivers/sds011"
	"github.com/quartierhub/quartierhub/drivers/serialport"
	"github.com/quartierhub/quartierhub/kiosk/aggregate"
	"github.com/quartierhub/quartierhub/kiosk/config"
)

// Event is a device state change worth keeping: stored in the outbox as a
// device_event record, so the hub can alert on it.
type Event struct {
	Device string    `json:"device"` // e.g. "printer", "sds011-0"
	Kind   string    `json:"kind"`   // e.g. "escpos"
	State  string    `json:"state"`  // connected, lost, recovered, fault, or a printer state
	Detail string    `json:"detail,omitempty"`
	Time   time.Time `json:"time"`
}

// State is one configured device as its port owner sees it now.
type State struct {
	Name  string // e.g. "printer", "card_reader", a sensor's id
	Kind  string // the driver, e.g. "escpos"
	Path  string // the configured port
	State string // the port owner's state (serialport.State), e.g. connected
	Since time.Time
	Error string // the port's last error, while State says so
	// Detail is device-specific: the printer's paper and cover, a
	// sensor's last reading and warm-up, cards presented. It is a copy.
	Detail map[string]any
}

// Card is a card presented to or removed from the reader.
type Card struct {
	Presented bool
	UID       string // hash before keeping it anywhere
	Time      time.Time
}

// Sink receives what the devices produce. Its methods must not block for
// long: they run on driver goroutines.
type Sink interface {
	Reading(aggregate.Reading)
	Event(Event)
}

// Opts configures a Manager.
type Opts struct {
	// OnCard receives card presentations and removals. Optional.
	OnCard func(Card)
	// Now defaults to time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// Port tunes every port owner (tests shorten backoffs); Path, OnEvent
	// and Baud are set per device.
	Port serialport.Opts
}

// device is one configured device and its live state.
type device struct {
	name, kind string
	cfg        config.Device
	port       *serialport.Port
	session    serialport.Session
	printer    *escpos.Printer // the printer's driver; nil for other devices

	// Guarded by Manager.mu: set while the device runs.
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	state  string
	since  time.Time
	err    string
	detail map[string]any
}

func (d *device) set(f func(detail map[string]any)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f(d.detail)
}

// Manager owns every configured device. Apply replaces the configuration
// while it runs: only the devices whose entry changed are stopped and
// started again.
type Manager struct {
	opts Opts
	sink Sink

	applyMu sync.Mutex // one Apply at a time

	mu      sync.Mutex
	devices []*device
	ctx     context.Context // Run's while it runs, else nil
	wg      sync.WaitGroup  // device goroutines
	fatal   chan error
}

// New prepares the devices in cfg; Run starts them.
func New(cfg config.Devices, sink Sink, opts Opts) (*Manager, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	m := &Manager{opts: opts, sink: sink, fatal: make(chan error, 1)}
	devs, err := m.build(cfg)
	if err != nil {
		return nil, err
	}
	m.devices = devs
	return m, nil
}

// Check reports whether cfg would be accepted by New or Apply, without
// opening anything.
func Check(cfg config.Devices) error {
	m := &Manager{opts: Opts{Now: time.Now, Logger: slog.New(slog.DiscardHandler)}, sink: nopSink{}}
	_, err := m.build(cfg)
	return err
}

type nopSink struct{}

func (nopSink) Reading(aggregate.Reading) {}
func (nopSink) Event(Event)               {}

// build makes the devices of cfg without starting or opening them.
func (m *Manager) build(cfg config.Devices) ([]*device, error) {
	b := &builder{m: m}
	if c := cfg.CardReader; c != nil {
		if err := b.addCardReader(*c); err != nil {
			return nil, err
		}
	}
	if c := cfg.Printer; c != nil {
		if err := b.addPrinter(*c); err != nil {
			return nil, err
		}
	}
	for _, c := range cfg.Sensors {
		if err := b.addSensor(c); err != nil {
			return nil, err
		}
	}
	return b.devices, nil
}

// builder collects the devices of one configuration.
type builder struct {
	m       *Manager
	devices []*device
}

// Printer returns the printer driver, or nil if none is configured.
func (m *Manager) Printer() *escpos.Printer {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, d := range m.devices {
		if d.printer != nil {
			return d.printer
		}
	}
	return nil
}

func (b *builder) add(name string, c config.Device, baud int, silence time.Duration, session serialport.Session) *device {
	m := b.m
	d := &device{name: name, kind: c.Kind, cfg: c, session: session, state: serialport.StateClosed.String(), detail: map[string]any{}}
	po := m.opts.Port
	po.Path = c.Port
	po.Baud = baud
	if c.Baud != 0 {
		po.Baud = c.Baud
	}
	if po.SilenceTimeout == 0 {
		po.SilenceTimeout = silence
	}
	if po.Now == nil {
		po.Now = m.opts.Now
	}
	if po.Logger == nil {
		po.Logger = m.opts.Logger
	}
	po.OnEvent = func(e serialport.Event) {
		d.mu.Lock()
		d.state, d.since, d.err = e.State.String(), e.Time, ""
		if e.Err != nil {
			d.err = e.Err.Error()
		}
		d.mu.Unlock()
		ev := Event{Device: name, Kind: c.Kind, State: e.State.String(), Time: e.Time}
		if e.Err != nil {
			ev.Detail = e.Err.Error()
		}
		m.sink.Event(ev)
	}
	d.port = serialport.New(po)
	b.devices = append(b.devices, d)
	return d
}

func (b *builder) addCardReader(c config.Device) error {
	m := b.m
	var d *device
	presented := 0
	onCard := func(e card.Event) {
		present := e.Kind == card.Presented
		d.set(func(detail map[string]any) {
			if present {
				presented++
				detail["cards_presented"] = presented
			}
			detail["card_in_field"] = present
		})
		if m.opts.OnCard != nil {
			m.opts.OnCard(Card{Presented: present, UID: e.UID, Time: e.Time})
		}
	}
	switch c.Kind {
	case "rdm6300":
		r := rdm6300.New(rdm6300.Opts{Now: m.opts.Now, OnEvent: onCard})
		d = b.add("card_reader", c, 9600, 0, r.Run)
	case "pn532":
		r := pn532.New(pn532.Opts{Now: m.opts.Now, Logger: m.opts.Logger, PollInterval: c.Interval.Duration, OnEvent: onCard})
		d = b.add("card_reader", c, 115200, 0, r.Run)
	default:
		return fmt.Errorf("devices: card reader kind %q", c.Kind)
	}
	return nil
}

func (b *builder) addPrinter(c config.Device) error {
	m := b.m
	pages, err := c.PrinterCodePages()
	if err != nil {
		return fmt.Errorf("devices: printer: %w", err)
	}
	var d *device
	columns := c.Columns
	if columns == 0 {
		columns = 32
	}
	p := escpos.New(escpos.Opts{CodePage: pages[0], CodePages: pages, Columns: columns, Baud: c.Baud, Now: m.opts.Now, Logger: m.opts.Logger, OnStatus: func(e escpos.Event) {
		d.set(func(detail map[string]any) {
			detail["online"] = e.Status.Online
			detail["paper"] = e.Status.Paper.String()
			detail["cover_open"] = e.Status.CoverOpen
			detail["error"] = e.Status.Error
			detail["printable"] = e.Status.Printable()
		})
		ev := Event{Device: "printer", Kind: "escpos", State: "printer_" + e.Kind.String(), Detail: e.Status.String(), Time: e.Time}
		if e.Err != nil {
			ev.Detail = e.Err.Error()
		}
		m.sink.Event(ev)
	}})
	d = b.add("printer", c, escpos.DefaultBaud, 0, p.Run)
	d.printer = p
	return nil
}

// Readings per minute of the sensor drivers' defaults: the SDS011 reports
// every second in active mode, the MH-Z19B is polled every 5 s.
const (
	sds011ActivePerMinute = 60
	mhz19DefaultPoll      = 5 * time.Second
)

// expectedPerMinute is the readings a full minute of sensor c holds at its
// configured rate (aggregate.Reading.Expected), at least 1 for a
// configured interval longer than a minute; 0 for other kinds.
func expectedPerMinute(c config.Device) int {
	every := c.Interval.Duration
	switch c.Kind {
	case "sds011":
		if every <= 0 {
			return sds011ActivePerMinute
		}
	case "mhz19":
		if every <= 0 {
			every = mhz19DefaultPoll
		}
	default:
		return 0
	}
	return max(1, int(time.Minute/every))
}

func (b *builder) addSensor(c config.Device) error {
	m := b.m
	var d *device
	expected := expectedPerMinute(c)
	reading := func(q, unit string, v float64, t time.Time, warm bool) {
		m.sink.Reading(aggregate.Reading{Sensor: c.ID, Quantity: q, Unit: unit, Value: v, At: t, WarmUp: warm, Model: c.Kind, Expected: expected})
		d.set(func(detail map[string]any) {
			detail[q] = v
			detail["unit_"+q] = unit
			detail["warming_up"] = warm
			detail["last_reading"] = t
		})
	}
	rejected := 0
	reject := func(err error) {
		m.opts.Logger.Warn("sensor reading rejected", "sensor", c.ID, "err", err)
		d.set(func(detail map[string]any) {
			rejected++
			detail["rejected"] = rejected
			detail["last_rejection"] = err.Error()
		})
	}
	switch c.Kind {
	case "sds011":
		o := sds011.Opts{Now: m.opts.Now, Logger: m.opts.Logger,
			OnReading: func(r sds011.Reading) {
				reading("pm25", "ug/m3", r.PM25, r.Time, r.WarmingUp)
				reading("pm10", "ug/m3", r.PM10, r.Time, r.WarmingUp)
			},
			OnReject: func(r sds011.Rejection) { reject(r.Err) },
		}
		if c.Interval.Duration > 0 {
			o.Mode, o.QueryInterval = sds011.Query, c.Interval.Duration
		}
		s := sds011.New(o)
		d = b.add(c.ID, c, 9600, 0, s.Run)
	case "mhz19":
		s, err := mhz19.New(mhz19.Opts{Now: m.opts.Now, Logger: m.opts.Logger, PollInterval: c.Interval.Duration,
			OnReading: func(r mhz19.Reading) { reading("co2", "ppm", float64(r.CO2), r.Time, r.WarmingUp) },
			OnReject:  func(_ mhz19.Reading, err error) { reject(err) },
		})
		if err != nil {
			return fmt.Errorf("devices: %s: %w", c.ID, err)
		}
		d = b.add(c.ID, c, 9600, 0, s.Run)
	default:
		return fmt.Errorf("devices: sensor kind %q", c.Kind)
	}
	return nil
}

// Run runs every device until ctx ends, and those Apply starts meanwhile.
// It returns once every port is closed.
func (m *Manager) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m.mu.Lock()
	if m.ctx != nil {
		m.mu.Unlock()
		return errors.New("devices: already running")
	}
	m.ctx = ctx
	for _, d := range m.devices {
		m.start(d)
	}
	m.mu.Unlock()
	var err error
	select {
	case <-ctx.Done():
	case err = <-m.fatal:
	}
	m.mu.Lock()
	m.ctx = nil // Apply starts nothing from now on
	m.mu.Unlock()
	cancel()
	m.wg.Wait()
	return err
}

// start runs d's port in its own goroutine. Called with m.mu held and
// m.ctx set.
func (m *Manager) start(d *device) {
	if d.cancel != nil {
		return // running
	}
	ctx, cancel := context.WithCancel(m.ctx)
	done := make(chan struct{})
	d.cancel, d.done = cancel, done
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(done)
		if err := d.port.Run(ctx, d.session); err != nil && ctx.Err() == nil {
			select {
			case m.fatal <- fmt.Errorf("devices: %s: %w", d.name, err):
			default:
			}
		}
	}()
}

// stop ends d's session and waits until its port is closed.
func (m *Manager) stop(ctx context.Context, d *device) error {
	m.mu.Lock()
	cancel, done := d.cancel, d.done
	d.cancel, d.done = nil, nil
	m.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("devices: stopping %s: %w", d.name, ctx.Err())
	}
}

// Changes says what Apply did, by device name.
type Changes struct {
	Kept, Stopped, Started []string
}

// Empty reports whether Apply changed nothing.
func (c Changes) Empty() bool { return len(c.Stopped) == 0 && len(c.Started) == 0 }

// Apply makes cfg the running configuration. A device whose entry is
// unchanged (same name and settings) keeps running untouched; the others
// are stopped, and their ports closed, before the new ones start, so a
// port that moves from one device to another is free when it is opened
// again. If cfg is refused (unknown kind, bad codepage...), nothing
// changes. Before Run, Apply only replaces what Run will start.
func (m *Manager) Apply(ctx context.Context, cfg config.Devices) (Changes, error) {
	m.applyMu.Lock()
	defer m.applyMu.Unlock()
	built, err := m.build(cfg)
	if err != nil {
		return Changes{}, err
	}
	var ch Changes
	m.mu.Lock()
	old := make(map[string]*device, len(m.devices))
	for _, d := range m.devices {
		old[d.name] = d
	}
	next := make([]*device, 0, len(built))
	kept := map[*device]bool{}
	for _, nd := range built {
		if od := old[nd.name]; od != nil && reflect.DeepEqual(od.cfg, nd.cfg) {
			next = append(next, od)
			kept[od] = true
			ch.Kept = append(ch.Kept, od.name)
			continue
		}
		next = append(next, nd)
	}
	var gone []*device
	for _, d := range m.devices {
		if !kept[d] {
			gone = append(gone, d)
		}
	}
	m.devices = next
	m.mu.Unlock()

	var stopErr error
	for _, d := range gone {
		if err := m.stop(ctx, d); err != nil && stopErr == nil {
			stopErr = err
		}
		ch.Stopped = append(ch.Stopped, d.name)
		m.sink.Event(Event{Device: d.name, Kind: d.kind, State: serialport.StateClosed.String(), Detail: "stopped by a configuration change", Time: m.opts.Now()})
	}
	if stopErr != nil {
		// A port still closing must not be opened twice: start the new
		// devices only once the old ones are gone (the next Apply).
		return ch, stopErr
	}
	m.mu.Lock()
	for _, d := range next {
		if !kept[d] {
			ch.Started = append(ch.Started, d.name)
		}
		if m.ctx != nil {
			m.start(d) // also one a failed Apply left stopped
		}
	}
	m.mu.Unlock()
	return ch, nil
}

// States returns every device's live state for the status.
func (m *Manager) States() []State {
	m.mu.Lock()
	devs := append([]*device(nil), m.devices...)
	m.mu.Unlock()
	out := make([]State, 0, len(devs))
	for _, d := range devs {
		d.mu.Lock()
		det := make(map[string]any, len(d.detail))
		for k, v := range d.detail {
			det[k] = v
		}
		out = append(out, State{Name: d.name, Kind: d.kind, Path: d.cfg.Port, State: d.state, Since: d.since, Error: d.err, Detail: det})
		d.mu.Unlock()
	}
	return out
}
