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
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/quartierhub/quartierhub/drivers/card"
	"github.com/quartierhub/quartierhub/drivers/escpos"
	"github.com/quartierhub/quartierhub/drivers/mhz19"
	"github.com/quartierhub/quartierhub/drivers/pn532"
	"github.com/quartierhub/quartierhub/drivers/rdm6300"
	"github.com/quartierhub/quartierhub/drivers/sds011"
	"github.com/quartierhub/quartierhub/drivers/serialport"
	"github.com/quartierhub/quartierhub/kiosk/aggregate"
	"github.com/quartierhub/quartierhub/kiosk/config"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
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

// Manager owns every configured device.
type Manager struct {
	opts    Opts
	sink    Sink
	devices []*device
	printer *escpos.Printer
}

// New prepares the devices in cfg; Run starts them.
func New(cfg config.Devices, sink Sink, opts Opts) (*Manager, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	m := &Manager{opts: opts, sink: sink}
	if c := cfg.CardReader; c != nil {
		if err := m.addCardReader(*c); err != nil {
			return nil, err
		}
	}
	if c := cfg.Printer; c != nil {
		if err := m.addPrinter(*c); err != nil {
			return nil, err
		}
	}
	for _, c := range cfg.Sensors {
		if err := m.addSensor(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Printer returns the printer driver, or nil if none is configured.
func (m *Manager) Printer() *escpos.Printer { return m.printer }

func (m *Manager) add(name string, c config.Device, baud int, silence time.Duration, session serialport.Session) *device {
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
	m.devices = append(m.devices, d)
	return d
}

func (m *Manager) addCardReader(c config.Device) error {
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
		d = m.add("card_reader", c, 9600, 0, r.Run)
	case "pn532":
		r := pn532.New(pn532.Opts{Now: m.opts.Now, Logger: m.opts.Logger, PollInterval: c.Interval.Duration, OnEvent: onCard})
		d = m.add("card_reader", c, 115200, 0, r.Run)
	default:
		return fmt.Errorf("devices: card reader kind %q", c.Kind)
	}
	return nil
}

func (m *Manager) addPrinter(c config.Device) error {
	cp := escpos.CP858
	if c.CodePage != "" {
		var err error
		if cp, err = escpos.ParseCodePage(c.CodePage); err != nil {
			return fmt.Errorf("devices: printer: %w", err)
		}
	}
	if c.Table != nil {
		if *c.Table < 0 || *c.Table > 255 {
			return fmt.Errorf("devices: printer: table %d out of range", *c.Table)
		}
		cp = cp.WithTable(byte(*c.Table))
	}
	var d *device
	p := escpos.New(escpos.Opts{CodePage: cp, Baud: c.Baud, Now: m.opts.Now, Logger: m.opts.Logger, OnStatus: func(e escpos.Event) {
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
	m.printer = p
	d = m.add("printer", c, escpos.DefaultBaud, 0, p.Run)
	return nil
}

func (m *Manager) addSensor(c config.Device) error {
	var d *device
	reading := func(q, unit string, v float64, t time.Time, warm bool) {
		m.sink.Reading(aggregate.Reading{Sensor: c.ID, Quantity: q, Unit: unit, Value: v, At: t, WarmUp: warm})
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
		d = m.add(c.ID, c, 9600, 0, s.Run)
	case "mhz19":
		s, err := mhz19.New(mhz19.Opts{Now: m.opts.Now, Logger: m.opts.Logger, PollInterval: c.Interval.Duration,
			OnReading: func(r mhz19.Reading) { reading("co2", "ppm", float64(r.CO2), r.Time, r.WarmingUp) },
			OnReject:  func(_ mhz19.Reading, err error) { reject(err) },
		})
		if err != nil {
			return fmt.Errorf("devices: %s: %w", c.ID, err)
		}
		d = m.add(c.ID, c, 9600, 0, s.Run)
	default:
		return fmt.Errorf("devices: sensor kind %q", c.Kind)
	}
	return nil
}

// Run runs every device until ctx ends.
func (m *Manager) Run(ctx context.Context) error {
	if len(m.devices) == 0 {
		<-ctx.Done()
		return nil
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, d := range m.devices {
		g.Go(func() error {
			if err := d.port.Run(gctx, d.session); err != nil {
				return fmt.Errorf("devices: %s: %w", d.name, err)
			}
			return nil
		})
	}
	err := g.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// States returns every device's live state for the status.
func (m *Manager) States() []localapi.Device {
	out := make([]localapi.Device, 0, len(m.devices))
	for _, d := range m.devices {
		d.mu.Lock()
		det := make(map[string]any, len(d.detail))
		for k, v := range d.detail {
			det[k] = v
		}
		out = append(out, localapi.Device{Name: d.name, Kind: d.kind, Path: d.cfg.Port, State: d.state, Since: d.since, Error: d.err, Detail: det})
		d.mu.Unlock()
	}
	return out
}
